/**
 * The system budget's used counter, spread over shard documents (issue 14).
 *
 * An active system budget is counted by every ingest batch with a cost. On
 * one document that made every batch of every replica conflict with every
 * other. Ingest now adds a batch's cost to one of BUDGET_SHARDS shard
 * documents, chosen by the replica that sent the batch (the ingest body's
 * `replica`; a batch without one spreads by its first generation id), so
 * batches from different replicas write different documents, as their users'
 * quotas do. Ingest reads only the budget row (written once a window, by a
 * roll-over or an admin) and its own shard.
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
