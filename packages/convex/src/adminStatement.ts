/**
 * llmmeter:userStatement: a user's monthly statement for billing (issue 16
 * §5b): totals and cost by day from the fold's daily user rows, cost by model
 * from the user's usage rows of the month. The embedded engine answers the
 * same (internal/store/sqlitestore/admin_statement.go); contract case
 * 27_user_statement pins both.
 *
 * The fold keeps no user × model rows, so cost by model is summed from at
 * most MAX_STATEMENT_ROWS usage rows (oldest first, one index range); a user
 * with more rows that month gets byModel of the first ones and
 * byModelComplete false, never a silently short total: totals and byDay come
 * from the aggregates whole.
 */
import { v } from "convex/values";
import type { AdminBuilders } from "./lib/auth";
import type { QueryCtx } from "./server";
import type { Doc, Id } from "./server";
import { badRequest, notFound } from "./lib/errors";
import { nanosToUsd } from "./lib/money";
import { reportingCalendar, type ReportingCalendar } from "./lib/periods";
import { groupBy, readAggregates, ReadBudget, totalsOf } from "./lib/window";

/** Most usage rows one statement sums by model (bounded by Convex's per-query read limits). */
export const MAX_STATEMENT_ROWS = 10_000;

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/**
 * [from, to) of the month "YYYY-MM" in the reporting time zone. Noon of the
 * 1st is never in a DST gap, so the calendar's own month of it is the month.
 */
export function monthWindow(cal: ReportingCalendar, month: string): { from: number; to: number } {
  const m = MONTH.exec(month);
  if (!m) badRequest("month: expected YYYY-MM");
  const noon = cal.startOfWall(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1, 12));
  return { from: cal.periodOf("monthly", noon).periodStart, to: cal.nextStart("monthly", noon) };
}

const vTokens = {
  promptTokens: v.number(),
  completionTokens: v.number(),
  totalTokens: v.number(),
  cachedTokens: v.number(),
  reasoningTokens: v.number(),
};

const vCounts = {
  requests: v.number(),
  successful: v.number(),
  failed: v.number(),
  ...vTokens,
  costNanoUsd: v.number(),
  costUsd: v.number(),
};

export const vUserStatement = v.object({
  userId: v.string(),
  name: v.union(v.string(), v.null()),
  email: v.union(v.string(), v.null()),
  month: v.string(),
  from: v.number(),
  to: v.number(),
  totals: v.object(vCounts),
  byDay: v.array(v.object({ periodKey: v.string(), periodStart: v.number(), ...vCounts })),
  byModel: v.array(
    v.object({ model: v.string(), generations: v.number(), ...vTokens, costNanoUsd: v.number(), costUsd: v.number() }),
  ),
  usageRows: v.number(),
  byModelComplete: v.boolean(),
});

/** totalsOf without what a statement does not bill (latency, model count). */
function countsOf(rows: Doc<"usageAggregates">[]) {
  const { avgProcessingMs: _avg, p95ProcessingMs: _p95, modelsUsed: _models, ...counts } = totalsOf(rows);
  return counts;
}

async function byModelOf(ctx: QueryCtx, userId: Id<"llmmeterUsers">, from: number, to: number) {
  const rows = await ctx.db
    .query("usageTracking")
    .withIndex("by_user_id_and_timestamp", (q) => q.eq("userId", userId).gte("timestamp", from).lt("timestamp", to))
    .take(MAX_STATEMENT_ROWS + 1);
  const read = rows.slice(0, MAX_STATEMENT_ROWS);
  const models = [...groupBy(read, (r) => r.model)].map(([model, group]) => {
    const s = { model, generations: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, cachedTokens: 0, reasoningTokens: 0, costNanoUsd: 0 };
    for (const r of group) {
      s.generations++;
      s.promptTokens += r.promptTokens;
      s.completionTokens += r.completionTokens;
      s.totalTokens += r.totalTokens;
      s.cachedTokens += r.cachedTokens;
      s.reasoningTokens += r.reasoningTokens;
      s.costNanoUsd += r.costNanoUsd;
    }
    return { ...s, costUsd: nanosToUsd(s.costNanoUsd) };
  });
  models.sort((a, b) => b.costNanoUsd - a.costNanoUsd || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  return { byModel: models, usageRows: read.length, byModelComplete: rows.length <= MAX_STATEMENT_ROWS };
}

/**
 * {userId, month: "YYYY-MM"} → the statement: totals and byDay (days with
 * data, ascending) from daily user aggregates, byModel (cost descending, then
 * model) from usage rows. bad_request for a malformed month or id, not_found
 * for an unknown user.
 */
export const userStatement = (b: AdminBuilders) => b.query({
  args: { userId: v.string(), month: v.string() },
  returns: vUserStatement,
  handler: async (ctx, args) => {
    const userId = ctx.db.normalizeId("llmmeterUsers", args.userId);
    if (userId === null) badRequest("userId: not a users id");
    const { from, to } = monthWindow(reportingCalendar(), args.month);
    const user = await ctx.db.get(userId);
    if (!user) notFound("userId: no such user");
    const days = await readAggregates(ctx, new ReadBudget(), { scope: "user", period: "daily", from, to, userId });
    const byDay = [...groupBy(days, (r) => r.periodStart)]
      .sort((a, b) => a[0] - b[0])
      .map(([periodStart, group]) => ({ periodKey: group[0]!.periodKey, periodStart, ...countsOf(group) }));
    return {
      userId,
      name: user.name ?? null,
      email: user.email ?? null,
      month: args.month,
      from,
      to,
      totals: countsOf(days),
      byDay,
      ...(await byModelOf(ctx, userId, from, to)),
    };
  },
});
