/**
 * Replay protection of the signed routes: each signature's nonce
 * (lib/signature.ts) is accepted once by a route that changes state. A
 * claimed nonce is kept until its signature's timestamp leaves the ±5
 * minute window, after which the signature is refused as stale anyway,
 * and NONCE_GRACE_MS longer.
 *
 * A route behind a mutation claims its nonce in that same mutation
 * ({@link signedMutation}): a replay throws before any effect, and a
 * mutation that fails (a 4xx, say) rolls its claim back with everything
 * else, so a refusal writes nothing. Routes behind queries claim nothing:
 * a replayed read changes nothing, and a query cannot write (recording its
 * nonce would cost every read a second transaction).
 *
 * No cron: each claim deletes up to NONCE_SWEEP expired nonces of its own
 * shard (the nonce's first two hex digits, 256 shards). Within a shard
 * claims arrive as fast as nonces expire there, and each sweeps up to 8, so
 * the table stays near one window's nonces. Sweeping one shard, not the
 * oldest nonces of all, keeps the mutations of different replicas (an
 * ingest each, say) from deleting the same documents: two contend only
 * when their nonces share a shard (1 in 256).
 */
import { customMutation } from "convex-helpers/server/customFunctions";
import { v, type Infer } from "convex/values";
import { internalMutation, type DatabaseWriter } from "../server";
import { fail } from "./errors";

/** The claim a signed route passes to its mutation. */
export const vSignatureClaim = v.object({ nonce: v.string(), expiresAt: v.number() });
export type SignatureClaim = Infer<typeof vSignatureClaim>;

/** Expired nonces of its shard a claim deletes: more than the one it adds, and few writes. */
export const NONCE_SWEEP = 8;

/**
 * How long past its signature's window a nonce is kept. The window is
 * checked in the HTTP action and the nonce claimed in the mutation after
 * it: were a nonce swept the moment its window ended, a replay checked just
 * before that moment could find it gone by the time its mutation ran.
 * The action-to-mutation gap is far below a minute.
 */
export const NONCE_GRACE_MS = 60_000;

/** The shard of a nonce: its first two hex digits. */
export const nonceShard = (nonce: string) => nonce.slice(0, 2);

/**
 * Records claim's nonce and sweeps those of its shard expired more than
 * NONCE_GRACE_MS before now;
 * false if the nonce was already recorded (a replay), writing nothing.
 */
export async function claimNonce(db: DatabaseWriter, claim: SignatureClaim, now: number): Promise<boolean> {
  const seen = await db
    .query("signatureNonces")
    .withIndex("by_nonce", (q) => q.eq("nonce", claim.nonce))
    .first();
  if (seen) return false;
  const shard = nonceShard(claim.nonce);
  await db.insert("signatureNonces", { nonce: claim.nonce, shard, expiresAt: claim.expiresAt });
  const expired = await db
    .query("signatureNonces")
    .withIndex("by_shard_and_expires_at", (q) => q.eq("shard", shard).lt("expiresAt", now - NONCE_GRACE_MS))
    .take(NONCE_SWEEP);
  for (const n of expired) await db.delete(n._id);
  return true;
}

/**
 * The builder of the internal mutations behind signed routes: an optional
 * `signature` argument (the route's claim; absent when another function of
 * the app calls it) whose nonce is claimed before the handler runs, a
 * replay failing with ConvexError({code: "replayed"}).
 */
export const signedMutation = customMutation(internalMutation, {
  args: { signature: v.optional(vSignatureClaim) },
  input: async (ctx, { signature }) => {
    if (signature !== undefined && !(await claimNonce(ctx.db, signature, Date.now()))) {
      fail("replayed", "signature nonce already used: a signed request is accepted once; sign each request (and retry) anew");
    }
    return { ctx: {}, args: {} };
  },
});
