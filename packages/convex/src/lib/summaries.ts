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
import { addCounters, checkStored, LATENCY_BUCKETS, type Counters } from "./aggregates";
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
  }
  const topUsers = s.topUsers.map((u, i) => {
    const userId = db.normalizeId("llmmeterUsers", u.userId);
    if (userId === null) badRequest(`${at}.topUsers[${i}].userId: not a users id`);
    return { ...u, userId };
  });
  if (new Set(topUsers.map((u) => u.userId)).size !== topUsers.length) badRequest(`${at}.topUsers: a user twice`);
  return { ...s, topUsers };
}

async function summaryDoc<T extends "summaryModels" | "summaryUsers">(db: DatabaseReader, table: T, p: Period, start: number) {
  // One index of the same name and fields on both tables.
  const q = db.query(table as "summaryModels").withIndex("by_period_and_period_start", (q) => q.eq("period", p).eq("periodStart", start));
  return (await q.unique()) as Doc<T> | null;
}

/** Replaces one period's summary (both documents). */
export async function replaceSummary(db: DatabaseWriter, s: ReturnType<typeof checkSummary>): Promise<void> {
  const key = { period: s.period, periodStart: s.periodStart, periodKey: s.periodKey };
  const models = await summaryDoc(db, "summaryModels", s.period, s.periodStart);
  if (models) await db.replace(models._id, { ...key, models: s.models });
  else await db.insert("summaryModels", { ...key, models: s.models });
  const users = await summaryDoc(db, "summaryUsers", s.period, s.periodStart);
  const u = { ...key, activeUsers: s.activeUsers, topUsers: s.topUsers };
  if (users) await db.replace(users._id, u);
  else await db.insert("summaryUsers", u);
}

/** The stored summary of a period in the fold's wire shape, or null. */
export async function readSummary(db: DatabaseReader, p: Period, start: number): Promise<SummaryRow | null> {
  const models = await summaryDoc(db, "summaryModels", p, start);
  const users = await summaryDoc(db, "summaryUsers", p, start);
  if (!models && !users) return null;
  return {
    period: p,
    periodStart: start,
    periodKey: (models ?? users)!.periodKey,
    activeUsers: users?.activeUsers ?? 0,
    models: models?.models ?? [],
    topUsers: users?.topUsers ?? [],
  };
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

/** The models documents of pieces. */
export async function readModelsPieces(ctx: QueryCtx, budget: ReadBudget, pieces: Piece[]) {
  const out: Doc<"summaryModels">[] = [];
  for (const p of pieces) {
    const d = await summaryDoc(ctx.db, "summaryModels", p.period, p.periodStart);
    if (d) {
      budget.consume(d);
      out.push(d);
    }
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

/**
 * Moves a period's summary by a confirmed usage row's difference: the
 * model's entry and the user's top-list entry, if listed (Go:
 * rollup.Summary.Adjust, which the embedded engine runs; no re-ranking).
 */
export async function adjustSummary(
  db: DatabaseWriter,
  p: Period,
  start: number,
  userId: Id<"llmmeterUsers">,
  model: string,
  d: Counters,
): Promise<void> {
  const models = await summaryDoc(db, "summaryModels", p, start);
  const i = models?.models.findIndex((e) => e.model === model) ?? -1;
  if (models && i >= 0) {
    const { model: _m, ...c } = models.models[i];
    addCounters(c, d);
    checkStored(c, `summary ${p} ${start} ${model}`);
    const next = [...models.models];
    next[i] = { model, ...c };
    await db.patch(models._id, { models: next });
  }
  const users = await summaryDoc(db, "summaryUsers", p, start);
  const j = users?.topUsers.findIndex((u) => u.userId === userId) ?? -1;
  if (users && j >= 0) {
    const next = [...users.topUsers];
    next[j] = { ...next[j], totalTokens: next[j].totalTokens + d.totalTokens, costNanoUsd: next[j].costNanoUsd + d.totalCostNanoUsd };
    if (!Number.isSafeInteger(next[j].totalTokens) || !Number.isSafeInteger(next[j].costNanoUsd)) {
      badRequest(`summary ${p} ${start} user ${userId}: a total beyond 2^53 − 1, refused rather than rounded`);
    }
    await db.patch(users._id, { topUsers: next });
  }
}
