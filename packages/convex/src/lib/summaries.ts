/**
 * Period summaries (tables summaryModels, summaryUsers): the read model of
 * overview's activeUsers, topUsers and modelStats. The Go fold computes
 * every summary whole (internal/rollup/summary.go: active-user counts, model
 * entries, top lists); this file only checks, stores and reads them.
 *
 * Reads take a window apart into whole stored periods (cover, the same walk
 * as periods.Calendar.Cover in Go), so a 30-day window reads ~16 summaries
 * instead of 30 × users rows, and a calendar month one.
 *
 * What multi-period windows return (both engines, contract cases 22–23):
 * - activeUsers: exact when the window is one stored period
 *   (activeUsersExact true); otherwise the largest count of its periods, a
 *   lower bound of the distinct users (activeUsersExact false).
 * - topUsers: one stored period: the exact top `limit` with exact totals.
 *   Several: each user's totals are the sum of its entries in the periods'
 *   stored lists (the union of the top 100 by cost, tokens and requests),
 *   ranked by the metric. A total is exact when every period lists the user
 *   or lists all its users (activeUsers ≤ list length); otherwise it misses
 *   the periods where the user is below that period's 100th value, and a
 *   user in no period's list is not returned. So the answer is exact for any
 *   window with at most ~100 users per period, and at 10,000 users per day
 *   exact for users who are in the top 100 of every piece. (Re-reading the
 *   candidates' own rows would make totals exact at limit × pieces extra
 *   reads, up to 2,600 documents; not done, to keep every admin read
 *   O(pieces).)
 */
import type { Doc, Id, QueryCtx, DatabaseReader, DatabaseWriter } from "../server";
import { badRequest } from "./errors";
import type { Period, ReportingCalendar } from "./periods";
import type { SummaryRow } from "./wire";
import { checkStored, LATENCY_BUCKETS } from "./aggregates";
import { checkFineBuckets } from "./aggregateRows";
import { packFine, unpackFine } from "./fineCodec";
import { findAggregate } from "./aggregates";
import type { ReadBudget } from "./window";

/** Bounds of one summary (rollup.MaxModelEntries, 3 × rollup.TopN). */
export const MAX_SUMMARY_MODELS = 1000;
export const MAX_SUMMARY_TOP_USERS = 300;

/** A piece of a window: one stored period. */
export type Piece = { period: Period; periodStart: number; periodKey: string };

const HOUR = 3_600_000;
const DAY = 86_400_000;
const LONGEST_FIRST: Period[] = ["monthly", "weekly", "daily", "hourly"];

/** Start of the period after the one of kind p starting at (or containing) ts: periods.Calendar.Next. */
export function periodEnd(cal: ReportingCalendar, p: Period, ts: number): number {
  switch (p) {
    case "hourly": {
      const start = cal.periodOf("hourly", ts).periodStart;
      let next = start + HOUR;
      while (cal.periodOf("hourly", next).periodStart === start) next += 30 * 60_000;
      return cal.periodOf("hourly", next).periodStart;
    }
    case "weekly":
      return cal.nextStart("daily", cal.periodOf("weekly", ts).periodStart + 6 * DAY + 12 * HOUR);
    default:
      return cal.nextStart(p, ts);
  }
}

/** The window's periods of granularity g (start in [from, to), whole) as the coarsest whole stored periods. */
export function cover(cal: ReportingCalendar, g: Period, from: number, to: number): Piece[] {
  if (from >= to) return [];
  let first = cal.periodOf(g, from).periodStart;
  if (first < from) first = periodEnd(cal, g, first);
  if (first >= to) return [];
  const end = periodEnd(cal, g, cal.periodOf(g, to - 1).periodStart);
  const out: Piece[] = [];
  for (let x = first; x < end; ) {
    let piece: Piece = cal.periodOf(g, x);
    for (const p of LONGEST_FIRST.slice(0, LONGEST_FIRST.indexOf(g))) {
      const at = cal.periodOf(p, x);
      if (at.periodStart === x && periodEnd(cal, p, x) <= end) {
        piece = at;
        break;
      }
    }
    out.push({ period: piece.period, periodStart: piece.periodStart, periodKey: piece.periodKey });
    x = periodEnd(cal, piece.period, x);
  }
  return out;
}

/** Checks a summary from the fold before anything is written; bad_request names it. */
export function checkSummary(db: DatabaseReader, cal: ReportingCalendar, s: SummaryRow, at: string) {
  const p = cal.periodOf(s.period, s.periodStart);
  if (p.periodStart !== s.periodStart) badRequest(`${at}.periodStart: not the start of a ${s.period} period in ${cal.timeZone}`);
  if (p.periodKey !== s.periodKey) badRequest(`${at}.periodKey: expected "${p.periodKey}" for this periodStart`);
  if (s.models.length > MAX_SUMMARY_MODELS) badRequest(`${at}.models: at most ${MAX_SUMMARY_MODELS} entries`);
  if (s.topUsers.length > MAX_SUMMARY_TOP_USERS) badRequest(`${at}.topUsers: at most ${MAX_SUMMARY_TOP_USERS} entries`);
  if (new Set(s.models.map((m) => m.model)).size !== s.models.length) badRequest(`${at}.models: a model twice`);
  for (const [i, m] of s.models.entries()) {
    if (m.successfulRequests + m.failedRequests !== m.totalRequests) {
      badRequest(`${at}.models[${i}].totalRequests: must equal successfulRequests + failedRequests`);
    }
    if (m.latencyBuckets.length !== LATENCY_BUCKETS) badRequest(`${at}.models[${i}].latencyBuckets: expected ${LATENCY_BUCKETS} counts`);
    checkFineBuckets(m, `${at}.models[${i}]`);
    checkStored(m, `${at}.models[${i}]`); // the Go fold refuses these first (fold.CheckBound)
  }
  const topUsers = s.topUsers.map((u, i) => {
    const userId = db.normalizeId("llmmeterUsers", u.userId);
    if (userId === null) badRequest(`${at}.topUsers[${i}].userId: not a users id`);
    for (const k of ["requests", "totalTokens", "costNanoUsd"] as const) {
      if (!Number.isSafeInteger(u[k])) badRequest(`${at}.topUsers[${i}].${k}: beyond 2^53 − 1, refused rather than rounded`);
    }
    return { ...u, userId };
  });
  if (new Set(topUsers.map((u) => u.userId)).size !== topUsers.length) badRequest(`${at}.topUsers: a user twice`);
  return { ...s, topUsers };
}

type SummaryTable = "summaryModels" | "summaryLatency" | "summaryUsers";

async function summaryDoc<T extends SummaryTable>(db: DatabaseReader, table: T, p: Period, start: number) {
  // One index of the same name and fields on every summary table.
  const q = db.query(table as "summaryModels").withIndex("by_period_and_period_start", (q) => q.eq("period", p).eq("periodStart", start));
  return (await q.unique()) as Doc<T> | null;
}

async function putSummaryDoc<T extends SummaryTable>(db: DatabaseWriter, table: T, key: Piece, fields: Omit<Doc<T>, "_id" | "_creationTime" | keyof Piece>) {
  const doc = { ...key, ...fields } as never;
  const existing = await summaryDoc(db, table, key.period, key.periodStart);
  if (existing) await db.replace(existing._id, doc);
  else await db.insert(table, doc);
}

type ModelEntry = SummaryRow["models"][number];

/** A wire model entry without its fine counts: the summaryModels entry. */
function coarse({ latencyFine: _l, ttftBuckets: _t, ...entry }: ModelEntry) {
  return entry;
}

/** The summaryLatency entries of wire model entries: those with a fine sample, packed. */
function latencyEntries(models: ModelEntry[]) {
  const sampled = (a: number[] | undefined) => a?.some((n) => n !== 0) ?? false;
  return models
    .filter((m) => sampled(m.latencyFine) || sampled(m.ttftBuckets))
    .map((m) => ({ model: m.model, fine: packFine(m.latencyFine, m.ttftBuckets) }));
}

/** Replaces one period's summary (its models, latency and users documents). */
export async function replaceSummary(db: DatabaseWriter, s: ReturnType<typeof checkSummary>): Promise<void> {
  const key = { period: s.period, periodStart: s.periodStart, periodKey: s.periodKey };
  await putSummaryDoc(db, "summaryModels", key, { models: s.models.map(coarse) });
  await putSummaryDoc(db, "summaryLatency", key, { models: latencyEntries(s.models) });
  await putSummaryDoc(db, "summaryUsers", key, { activeUsers: s.activeUsers, topUsers: s.topUsers });
}

/** The stored summary of a period in the fold's wire shape (fine counts unpacked), or null. */
export async function readSummary(db: DatabaseReader, p: Period, start: number): Promise<SummaryRow | null> {
  const models = await summaryDoc(db, "summaryModels", p, start);
  const users = await summaryDoc(db, "summaryUsers", p, start);
  if (!models && !users) return null;
  const fine = fineByModel(await summaryDoc(db, "summaryLatency", p, start));
  return {
    period: p,
    periodStart: start,
    periodKey: (models ?? users)!.periodKey,
    activeUsers: users?.activeUsers ?? 0,
    models: (models?.models ?? []).map((m) => ({ ...m, ...(fine.get(m.model) ?? unpackFine(new ArrayBuffer(0))) })),
    topUsers: users?.topUsers ?? [],
  };
}

/** A latency document's counts by model, unpacked. */
export function fineByModel(doc: Doc<"summaryLatency"> | null): Map<string, ReturnType<typeof unpackFine>> {
  return new Map((doc?.models ?? []).map((e) => [e.model, unpackFine(e.fine)]));
}

/** A user's stored period totals (rollup.UserRow), or null without a user row. */
export async function readUserRow(db: DatabaseReader, userId: Id<"llmmeterUsers">, p: Period, start: number) {
  const row = await findAggregate(db, { scope: "user", userId, period: p, periodStart: start, shard: 0 });
  return row && { userId, period: p, periodStart: start, requests: row.totalRequests, totalTokens: row.totalTokens, costNanoUsd: row.totalCostNanoUsd };
}

/** The users documents of pieces, in piece order (null where a period has none). */
export async function readUsersPieces(ctx: QueryCtx, budget: ReadBudget, pieces: Piece[]) {
  const out: (Doc<"summaryUsers"> | null)[] = [];
  for (const p of pieces) {
    const d = await summaryDoc(ctx.db, "summaryUsers", p.period, p.periodStart);
    if (d) budget.consume(d);
    out.push(d);
  }
  return out;
}

/** The models documents of pieces, each with its latency document (null where the period has none). */
export async function readModelsPieces(ctx: QueryCtx, budget: ReadBudget, pieces: Piece[]) {
  const out: { models: Doc<"summaryModels">; latency: Doc<"summaryLatency"> | null }[] = [];
  for (const p of pieces) {
    const models = await summaryDoc(ctx.db, "summaryModels", p.period, p.periodStart);
    if (!models) continue;
    budget.consume(models);
    const latency = await summaryDoc(ctx.db, "summaryLatency", p.period, p.periodStart);
    if (latency) budget.consume(latency);
    out.push({ models, latency });
  }
  return out;
}

type Totals = { userId: Id<"llmmeterUsers">; requests: number; totalTokens: number; costNanoUsd: number };
export type TopMetric = "cost" | "tokens" | "requests";

function metricOf(by: TopMetric, t: Totals): number {
  return by === "cost" ? t.costNanoUsd : by === "tokens" ? t.totalTokens : t.requests;
}

function rankBy(by: TopMetric) {
  return (a: Totals, b: Totals) =>
    metricOf(by, b) - metricOf(by, a) || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0);
}

/**
 * The first `limit` users of the pieces by the metric, from the pieces' top
 * lists alone (see the module comment for what several pieces guarantee):
 * one users summary per piece, nothing per user.
 */
export async function topUsersOf(ctx: QueryCtx, budget: ReadBudget, pieces: Piece[], by: TopMetric, limit: number): Promise<Totals[]> {
  const listed = new Map<Id<"llmmeterUsers">, Totals>();
  for (const d of await readUsersPieces(ctx, budget, pieces)) {
    for (const u of d?.topUsers ?? []) {
      const t = listed.get(u.userId) ?? { userId: u.userId, requests: 0, totalTokens: 0, costNanoUsd: 0 };
      t.requests += u.requests;
      t.totalTokens += u.totalTokens;
      t.costNanoUsd += u.costNanoUsd;
      listed.set(u.userId, t);
    }
  }
  return [...listed.values()].sort(rankBy(by)).slice(0, limit);
}
