/**
 * Quota counters.
 *
 * A quota's current window is [start of the period containing resetDate−1,
 * resetDate): a day for "daily_requests", a month (reporting time zone) for
 * the others. What counts (only rows inserted by ingest, never duplicates):
 * - daily_requests: +1 per request-log row of the user (a request is counted
 *   by its request-log row, as in the aggregates);
 * - monthly_tokens: += totalTokens of each usage row of the user;
 * - monthly_cost_usd: usedNanoUsd += costNanoUsd of each usage row of the user;
 * - system_monthly_cost_usd (no userId): usedNanoUsd += costNanoUsd of every
 *   usage row.
 * Only active quotas are updated. A row whose timestamp is at or after
 * resetDate rolls the quota forward first (used = 0, resetDate = start of the
 * period after the row's period) — the same compare-and-set transition as
 * /jobs/quotas/reset, so whichever comes first wins and a window is reset
 * exactly once. A row older than the current window (a late delivery) is not
 * counted (the aggregates still count it).
 */
import type { Doc, Id } from "../_generated/dataModel";
import type { DatabaseReader, DatabaseWriter } from "../_generated/server";
import { countersOf, findAggregate } from "./aggregates";
import { nanosToUsd } from "./money";
import type { ReportingCalendar } from "./periods";
import type { QuotaType } from "./validators";

export const QUOTA_PERIOD: Record<QuotaType, "daily" | "monthly"> = {
  daily_requests: "daily",
  monthly_tokens: "monthly",
  monthly_cost_usd: "monthly",
  system_monthly_cost_usd: "monthly",
};

export const isCostQuota = (t: QuotaType) => t === "monthly_cost_usd" || t === "system_monthly_cost_usd";

/** One accepted row's effect on quotas. */
export type Contribution = { ts: number; requests: number; tokens: number; costNanoUsd: number };

function amountFor(t: QuotaType, c: Contribution): number {
  switch (t) {
    case "daily_requests":
      return c.requests;
    case "monthly_tokens":
      return c.tokens;
    case "monthly_cost_usd":
    case "system_monthly_cost_usd":
      return c.costNanoUsd;
  }
}

/** The used amount in the quota's exact unit (nanos for cost quotas). */
export function exactUsed(q: Doc<"userQuotas">): number {
  return isCostQuota(q.quotaType) ? (q.usedNanoUsd ?? 0) : q.used;
}

/** Fields to write for a used amount in the exact unit. */
export function usedFields(t: QuotaType, used: number) {
  return isCostQuota(t) ? { used: nanosToUsd(used), usedNanoUsd: used } : { used };
}

/** Applies contributions to one quota; writes at most once. Returns true if written. */
export async function applyToQuota(
  db: DatabaseWriter,
  cal: ReportingCalendar,
  q: Doc<"userQuotas">,
  contributions: Contribution[],
  now: number,
): Promise<boolean> {
  if (!q.isActive) return false;
  const period = QUOTA_PERIOD[q.quotaType];
  let resetDate = q.resetDate;
  let windowStart = cal.periodOf(period, resetDate - 1).periodStart;
  let used = exactUsed(q);
  let changed = false;
  const relevant = contributions
    .filter((c) => amountFor(q.quotaType, c) > 0)
    .sort((a, b) => a.ts - b.ts);
  for (const c of relevant) {
    if (c.ts >= resetDate) {
      windowStart = cal.periodOf(period, c.ts).periodStart;
      resetDate = cal.nextStart(period, c.ts);
      used = 0;
      changed = true;
    }
    if (c.ts < windowStart) continue;
    used += amountFor(q.quotaType, c);
    changed = true;
  }
  if (!changed) return false;
  await db.patch(q._id, { ...usedFields(q.quotaType, used), resetDate, updatedAt: now });
  return true;
}

/** Quotas of a user (≤ 16: one per type is the rule), one index range. */
export async function quotasOfUser(db: DatabaseReader, userId: Id<"users">) {
  return await db
    .query("userQuotas")
    .withIndex("by_user_id", (q) => q.eq("userId", userId))
    .take(16);
}

/** The system-wide monthly budget row, if any. */
export async function systemBudget(db: DatabaseReader) {
  return await db
    .query("userQuotas")
    .withIndex("by_user_id_and_quota_type", (q) =>
      q.eq("userId", undefined).eq("quotaType", "system_monthly_cost_usd"),
    )
    .first();
}

/**
 * What the quota's counter should be at `now`, from the aggregates of the
 * current period (used when a quota is created or re-activated).
 */
export async function usedFromAggregates(
  db: DatabaseReader,
  cal: ReportingCalendar,
  t: QuotaType,
  userId: Id<"users"> | undefined,
  now: number,
): Promise<number> {
  const p = cal.periodOf(QUOTA_PERIOD[t], now);
  const pick = (c: ReturnType<typeof countersOf>) =>
    t === "daily_requests" ? c.totalRequests : t === "monthly_tokens" ? c.totalTokens : c.totalCostNanoUsd;
  if (t === "system_monthly_cost_usd") {
    const rows = await db
      .query("usageAggregates")
      .withIndex("by_scope_and_period_and_start", (q) =>
        q.eq("scope", "system").eq("period", p.period).eq("periodStart", p.periodStart),
      )
      .take(64);
    return rows.reduce((s, r) => s + pick(countersOf(r)), 0);
  }
  const row = await findAggregate(db, {
    scope: "user",
    userId,
    period: p.period,
    periodStart: p.periodStart,
    shard: 0,
  });
  return row ? pick(countersOf(row)) : 0;
}

/** The quota as answered by /quotas/get and admin:quotas. */
export function quotaView(q: Doc<"userQuotas">) {
  return {
    id: q._id,
    userId: q.userId ?? null,
    quotaType: q.quotaType,
    limit: q.limit,
    used: q.used,
    limitNanoUsd: q.limitNanoUsd ?? null,
    usedNanoUsd: q.usedNanoUsd ?? null,
    resetDate: q.resetDate,
    isActive: q.isActive,
    updatedAt: q.updatedAt,
  };
}
