/**
 * The log of quota changes (tables.ts quotaChanges), store.QuotaChanges in
 * Go: setQuota and deleteQuota record one; the service's lease manager
 * polls them and refreshes the named users' leases.
 */
import type { DatabaseReader, DatabaseWriter } from "../server";

/** store.MaxQuotaChanges: changes in one answer. */
export const MAX_QUOTA_CHANGES = 256;
/** store.QuotaChangeKeep: how long a change is kept. */
const KEEP_MS = 24 * 3_600_000;
/** Older changes each record sweeps: the log stays bounded with no cron. */
const SWEEP = 8;

/** Records that a quota of `userId` (undefined: the system budget) changed. */
export async function recordQuotaChange(db: DatabaseWriter, userId: string | undefined, now: number) {
  await db.insert("quotaChanges", { userId: userId ?? "", at: now });
  const old = await db
    .query("quotaChanges")
    .withIndex("by_at", (q) => q.lt("at", now - KEEP_MS))
    .take(SWEEP);
  for (const c of old) await db.delete(c._id);
}

/** The changes after `since` (ms), oldest first; `more` when there were more than one answer holds. */
export async function quotaChangesSince(db: DatabaseReader, since: number, now: number) {
  const rows = await db
    .query("quotaChanges")
    .withIndex("by_at", (q) => q.gt("at", since))
    .take(MAX_QUOTA_CHANGES + 1);
  return {
    changes: rows.slice(0, MAX_QUOTA_CHANGES).map((c) => ({ id: c._id as string, userId: c.userId, at: c.at })),
    more: rows.length > MAX_QUOTA_CHANGES,
    now,
  };
}
