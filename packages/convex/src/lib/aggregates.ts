/**
 * Aggregates (table usageAggregates): the summaries the admin reads use.
 * The Go fold (internal/fold) computes every delta; this file only stores
 * them (addToAggregate) and reads them back. The rules it computes by:
 *
 * Every accepted row contributes to the four periods (hourly, daily, weekly,
 * monthly) of its timestamp, in these scopes:
 * - system: always;
 * - user:   when the row has a userId;
 * - model:  when the row has a model (usage and request-log rows).
 * What each row kind adds:
 * - request-log row: totalRequests +1, successful/failed +1 by status,
 *   totalProcessingTime += processingTime, latencyBuckets[bucket] +1,
 *   models ∪= model. (A request is counted once, by its request-log row.)
 * - usage row: prompt/completion/total/cached/reasoning tokens,
 *   totalCostNanoUsd += costNanoUsd, models ∪= model.
 * - activity row: conversationsStarted +1 (type "conversation_started"),
 *   filesUploaded +1 (type "file_uploaded"); any activity creates/touches the
 *   user's rows, so the user counts as active.
 * The fold writes one row per key (shard 0); rows stored before it may be
 * spread over shards 0–7, which readers merge.
 */
import type { Doc, Id } from "../server";
import type { DatabaseReader, DatabaseWriter } from "../server";
import type { Period } from "./periods";
import { badRequest } from "./errors";
import { nanosToUsd } from "./money";
import { insertDoc } from "./optional";
import type { Scope } from "./validators";

/** Inclusive upper bounds (ms) of the latency buckets; one more bucket holds the rest (+inf). */
export const LATENCY_BOUNDS = [100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000] as const;
export const LATENCY_BUCKETS = LATENCY_BOUNDS.length + 1;
export const MAX_MODELS_PER_ROW = 64;

/**
 * Inclusive upper bounds (ms) of the fine processing-time and TTFT buckets,
 * round(25·1.25^k) up to ~12 min; one more bucket holds the rest. The Go fold
 * (rollup.FineBounds, its owner) fills the buckets; reads need the bounds.
 */
export const FINE_BOUNDS = [
  25, 31, 39, 49, 61, 76, 95, 119, 149, 186, 233, 291, 364, 455, 568, 711, 888, 1110, 1388, 1735, 2168, 2711, 3388, 4235,
  5294, 6617, 8272, 10340, 12925, 16156, 20195, 25244, 31554, 39443, 49304, 61630, 77037, 96296, 120371, 150463, 188079,
  235099, 293874, 367342, 459177, 573972, 717465,
] as const;
export const FINE_BUCKETS = FINE_BOUNDS.length + 1;

/** Index of the bucket for a processing time: first i with ms <= LATENCY_BOUNDS[i], else the +inf bucket. */
export function latencyBucket(ms: number): number {
  for (let i = 0; i < LATENCY_BOUNDS.length; i++) if (ms <= LATENCY_BOUNDS[i]!) return i;
  return LATENCY_BOUNDS.length;
}

/** The additive part of an aggregate row. */
export type Counters = {
  totalRequests: number;
  successfulRequests: number;
  failedRequests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  totalCostNanoUsd: number;
  totalProcessingTime: number;
  conversationsStarted: number;
  filesUploaded: number;
  latencyBuckets: number[];
  /** FINE_BUCKETS counts of processing time and of time to first token. */
  latencyFine: number[];
  ttftBuckets: number[];
};

export function zeroCounters(): Counters {
  return {
    totalRequests: 0,
    successfulRequests: 0,
    failedRequests: 0,
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    cachedTokens: 0,
    reasoningTokens: 0,
    totalCostNanoUsd: 0,
    totalProcessingTime: 0,
    conversationsStarted: 0,
    filesUploaded: 0,
    latencyBuckets: new Array(LATENCY_BUCKETS).fill(0),
    latencyFine: new Array(FINE_BUCKETS).fill(0),
    ttftBuckets: new Array(FINE_BUCKETS).fill(0),
  };
}

const ADDITIVE = [
  "totalRequests",
  "successfulRequests",
  "failedRequests",
  "promptTokens",
  "completionTokens",
  "totalTokens",
  "cachedTokens",
  "reasoningTokens",
  "totalCostNanoUsd",
  "totalProcessingTime",
  "conversationsStarted",
  "filesUploaded",
] as const;

/** a += b (in place); b's fine arrays may be absent (stored before them). */
export function addCounters(
  a: Counters,
  b: Omit<Counters, "latencyFine" | "ttftBuckets"> & { latencyFine?: number[] | undefined; ttftBuckets?: number[] | undefined },
): void {
  for (const k of ADDITIVE) a[k] += b[k];
  for (let i = 0; i < LATENCY_BUCKETS; i++) a.latencyBuckets[i]! += b.latencyBuckets[i] ?? 0;
  // Rows and entries stored before the fine buckets lack them: zeros.
  for (let i = 0; i < FINE_BUCKETS; i++) {
    a.latencyFine[i]! += b.latencyFine?.[i] ?? 0;
    a.ttftBuckets[i]! += b.ttftBuckets?.[i] ?? 0;
  }
}

/**
 * Throws bad_request unless every counter of c is a safe integer (at most
 * 2^53 − 1, the largest a Convex number holds exactly): a sum beyond it is
 * refused (the mutation writes nothing, the route answers 400) instead of
 * stored rounded. The Go fold refuses such an apply before sending it
 * (fold.CheckBound); this is the store's own check of what it writes.
 */
export function checkStored(c: Pick<Counters, (typeof ADDITIVE)[number]>, what: string): void {
  for (const k of ADDITIVE) {
    if (!Number.isSafeInteger(c[k])) badRequest(`${what}.${k}: the sum ${c[k]} is beyond 2^53 − 1, refused rather than rounded`);
  }
}

/** Identity of an aggregate row. */
export type AggKey = {
  scope: Scope;
  userId?: Id<"llmmeterUsers"> | undefined;
  model?: string | undefined;
  period: Period;
  periodStart: number;
  shard: number;
};

export function aggKeyString(k: AggKey): string {
  return `${k.scope}|${k.userId ?? ""}|${k.model ?? ""}|${k.period}|${k.periodStart}|${k.shard}`;
}

/**
 * Adds a delta (from the Go fold) to the aggregate row of `key`: one index
 * range, one write. Counters are exact integers, so adding is associative
 * and the order of folds does not matter.
 */
export async function addToAggregate(
  db: DatabaseWriter,
  key: AggKey,
  periodKey: string,
  delta: Counters,
  models: string[],
  now: number,
): Promise<"inserted" | "updated"> {
  const existing = await findAggregate(db, key);
  if (existing) {
    const counters = countersOf(existing);
    addCounters(counters, delta);
    checkStored(counters, aggKeyString(key));
    await db.patch(existing._id, derivedFields(counters, mergeModels(existing.models, models), now));
    return "updated";
  }
  checkStored(delta, aggKeyString(key));
  await insertDoc(db, "usageAggregates", { ...key, periodKey, ...derivedFields(delta, mergeModels([], models), now) });
  return "inserted";
}

/** Existing models first, then new ones in sorted order, capped at MAX_MODELS_PER_ROW. */
export function mergeModels(existing: string[], added: string[]): string[] {
  const out = [...existing];
  for (const m of [...added].sort()) {
    if (out.length >= MAX_MODELS_PER_ROW) break;
    if (!out.includes(m)) out.push(m);
  }
  return out;
}

export function countersOf(doc: Doc<"usageAggregates">): Counters {
  const c = zeroCounters();
  for (const k of ADDITIVE) c[k] = doc[k];
  for (let i = 0; i < LATENCY_BUCKETS; i++) c.latencyBuckets[i] = doc.latencyBuckets[i] ?? 0;
  addCounters(c, { ...zeroCounters(), latencyBuckets: [], latencyFine: doc.latencyFine, ttftBuckets: doc.ttftBuckets });
  return c;
}

/** Counters plus the derived display fields of an aggregate row. */
export function derivedFields(c: Counters, models: string[], now: number) {
  return {
    ...c,
    latencyBuckets: [...c.latencyBuckets],
    latencyFine: [...c.latencyFine],
    ttftBuckets: [...c.ttftBuckets],
    models,
    totalCost: nanosToUsd(c.totalCostNanoUsd),
    averageProcessingTime: c.totalRequests > 0 ? c.totalProcessingTime / c.totalRequests : 0,
    uniqueModels: models.length,
    lastUpdated: now,
  };
}

/** The aggregate row with exactly this key, if any (one index range). */
export async function findAggregate(db: DatabaseReader, k: AggKey): Promise<Doc<"usageAggregates"> | null> {
  return await db
    .query("usageAggregates")
    .withIndex("by_scope_and_user_id_and_model_and_period_and_period_start_and_shard", (q) =>
      q
        .eq("scope", k.scope)
        .eq("userId", k.userId)
        .eq("model", k.model)
        .eq("period", k.period)
        .eq("periodStart", k.periodStart)
        .eq("shard", k.shard),
    )
    .unique();
}
