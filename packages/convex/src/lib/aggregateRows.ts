/**
 * The one check of an aggregate row sent by the Go jobs, whether it is a
 * fold delta (llmmeter:foldApply) or a rebuilt value (llmmeter:jobUpsertAggregates): its
 * key is well-formed for its scope, its period is a period of the reporting
 * time zone, and its counters are consistent. Failures are bad_request
 * naming the row, before anything is written. A fold delta may name a user
 * deleted since ingest (deletedUserOk): its rows still count, and refusing
 * them would stall the fold behind them for good.
 */
import type { Id } from "../server";
import type { DatabaseReader } from "../server";
import { FINE_BUCKETS, LATENCY_BUCKETS, MAX_MODELS_PER_ROW, type AggKey, type Counters } from "./aggregates";
import { badRequest } from "./errors";
import type { reportingCalendar } from "./periods";
import type { AggregateUpsertRow } from "./wire";

export type PreparedAggregate = { key: AggKey; periodKey: string; counters: Counters; models: string[] };

export async function prepareAggregateRow(
  db: DatabaseReader,
  cal: ReturnType<typeof reportingCalendar>,
  r: AggregateUpsertRow,
  at: string,
  opts: { deletedUserOk?: boolean } = {},
): Promise<PreparedAggregate> {
  let userId: Id<"llmmeterUsers"> | undefined;
  if (r.scope === "user") {
    if (r.userId === undefined) badRequest(`${at}.userId: required for scope "user"`);
    if (r.model !== undefined) badRequest(`${at}.model: not allowed for scope "user"`);
    if (r.shard !== 0) badRequest(`${at}.shard: user rows use shard 0`);
    const id = db.normalizeId("llmmeterUsers", r.userId);
    if (id === null || (!opts.deletedUserOk && (await db.get(id)) === null)) {
      badRequest(`${at}.userId: not the id of an existing user`);
    }
    userId = id;
  } else if (r.userId !== undefined) {
    badRequest(`${at}.userId: only allowed for scope "user"`);
  }
  if (r.scope === "model" && r.model === undefined) badRequest(`${at}.model: required for scope "model"`);
  if (r.scope === "system" && r.model !== undefined) badRequest(`${at}.model: not allowed for scope "system"`);
  const p = cal.periodOf(r.period, r.periodStart);
  if (p.periodStart !== r.periodStart) {
    badRequest(`${at}.periodStart: not the start of a ${r.period} period in ${cal.timeZone}`);
  }
  if (p.periodKey !== r.periodKey) badRequest(`${at}.periodKey: expected "${p.periodKey}" for this periodStart`);
  if (r.successfulRequests + r.failedRequests !== r.totalRequests) {
    badRequest(`${at}.totalRequests: must equal successfulRequests + failedRequests`);
  }
  if (r.latencyBuckets.length !== LATENCY_BUCKETS) badRequest(`${at}.latencyBuckets: expected ${LATENCY_BUCKETS} counts`);
  checkFineBuckets(r, at);
  if (r.models.length > MAX_MODELS_PER_ROW || new Set(r.models).size !== r.models.length) {
    badRequest(`${at}.models: expected at most ${MAX_MODELS_PER_ROW} distinct model ids`);
  }
  const { scope, model, period, periodStart, shard, periodKey, models, userId: _rawUserId, ...rest } = r;
  const counters = { ...rest, latencyFine: fineOrZeros(rest.latencyFine), ttftBuckets: fineOrZeros(rest.ttftBuckets) };
  return { key: { scope, userId, model, period, periodStart, shard }, periodKey, counters, models };
}

/** The fine bucket arrays, when sent, hold FINE_BUCKETS counts each (an older fold sends none). */
export function checkFineBuckets(c: { latencyFine?: number[]; ttftBuckets?: number[] }, at: string): void {
  for (const k of ["latencyFine", "ttftBuckets"] as const) {
    const a = c[k];
    if (a !== undefined && a.length !== FINE_BUCKETS) badRequest(`${at}.${k}: expected ${FINE_BUCKETS} counts`);
  }
}

function fineOrZeros(a: number[] | undefined): number[] {
  return a ?? new Array<number>(FINE_BUCKETS).fill(0);
}
