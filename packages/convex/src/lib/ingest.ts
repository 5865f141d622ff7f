/**
 * The ingest transaction: idempotent insert of usage, request-log and activity
 * rows, marked unfolded, plus their effect on quota counters and
 * reservations, all in one Convex mutation. Summaries are not touched here:
 * the Go fold (internal/fold, route /jobs/fold/apply) counts the rows later,
 * so batches for different users write disjoint documents. Used by the internal mutations ingest:batch (the Go
 * service, through POST /ingest) and activity:record (the chat app).
 *
 * Idempotency keys: generationId (usage), requestId (request logs),
 * activityKey (activity). A row whose key exists already — in the table or
 * earlier in the same batch — is a duplicate: not inserted, not counted.
 *
 * Validation happens before any write; any problem throws
 * ConvexError({code:"bad_request", message}) naming the row, so the whole
 * batch is rejected and nothing is written:
 * - userId must be the id of an existing llmmeterUsers document;
 * - apiKeyId, when present, must be an apiKeys id (not read: the row keeps
 *   naming the key it came through after the key is revoked).
 * conversationId / messageId are the chat app's own ids, stored as given: the
 * library never reads the app's tables (they may not even be Convex ids).
 *
 * Cost per batch (index ranges = reads by index or id): for each row one
 * key look-up and at most one user read; one insert per row; one quota range per distinct user, two for the
 * system budget (its row, read only, and the sending replica's shard); one reservation
 * range per distinct requestId of inserted usage and request-log rows
 * (settlement of /quotas/reserve). See README
 * "Ingest bound" for the worst case of MAX_INGEST_ROWS rows.
 */
import type { Id } from "../server";
import type { MutationCtx } from "../server";
import { badRequest } from "./errors";
import { nanosToUsd } from "./money";
import { insertDoc } from "./optional";
import { reportingCalendar } from "./periods";
import { addToBudgetShard, claimShard, shardOf } from "./budgetShards";
import { applyToQuota, deleteReservations, quotasOfUser, storedSystemBudget, type Contribution } from "./quotas";
import { MAX_INGEST_ROWS, type IngestBody, type UsageRow } from "./wire";

/** The errorType of a call refused on a quota (Go: store.ErrorQuotaExceeded). */
const QUOTA_EXCEEDED = "quota_exceeded";

export type KindCounts = { usage: number; requestLogs: number; activity: number };
export type IngestResult = {
  inserted: KindCounts;
  duplicates: KindCounts;
};

export async function ingestBatch(ctx: MutationCtx, body: IngestBody, now: number): Promise<IngestResult> {
  const usage = body.usage ?? [];
  const logs = body.requestLogs ?? [];
  const activity = body.activity ?? [];
  const total = usage.length + logs.length + activity.length;
  if (total > MAX_INGEST_ROWS) {
    badRequest(`batch too large: ${total} rows (max ${MAX_INGEST_ROWS} per request across usage, requestLogs and activity)`);
  }
  const cal = reportingCalendar();

  // 1. Resolve user ids (rejects the batch on the first bad one).
  const userCache = new Map<string, Id<"llmmeterUsers"> | null>();
  const resolveUser = async (raw: string, path: string): Promise<Id<"llmmeterUsers">> => {
    let id = userCache.get(raw);
    if (id === undefined) {
      const norm = ctx.db.normalizeId("llmmeterUsers", raw);
      id = norm && (await ctx.db.get(norm)) ? norm : null;
      userCache.set(raw, id);
    }
    if (id === null) badRequest(`${path}: not the id of an existing user`);
    return id;
  };
  const usageUsers = await seq(usage, (r, i) => resolveUser(r.userId, `usage[${i}].userId`));
  const logUsers = await seq(logs, (r, i) =>
    r.userId === undefined ? Promise.resolve(undefined) : resolveUser(r.userId, `requestLogs[${i}].userId`),
  );
  const activityUsers = await seq(activity, (r, i) => resolveUser(r.userId, `activity[${i}].userId`));
  // The key a row came through: checked to be an apiKeys id (no read, so a
  // key revoked or deleted since still names the row's origin).
  const keyOf = (raw: string | undefined, path: string): Id<"apiKeys"> | undefined => {
    if (raw === undefined) return undefined;
    const id = ctx.db.normalizeId("apiKeys", raw);
    if (id === null) badRequest(`${path}: not an apiKeys id`);
    return id;
  };
  const usageKeys = usage.map((r, i) => keyOf(r.apiKeyId, `usage[${i}].apiKeyId`));
  const logKeys = logs.map((r, i) => keyOf(r.apiKeyId, `requestLogs[${i}].apiKeyId`));
  const activityKeys = activity.map((r, i) => keyOf(r.apiKeyId, `activity[${i}].apiKeyId`));

  // 2. Idempotency: keep the first occurrence of each key not yet stored.
  const result: IngestResult = {
    inserted: { usage: 0, requestLogs: 0, activity: 0 },
    duplicates: { usage: 0, requestLogs: 0, activity: 0 },
  };
  const fresh = async <R>(
    rows: R[],
    kind: keyof KindCounts,
    keyOf: (r: R) => string,
    exists: (k: string) => Promise<boolean>,
  ): Promise<number[]> => {
    const seen = new Set<string>();
    const keep: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      const k = keyOf(rows[i]!);
      if (seen.has(k) || (await exists(k))) result.duplicates[kind]++;
      else keep.push(i);
      seen.add(k);
    }
    return keep;
  };
  const newUsage = await fresh(usage, "usage", (r) => r.generationId, async (k) =>
    (await ctx.db.query("usageTracking").withIndex("by_generation_id", (q) => q.eq("generationId", k)).first()) !== null,
  );
  const newLogs = await fresh(logs, "requestLogs", (r) => r.requestId, async (k) =>
    (await ctx.db.query("requestLogs").withIndex("by_request_id", (q) => q.eq("requestId", k)).first()) !== null,
  );
  const newActivity = await fresh(activity, "activity", (r) => r.activityKey, async (k) =>
    (await ctx.db.query("userActivity").withIndex("by_activity_key", (q) => q.eq("activityKey", k)).first()) !== null,
  );

  // 3. Insert (unfolded), collecting each row's quota contribution.
  const userContribs = new Map<Id<"llmmeterUsers">, Contribution[]>();
  const systemContribs: Contribution[] = [];
  const contribute = (userId: Id<"llmmeterUsers"> | undefined, c: Contribution) => {
    if (userId !== undefined) {
      const list = userContribs.get(userId) ?? [];
      list.push(c);
      userContribs.set(userId, list);
    }
  };

  for (const i of newUsage) {
    const r = usage[i]!;
    const userId = usageUsers[i]!;
    await insertDoc(ctx.db, "usageTracking", { ...usageDoc(r, userId), apiKeyId: usageKeys[i], unfolded: true });
    result.inserted.usage++;
    const c = { ts: r.timestamp, requests: 0, tokens: r.totalTokens, costNanoUsd: r.costNanoUsd };
    contribute(userId, c);
    systemContribs.push(c);
  }
  for (const i of newLogs) {
    const r = logs[i]!;
    const userId = logUsers[i];
    await insertDoc(ctx.db, "requestLogs", { ...r, userId, apiKeyId: logKeys[i], unfolded: true });
    result.inserted.requestLogs++;
    // A call refused on a quota is listed, counted nowhere (store.IsQuotaRefusal).
    if (r.errorType === QUOTA_EXCEEDED) continue;
    contribute(userId, { ts: r.timestamp, requests: 1, tokens: 0, costNanoUsd: 0 });
  }
  for (const i of newActivity) {
    const r = activity[i]!;
    const userId = activityUsers[i]!;
    await insertDoc(ctx.db, "userActivity", { ...r, userId, apiKeyId: activityKeys[i], unfolded: true });
    result.inserted.activity++;
  }

  // 4. Quota counters.
  for (const [userId, contribs] of userContribs) {
    for (const q of await quotasOfUser(ctx.db, userId)) await applyToQuota(ctx.db, cal, q, contribs, now);
  }
  if (systemContribs.length > 0) {
    // One shard per replica (lib/budgetShards.ts): the budget row is only read.
    const budget = await storedSystemBudget(ctx.db);
    if (budget?.isActive) {
      const shard = body.replica !== undefined ? await claimShard(ctx.db, body.replica, now) : shardOf(usage[newUsage[0]!]!.generationId);
      await addToBudgetShard(ctx.db, cal, budget, shard, systemContribs, now);
    }
  }

  // 5. Settle quota reservations: the requests counted here release what
  //    /quotas/reserve held for them (one index range per distinct requestId).
  //    A request that named a generation settles with its usage row, not its
  //    request log, which may arrive first while the cost is still pending.
  const settle = new Set<string>();
  for (const i of newUsage) settle.add(usage[i]!.requestId);
  for (const i of newLogs) if (!logs[i]!.generationId) settle.add(logs[i]!.requestId);
  for (const requestId of settle) await deleteReservations(ctx.db, requestId);
  return result;
}

async function seq<R, T>(rows: R[], f: (r: R, i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < rows.length; i++) out.push(await f(rows[i]!, i));
  return out;
}

function usageDoc(r: UsageRow, userId: Id<"llmmeterUsers">) {
  const usd = nanosToUsd(r.costNanoUsd);
  return { ...r, userId, costInUSD: usd, costInCredits: usd };
}
