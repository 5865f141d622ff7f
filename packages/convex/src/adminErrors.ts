/**
 * llmmeter:errorSummary: the Errors view (issue 16 §5b). The error rate per
 * period comes from the fold's system rows; the breakdowns (type, HTTP code,
 * model, provider, top messages) from the error request logs of the window,
 * newest first, at most MAX_ERROR_ROWS of them (one index range; `complete`
 * says whether that was all). The provider of a failed request is the one of
 * its generation's usage row (request logs carry none): null when the call
 * failed before OpenRouter named one. Messages are the stored errorMessage:
 * error strings from OpenRouter or the gateway, never chat text.
 *
 * Quota refusals (429, quota_exceeded) are error request logs and so appear
 * in the breakdowns, while the fold counts them in no total (issue 16 §4):
 * the rate is of requests that were served or failed upstream.
 *
 * The embedded engine answers the same (internal/store/sqlitestore/
 * admin_errors.go); contract case 28_error_summary pins both.
 */
import { v } from "convex/values";
import type { AdminBuilders } from "./lib/auth";
import type { Doc } from "./server";
import { checkWindow, granularityFor, groupBy, mergeRows, readAggregates, ReadBudget } from "./lib/window";

/** Most error request logs one summary reads. */
export const MAX_ERROR_ROWS = 2_000;
/** Messages listed in topMessages. */
export const TOP_MESSAGES = 10;

const nullableString = v.union(v.string(), v.null());
const vBucket = v.object({ key: nullableString, count: v.number() });

export const vErrorSummary = v.object({
  period: v.string(),
  requests: v.number(),
  failed: v.number(),
  errorRate: v.number(),
  series: v.array(
    v.object({ periodKey: v.string(), periodStart: v.number(), requests: v.number(), failed: v.number(), errorRate: v.number() }),
  ),
  rowsRead: v.number(),
  complete: v.boolean(),
  byType: v.array(vBucket),
  byCode: v.array(v.object({ key: v.number(), count: v.number() })),
  byModel: v.array(vBucket),
  byProvider: v.array(vBucket),
  topMessages: v.array(v.object({ errorType: nullableString, message: v.string(), count: v.number() })),
});

/** failed / requests rounded to 4 decimals, 0 without requests (as llmmeter:modelStats). */
export function errorRate(failed: number, requests: number): number {
  return requests > 0 ? Math.round((failed / requests) * 10_000) / 10_000 : 0;
}

/** a before b: null after every string, else code-unit order. */
function keyOrder(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/** Buckets by count descending, then key. */
function buckets<K extends string | number | null>(keys: K[], order: (a: K, b: K) => number) {
  const counts = new Map<K, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || order(a.key, b.key));
}

/**
 * {from, to} → error rate over the window (system rows of granularityFor,
 * whole periods, as llmmeter:overview) and the breakdowns of the error rows
 * with timestamp in [from, to).
 */
export const errorSummary = (b: AdminBuilders) => b.query({
  args: { from: v.number(), to: v.number() },
  returns: vErrorSummary,
  handler: async (ctx, { from, to }) => {
    checkWindow(from, to);
    const period = granularityFor(from, to);
    const system = await readAggregates(ctx, new ReadBudget(), { scope: "system", period, from, to });
    const series = [...groupBy(system, (r) => r.periodStart)]
      .sort((a, b) => a[0] - b[0])
      .map(([periodStart, group]) => {
        const { counters: c } = mergeRows(group);
        return { periodKey: group[0]!.periodKey, periodStart, requests: c.totalRequests, failed: c.failedRequests, errorRate: errorRate(c.failedRequests, c.totalRequests) };
      });
    const { counters: all } = mergeRows(system);

    const taken = await ctx.db
      .query("requestLogs")
      .withIndex("by_status_and_timestamp", (q) => q.eq("status", "error").gte("timestamp", from).lt("timestamp", to))
      .order("desc")
      .take(MAX_ERROR_ROWS + 1);
    const rows: Doc<"requestLogs">[] = taken.slice(0, MAX_ERROR_ROWS);
    const providers = new Map<string, string | null>();
    for (const r of rows) {
      if (r.generationId === undefined || providers.has(r.generationId)) continue;
      const u = await ctx.db
        .query("usageTracking")
        .withIndex("by_generation_id", (q) => q.eq("generationId", r.generationId!))
        .first();
      providers.set(r.generationId, u?.provider ?? null);
    }
    const messages = new Map<string, { errorType: string | null; message: string; count: number }>();
    for (const r of rows) {
      if (r.errorMessage === undefined) continue;
      const errorType = r.errorType ?? null;
      const k = JSON.stringify([errorType, r.errorMessage]);
      const m = messages.get(k);
      if (m) m.count++;
      else messages.set(k, { errorType, message: r.errorMessage, count: 1 });
    }
    const topMessages = [...messages.values()]
      .sort((a, b) => b.count - a.count || keyOrder(a.message, b.message) || keyOrder(a.errorType, b.errorType))
      .slice(0, TOP_MESSAGES);
    return {
      period,
      requests: all.totalRequests,
      failed: all.failedRequests,
      errorRate: errorRate(all.failedRequests, all.totalRequests),
      series,
      rowsRead: rows.length,
      complete: taken.length <= MAX_ERROR_ROWS,
      byType: buckets(rows.map((r) => r.errorType ?? null), keyOrder),
      byCode: buckets(rows.map((r) => r.statusCode), (a, b) => a - b),
      byModel: buckets(rows.map((r) => r.model ?? null), keyOrder),
      byProvider: buckets(rows.map((r) => (r.generationId === undefined ? null : (providers.get(r.generationId) ?? null))), keyOrder),
      topMessages,
    };
  },
});
