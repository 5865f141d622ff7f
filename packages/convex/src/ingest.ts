/** Internal ingest mutation behind POST /ingest (see lib/ingest.ts). */
import { signedMutation } from "./lib/nonces";
import { ingestBatch } from "./lib/ingest";
import { ingestBody } from "./lib/wire";

/**
 * Inserts a batch of usage, request-log and activity rows idempotently and
 * updates aggregates and quota counters in the same transaction.
 * Returns {inserted, duplicates}.
 */
export const batch = signedMutation({
  args: ingestBody.fields,
  handler: async (ctx, args) => ingestBatch(ctx, args, Date.now()),
});
