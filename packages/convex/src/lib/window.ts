/**
 * Window semantics of the admin functions (the embedded SQLite engine copies
 * them exactly):
 *
 * - A window is {from, to} in ms with 0 <= from < to (else bad_request).
 * - Granularity: hourly if to − from ≤ 48 h; daily if ≤ 92 days + 2 h (92
 *   whole local days over a DST fall-back are 92 days and an hour, 2 h in
 *   Antarctica/Troll); else monthly.
 *   (llmmeter:usageSeries takes its period explicitly instead.)
 * - The window includes the aggregate periods of that granularity whose
 *   periodStart ∈ [from, to). A period is included whole or not at all: with
 *   from = 10:30 the hourly period 10:00–11:00 is not included.
 * - Shards of one (scope, subject, period, periodStart) are summed.
 * - Derived values: costUsd = costNanoUsd / 1e9; avgProcessingMs =
 *   round(totalProcessingTime / requests) (0 without requests);
 *   p95ProcessingMs = upper bound of the first latency bucket whose cumulative
 *   count reaches ceil(0.95 · requests), 0 without requests, null when that is
 *   the +inf bucket (> 64000 ms); modelsUsed = size of the union of the rows'
 *   `models` lists (each capped at 64). llmmeter:modelStats adds
 *   p50/p95/p99LatencyMs and p50/p95/p99TtftMs from the fine buckets
 *   (FINE_BOUNDS): the upper bound of the first bucket whose cumulative count
 *   reaches ceil(p · samples / 100); null without samples (rows folded before
 *   the fine buckets, a model that never streamed) or when that is the +inf
 *   bucket (> 717465 ms). Go: rollup.FinePercentile.
 * - Read budget: one call reads at most MAX_AGG_DOCS aggregate documents and
 *   MAX_AGG_BYTES bytes of them; a wider window is rejected with bad_request
 *   ("window too large") rather than failing on a Convex limit.
 */
import type { Doc, Id } from "../server";
import type { QueryCtx } from "../server";
import { getDocumentSize } from "convex/values";
import { addCounters, countersOf, FINE_BOUNDS, LATENCY_BOUNDS, zeroCounters, type Counters } from "./aggregates";
import { badRequest } from "./errors";
import { nanosToUsd } from "./money";
import type { Period } from "./periods";
import type { Scope } from "./validators";

const HOUR = 3_600_000;
const DAY = 86_400_000;
export const MAX_AGG_DOCS = 8_000;
export const MAX_AGG_BYTES = 8 * 1024 * 1024;

/** Validates a window; throws bad_request. */
export function checkWindow(from: number, to: number): void {
  if (!Number.isSafeInteger(from) || from < 0) badRequest("from: expected non-negative integer (ms)");
  if (!Number.isSafeInteger(to) || to < 0) badRequest("to: expected non-negative integer (ms)");
  if (from >= to) badRequest("to: must be after from");
}

/** The most a DST change adds to a span of local days (2 h, in Antarctica/Troll). */
const DST_SLACK = 2 * HOUR;

/** Granularity of a window: hourly ≤ 48 h < daily ≤ 92 days (+ DST_SLACK) < monthly. */
export function granularityFor(from: number, to: number): "hourly" | "daily" | "monthly" {
  const span = to - from;
  if (span <= 48 * HOUR) return "hourly";
  if (span <= 92 * DAY + DST_SLACK) return "daily";
  return "monthly";
}

/** Counts documents and bytes read by one admin call. */
export class ReadBudget {
  docs = 0;
  bytes = 0;
  consume(doc: Parameters<typeof getDocumentSize>[0]): void {
    this.docs++;
    this.bytes += getDocumentSize(doc);
    if (this.docs > MAX_AGG_DOCS || this.bytes > MAX_AGG_BYTES) {
      badRequest(
        `window too large: more than ${MAX_AGG_DOCS} aggregate rows or ${MAX_AGG_BYTES} bytes; narrow from/to`,
      );
    }
  }
}

export type AggSelection = {
  scope: Scope;
  period: Period;
  from: number;
  to: number;
  userId?: Id<"llmmeterUsers"> | undefined;
  model?: string | undefined;
};

/** Aggregate rows with periodStart in [from, to), ascending by periodStart. */
export async function readAggregates(
  ctx: QueryCtx,
  budget: ReadBudget,
  s: AggSelection,
): Promise<Doc<"usageAggregates">[]> {
  const q =
    s.userId !== undefined
      ? ctx.db
          .query("usageAggregates")
          .withIndex("by_user_id_and_period_and_period_start", (q) =>
            q.eq("userId", s.userId).eq("period", s.period).gte("periodStart", s.from).lt("periodStart", s.to),
          )
      : s.model !== undefined
        ? ctx.db
            .query("usageAggregates")
            .withIndex("by_model_and_period_and_period_start", (q) =>
              q.eq("model", s.model).eq("period", s.period).gte("periodStart", s.from).lt("periodStart", s.to),
            )
        : ctx.db
            .query("usageAggregates")
            .withIndex("by_scope_and_period_and_period_start", (q) =>
              q.eq("scope", s.scope).eq("period", s.period).gte("periodStart", s.from).lt("periodStart", s.to),
            );
  const out: Doc<"usageAggregates">[] = [];
  for await (const doc of q) {
    budget.consume(doc);
    if (doc.scope === s.scope) out.push(doc);
  }
  return out;
}

/** p95 from latency bucket counts (see the module comment). */
export function p95FromBuckets(buckets: number[]): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = Math.floor((95 * total + 99) / 100); // ceil(0.95 * total), exact
  let cumulative = 0;
  for (let i = 0; i < buckets.length; i++) {
    cumulative += buckets[i]!;
    if (cumulative >= rank) return i < LATENCY_BOUNDS.length ? LATENCY_BOUNDS[i]! : null;
  }
  return null;
}

/** The p-th percentile of fine bucket counts (see the module comment). */
export function finePercentile(buckets: number[], p: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.floor((p * total + 99) / 100); // ceil(p/100 · total), exact
  let cumulative = 0;
  for (let i = 0; i < buckets.length; i++) {
    cumulative += buckets[i]!;
    if (cumulative >= rank) return i < FINE_BOUNDS.length ? FINE_BOUNDS[i]! : null;
  }
  return null;
}

/** modelStats' percentile fields of summed counters. */
export function fineStatsOf(c: Counters) {
  return {
    p50LatencyMs: finePercentile(c.latencyFine, 50),
    p95LatencyMs: finePercentile(c.latencyFine, 95),
    p99LatencyMs: finePercentile(c.latencyFine, 99),
    p50TtftMs: finePercentile(c.ttftBuckets, 50),
    p95TtftMs: finePercentile(c.ttftBuckets, 95),
    p99TtftMs: finePercentile(c.ttftBuckets, 99),
  };
}

export function avgMs(c: Counters): number {
  return c.totalRequests > 0 ? Math.round(c.totalProcessingTime / c.totalRequests) : 0;
}

/** Sum of the counters of rows, and the union of their models. */
export function mergeRows(rows: Doc<"usageAggregates">[]): { counters: Counters; models: Set<string> } {
  const counters = zeroCounters();
  const models = new Set<string>();
  for (const r of rows) {
    addCounters(counters, countersOf(r));
    for (const m of r.models) models.add(m);
  }
  return { counters, models };
}

/** The totals object of llmmeter:overview and llmmeter:userDetail. */
export function totalsOf(rows: Doc<"usageAggregates">[]) {
  const { counters: c, models } = mergeRows(rows);
  return {
    requests: c.totalRequests,
    successful: c.successfulRequests,
    failed: c.failedRequests,
    promptTokens: c.promptTokens,
    completionTokens: c.completionTokens,
    totalTokens: c.totalTokens,
    cachedTokens: c.cachedTokens,
    reasoningTokens: c.reasoningTokens,
    costNanoUsd: c.totalCostNanoUsd,
    costUsd: nanosToUsd(c.totalCostNanoUsd),
    avgProcessingMs: avgMs(c),
    p95ProcessingMs: p95FromBuckets(c.latencyBuckets),
    modelsUsed: models.size,
  };
}

/** Groups rows by a key, preserving first-seen order. */
export function groupBy<T, K>(rows: T[], key: (r: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return m;
}
