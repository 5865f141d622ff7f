/**
 * llmmeter:periodOverPeriod: this week against last week, this month
 * against last month (issue 16 §5b), for the whole system, one user or one
 * model. Like for like: the days 1..k of each period, k being the day of the
 * period that holds `at` (day of the month, or ISO weekday), so the 10th of a
 * month is set against the 1st–10th of the month before (all of it when it
 * is shorter). Read from the fold's daily rows, O(days).
 *
 * The change in percent is computed here, once: (current − previous) /
 * previous · 100 rounded to one decimal; null when previous is 0. The
 * embedded engine answers the same (internal/store/sqlitestore/
 * admin_compare.go); contract case 29_period_over_period pins both.
 */
import { v } from "convex/values";
import type { AdminBuilders } from "./lib/auth";
import { badRequest } from "./lib/errors";
import { nanosToUsd } from "./lib/money";
import { reportingCalendar } from "./lib/periods";
import { mergeRows, readAggregates, ReadBudget } from "./lib/window";

const vSide = v.object({
  periodKey: v.string(),
  periodStart: v.number(),
  requests: v.number(),
  totalTokens: v.number(),
  costNanoUsd: v.number(),
  costUsd: v.number(),
});
const nullableNumber = v.union(v.number(), v.null());

export const vPeriodOverPeriod = v.object({
  period: v.union(v.literal("weekly"), v.literal("monthly")),
  day: v.number(),
  current: vSide,
  previous: vSide,
  change: v.object({ requests: nullableNumber, totalTokens: nullableNumber, costNanoUsd: nullableNumber }),
});

/** (current − previous) / previous in percent, one decimal; null without a previous value. */
export function changePercent(current: number, previous: number): number | null {
  return previous === 0 ? null : Math.round(((current - previous) / previous) * 1000) / 10;
}

/** Day of its period of a daily periodKey "YYYY-MM-DD": day of the month, or ISO weekday (Monday 1). */
function dayOfPeriod(period: "weekly" | "monthly", dayKey: string): number {
  const [y, m, d] = dayKey.split("-").map(Number) as [number, number, number];
  return period === "monthly" ? d : ((new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7) + 1;
}

/**
 * {period: "weekly" | "monthly", at (ms), userId?, modelSlug?} → the period
 * holding `at` and the one before, days 1..day of each, and the change.
 */
export const periodOverPeriod = (b: AdminBuilders) => b.query({
  args: {
    period: v.union(v.literal("weekly"), v.literal("monthly")),
    at: v.number(),
    userId: v.optional(v.string()),
    modelSlug: v.optional(v.string()),
  },
  returns: vPeriodOverPeriod,
  handler: async (ctx, args) => {
    if (!Number.isSafeInteger(args.at) || args.at < 0) badRequest("at: expected non-negative integer (ms)");
    if (args.userId !== undefined && args.modelSlug !== undefined) badRequest("modelSlug: cannot be combined with userId");
    const userId = args.userId === undefined ? undefined : ctx.db.normalizeId("llmmeterUsers", args.userId);
    if (userId === null) badRequest("userId: not a users id");
    const scope = userId !== undefined ? "user" : args.modelSlug !== undefined ? "model" : "system";
    const cal = reportingCalendar();
    const cur = cal.periodOf(args.period, args.at);
    const prev = cal.periodOf(args.period, cur.periodStart - 1);
    const day = dayOfPeriod(args.period, cal.periodOf("daily", args.at).periodKey);
    const rows = await readAggregates(ctx, new ReadBudget(), {
      scope,
      period: "daily",
      from: prev.periodStart,
      to: args.at + 1, // through the day holding `at`
      userId,
      model: args.modelSlug,
    });
    const side = (info: { periodKey: string; periodStart: number }, end: number) => {
      const { counters: c } = mergeRows(
        rows.filter((r) => r.periodStart >= info.periodStart && r.periodStart < end && dayOfPeriod(args.period, r.periodKey) <= day),
      );
      return {
        periodKey: info.periodKey,
        periodStart: info.periodStart,
        requests: c.totalRequests,
        totalTokens: c.totalTokens,
        costNanoUsd: c.totalCostNanoUsd,
        costUsd: nanosToUsd(c.totalCostNanoUsd),
      };
    };
    const current = side(cur, Number.MAX_SAFE_INTEGER);
    const previous = side(prev, cur.periodStart);
    return {
      period: args.period,
      day,
      current,
      previous,
      change: {
        requests: changePercent(current.requests, previous.requests),
        totalTokens: changePercent(current.totalTokens, previous.totalTokens),
        costNanoUsd: changePercent(current.costNanoUsd, previous.costNanoUsd),
      },
    };
  },
});
