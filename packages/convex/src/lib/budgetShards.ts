/**
 * The system budget's used counter, spread over shard documents (issue 14).
 *
 * An active system budget is counted by every ingest batch with a cost. On
 * one document that made every batch of every replica conflict with every
 * other. Ingest now adds a batch's cost to one of BUDGET_SHARDS shard
 * documents, chosen by the replica that sent the batch (the ingest body's
 * `replica`, through its claim; a batch without one spreads by its first
 * generation id), so batches from different replicas write different
 * documents, as their users' quotas do. Ingest reads only the budget row
 * (written once a window, by a roll-over or an admin), its replica's claim
 * and its own shard.
 *
 * Claims (claimShard): a replica's first batch claims a free shard, its
 * hashed one if free, else the next free one, for CLAIM_TTL_MS; its batches
 * renew the claim (a write to its own claim document, once per half TTL).
 * Hashing alone put two of 8 replicas on one shard in about 1 set of 10
 * (the birthday bound over 256). With more live replicas than shards, a
 * replica falls back to its hashed shard and shares it. Only contention
 * depends on the choice: any shard may hold any replica's cost, and
 * admission sums them all.
 *
 * Strictness is unchanged: admission (/quotas/reserve, /quotas/lease) reads
 * the row and every shard in its transaction (systemBudget in quotas.ts), so
 * Σ(outstanding) + used ≤ limit is checked against the exact sum. Those
 * reads conflict with concurrent ingest on any shard and are retried by
 * Convex; the gateway reaches them through allowance leases, one renewal per
 * replica every few seconds, not per call.
 *
 * A shard keeps its own window (resetDate) with the same roll-over and
 * late-row rules as a quota (advance in quotas.ts); a shard of a window
 * older than the row's counts nothing, so the reset job's compare-and-set on
 * the row resets the shards too without writing them.
 */
import type { DatabaseReader, DatabaseWriter, Doc, Id } from "../server";
import type { ReportingCalendar } from "./periods";
import { advance, BUDGET_SHARDS, MAX_AMOUNT, type Contribution } from "./quotas";

/** The shard of a replica (or of any key): FNV-1a, 32 bits, modulo BUDGET_SHARDS. */
export function shardOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % BUDGET_SHARDS;
}

/** How long a claim lasts unless the replica's batches renew it. */
export const CLAIM_TTL_MS = 10 * 60_000;
/** Most live claims read when claiming (more live replicas than shards share). */
const MAX_LIVE_CLAIMS = 1024;
/** Expired claims deleted per claim, so the table holds about the live replicas. */
const EXPIRED_PER_CLAIM = 16;

/**
 * The shard the batches of `replica` add to: its live claim (renewed when
 * half its TTL has passed), or a new claim on its hashed shard if no live
 * claim holds that, else the next free shard, else (all taken) the hashed
 * one, shared. Claiming reads the live claims, so it conflicts with other
 * replicas' claims and renewals; that happens once per replica per TTL.
 */
export async function claimShard(db: DatabaseWriter, replica: string, now: number): Promise<number> {
  const mine = await db
    .query("budgetShardClaims")
    .withIndex("by_replica", (q) => q.eq("replica", replica))
    .unique();
  if (mine !== null && mine.expiresAt > now) {
    if (mine.expiresAt - now < CLAIM_TTL_MS / 2) await db.patch(mine._id, { expiresAt: now + CLAIM_TTL_MS });
    return mine.shard;
  }
  const live = await db
    .query("budgetShardClaims")
    .withIndex("by_expires_at", (q) => q.gt("expiresAt", now))
    .take(MAX_LIVE_CLAIMS);
  const taken = new Set(live.map((c) => c.shard));
  const home = shardOf(replica);
  let shard = home;
  for (let i = 0; i < BUDGET_SHARDS; i++) {
    if (!taken.has((home + i) % BUDGET_SHARDS)) {
      shard = (home + i) % BUDGET_SHARDS;
      break;
    }
  }
  const expired = await db
    .query("budgetShardClaims")
    .withIndex("by_expires_at", (q) => q.lte("expiresAt", now))
    .take(EXPIRED_PER_CLAIM);
  for (const c of expired) if (c._id !== mine?._id) await db.delete(c._id);
  if (mine !== null) await db.patch(mine._id, { shard, expiresAt: now + CLAIM_TTL_MS });
  else await db.insert("budgetShardClaims", { replica, shard, expiresAt: now + CLAIM_TTL_MS });
  return shard;
}

async function shardDoc(db: DatabaseReader, budgetId: Id<"userQuotas">, shard: number) {
  return await db
    .query("budgetShards")
    .withIndex("by_budget_id_and_shard", (q) => q.eq("budgetId", budgetId).eq("shard", shard))
    .unique();
}

const clamp = (v: number) => Math.min(Math.max(v, -MAX_AMOUNT), MAX_AMOUNT);

/**
 * Adds an ingest batch's contributions to shard `shard` of the stored budget
 * row `budget`; writes at most one document. Returns true if written.
 */
export async function addToBudgetShard(
  db: DatabaseWriter,
  cal: ReportingCalendar,
  budget: Doc<"userQuotas">,
  shard: number,
  contributions: Contribution[],
  now: number,
): Promise<boolean> {
  if (!budget.isActive) return false;
  const doc = await shardDoc(db, budget._id, shard);
  // A shard of a window before the row's holds nothing of the row's window.
  const current = doc !== null && doc.resetDate >= budget.resetDate;
  const from = current ? doc.resetDate : budget.resetDate;
  const held = current ? doc.usedNanoUsd : 0;
  const next = advance(cal, budget.quotaType, { resetDate: from, used: 0 }, contributions);
  if (!next.changed) return false;
  const used = next.resetDate === from ? clamp(held + next.used) : next.used;
  const fields = { resetDate: next.resetDate, usedNanoUsd: used, updatedAt: now };
  if (doc === null) await db.insert("budgetShards", { budgetId: budget._id, shard, ...fields });
  else await db.patch(doc._id, fields);
  return true;
}

/**
 * Moves the budget's counter by a signed delta in its window `resetDate`
 * (the window systemBudget answered), on shard `shard`: the cost
 * confirmation of an estimated row.
 */
export async function adjustBudgetShard(
  db: DatabaseWriter,
  budgetId: Id<"userQuotas">,
  shard: number,
  resetDate: number,
  delta: number,
  now: number,
) {
  const doc = await shardDoc(db, budgetId, shard);
  const held = doc !== null && doc.resetDate === resetDate ? doc.usedNanoUsd : 0;
  const fields = { resetDate, usedNanoUsd: clamp(held + delta), updatedAt: now };
  if (doc === null) await db.insert("budgetShards", { budgetId, shard, ...fields });
  else await db.patch(doc._id, fields);
}

/** Deletes the budget's shards: its row's counter was set afresh (an admin re-activated it). */
export async function clearBudgetShards(db: DatabaseWriter, budgetId: Id<"userQuotas">) {
  const shards = await db
    .query("budgetShards")
    .withIndex("by_budget_id_and_shard", (q) => q.eq("budgetId", budgetId))
    .take(BUDGET_SHARDS);
  for (const s of shards) await db.delete(s._id);
}
