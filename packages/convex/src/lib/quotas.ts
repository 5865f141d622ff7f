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
import type { Doc, Id } from "../server";
import type { DatabaseReader, DatabaseWriter } from "../server";
import { countersOf, findAggregate } from "./aggregates";
import { badRequest } from "./errors";
import { nanosToUsd, usdToNanos } from "./money";
import type { ReportingCalendar } from "./periods";
import type { QuotaType } from "./validators";

export const QUOTA_PERIOD: Record<QuotaType, "daily" | "monthly"> = {
  daily_requests: "daily",
  monthly_tokens: "monthly",
  monthly_cost_usd: "monthly",
  system_monthly_cost_usd: "monthly",
};

/**
 * The largest counter or amount kept (store.MaxAmount in Go): 2^53 − 1, the
 * largest integer a Convex number holds exactly. Counters saturate here.
 */
export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;

/** a + b for amounts, saturating at MAX_AMOUNT (negative operands count as 0). */
export function addAmounts(a: number, b: number): number {
  return Math.min(Math.max(a, 0) + Math.max(b, 0), MAX_AMOUNT);
}

/** Whether v is an amount: an integer in [0, MAX_AMOUNT]. */
const isAmount = (v: number) => Number.isSafeInteger(v) && v >= 0;

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

/**
 * The roll-over transition: the window containing `ts` once `ts` is at or
 * after resetDate (used = 0, resetDate = start of the period after ts's).
 */
function windowAt(cal: ReportingCalendar, period: "daily" | "monthly", ts: number) {
  return { windowStart: cal.periodOf(period, ts).periodStart, resetDate: cal.nextStart(period, ts) };
}

/**
 * The quota's counter at `now` (exact unit): rolled forward exactly as a row
 * at `now` would roll it in ingest, if resetDate <= now. Not written.
 */
export function stateAt(cal: ReportingCalendar, q: Doc<"userQuotas">, now: number) {
  if (now < q.resetDate) return { used: exactUsed(q), resetDate: q.resetDate, rolled: false };
  return { used: 0, resetDate: windowAt(cal, QUOTA_PERIOD[q.quotaType], now).resetDate, rolled: true };
}

/** The limit in the quota's exact unit (nanos for cost quotas). */
export function exactLimit(q: Doc<"userQuotas">): number {
  return isCostQuota(q.quotaType) ? (q.limitNanoUsd ?? usdToNanos(q.limit)) : q.limit;
}

/** A quota window's counter: its resetDate and used amount (exact unit). */
export type Counter = { resetDate: number; used: number };

/**
 * The counter after contributions (the roll-over and late-row rules of the
 * file comment); `changed` is false when nothing moved.
 */
export function advance(cal: ReportingCalendar, t: QuotaType, from: Counter, contributions: Contribution[]) {
  const period = QUOTA_PERIOD[t];
  let { resetDate, used } = from;
  let windowStart = cal.periodOf(period, resetDate - 1).periodStart;
  let changed = false;
  const relevant = contributions.filter((c) => amountFor(t, c) > 0).sort((a, b) => a.ts - b.ts);
  for (const c of relevant) {
    if (c.ts >= resetDate) {
      ({ windowStart, resetDate } = windowAt(cal, period, c.ts));
      used = 0;
      changed = true;
    }
    if (c.ts < windowStart) continue;
    used = addAmounts(used, amountFor(t, c));
    changed = true;
  }
  return { resetDate, used, changed };
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
  const next = advance(cal, q.quotaType, { resetDate: q.resetDate, used: exactUsed(q) }, contributions);
  if (!next.changed) return false;
  await db.patch(q._id, { ...usedFields(q.quotaType, next.used), resetDate: next.resetDate, updatedAt: now });
  return true;
}

/** Quotas of a user (≤ 16: one per type is the rule), one index range. */
export async function quotasOfUser(db: DatabaseReader, userId: Id<"llmmeterUsers">) {
  return await db
    .query("userQuotas")
    .withIndex("by_user_id", (q) => q.eq("userId", userId))
    .take(16);
}

/**
 * The system-wide monthly budget row as stored, if any: its used counter
 * without the shards ingest writes (see systemBudget).
 */
export async function storedSystemBudget(db: DatabaseReader) {
  return await db
    .query("userQuotas")
    .withIndex("by_user_id_and_quota_type", (q) =>
      q.eq("userId", undefined).eq("quotaType", "system_monthly_cost_usd"),
    )
    .first();
}

/** Shards of the system budget's used counter (lib/budgetShards.ts). */
export const BUDGET_SHARDS = 256;

/**
 * The system budget, if any, with its used counter and window as the sum
 * of its shards says: the window is the latest resetDate of the row and its
 * shards (ingest may roll a shard into the next window before anything
 * rolls the row), used is what the row and the shards of that window hold,
 * and updatedAt the latest of theirs. Reads the row and at most
 * BUDGET_SHARDS shards.
 */
export async function systemBudget(db: DatabaseReader) {
  const b = await storedSystemBudget(db);
  if (b === null) return null;
  const shards = await db
    .query("budgetShards")
    .withIndex("by_budget_id_and_shard", (q) => q.eq("budgetId", b._id))
    .take(BUDGET_SHARDS);
  const resetDate = shards.reduce((r, s) => Math.max(r, s.resetDate), b.resetDate);
  let used = b.resetDate === resetDate ? exactUsed(b) : 0;
  let updatedAt = b.updatedAt;
  for (const s of shards) {
    if (s.resetDate !== resetDate) continue;
    used += s.usedNanoUsd;
    updatedAt = Math.max(updatedAt, s.updatedAt);
  }
  return { ...b, ...usedFields(b.quotaType, Math.min(Math.max(used, 0), MAX_AMOUNT)), resetDate, updatedAt };
}

/** quotas with the system budget among them answered as systemBudget says (its shards summed). */
export async function withBudgetSummed(db: DatabaseReader, quotas: Doc<"userQuotas">[]): Promise<Doc<"userQuotas">[]> {
  if (!quotas.some((q) => q.quotaType === "system_monthly_cost_usd" && q.userId === undefined)) return quotas;
  const budget = await systemBudget(db);
  return quotas.map((q) => (budget && q._id === budget._id ? budget : q));
}

/**
 * What the quota's counter should be at `now`, from the aggregates of the
 * current period (used when a quota is created or re-activated).
 */
export async function usedFromAggregates(
  db: DatabaseReader,
  cal: ReportingCalendar,
  t: QuotaType,
  userId: Id<"llmmeterUsers"> | undefined,
  now: number,
): Promise<number> {
  const p = cal.periodOf(QUOTA_PERIOD[t], now);
  const pick = (c: ReturnType<typeof countersOf>) =>
    t === "daily_requests" ? c.totalRequests : t === "monthly_tokens" ? c.totalTokens : c.totalCostNanoUsd;
  if (t === "system_monthly_cost_usd") {
    const rows = await db
      .query("usageAggregates")
      .withIndex("by_scope_and_period_and_period_start", (q) =>
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

/** The quota as answered by /quotas/get and llmmeter:quotas. */
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

// ---- reservations (POST /quotas/reserve, /quotas/release) ------------------

/**
 * Unexpired reservations counted per quota of one user; more refuses the
 * request. Only that user's calls in flight reach it.
 */
export const MAX_OPEN_RESERVATIONS = 1000;
/**
 * The same bound for the system budget, which holds a reservation of every
 * call in flight of every user, so it scales with load, not with one user:
 * 8,000 open calls (4,000 calls/s at 2 s each, 20 times the issue 14 peak of
 * 200/s). Reading them all is 8,000 small documents (about 1 MB), a quarter
 * of a transaction's 32,000-document scan limit.
 */
export const MAX_OPEN_BUDGET_RESERVATIONS = 8000;

/** The open-reservation bound of quota q (see the two constants above). */
export function openReservationCap(q: Doc<"userQuotas">): number {
  return q.quotaType === "system_monthly_cost_usd" ? MAX_OPEN_BUDGET_RESERVATIONS : MAX_OPEN_RESERVATIONS;
}
/** Expired reservations an admitted reserve deletes (all its quotas together). */
export const EXPIRED_SWEEP = 50;
/** Reservations deleted per request (one per quota, so a handful). */
const MAX_RESERVATIONS_PER_REQUEST = 64;

const TYPE_ORDER: Record<QuotaType, number> = {
  daily_requests: 0,
  monthly_tokens: 1,
  monthly_cost_usd: 2,
  system_monthly_cost_usd: 3,
};

export type ReserveArgs = { requestId: string; userId: string; tokens: number; costNanoUsd: number; ttlMs: number };

/** The refusing quota as answered by /quotas/reserve (display units + exact nanos for cost quotas). */
export type RefusedQuota = {
  quotaId: Id<"userQuotas">;
  quotaType: QuotaType;
  limit: number;
  used: number;
  reserved: number;
  remaining: number;
  resetDate: number;
  limitNanoUsd: number | null;
  usedNanoUsd: number | null;
  reservedNanoUsd: number | null;
  remainingNanoUsd: number | null;
};

export type ReserveResult =
  | { admitted: true; replay?: true }
  | { admitted: false; reason: "limit" | "too_many_reservations"; message: string; quota: RefusedQuota };

function refusedView(q: Doc<"userQuotas">, limit: number, used: number, reserved: number, resetDate: number): RefusedQuota {
  const remaining = Math.max(0, limit - used - reserved);
  if (isCostQuota(q.quotaType)) {
    return {
      quotaId: q._id,
      quotaType: q.quotaType,
      limit: nanosToUsd(limit),
      used: nanosToUsd(used),
      reserved: nanosToUsd(reserved),
      remaining: nanosToUsd(remaining),
      resetDate,
      limitNanoUsd: limit,
      usedNanoUsd: used,
      reservedNanoUsd: reserved,
      remainingNanoUsd: remaining,
    };
  }
  return {
    quotaId: q._id,
    quotaType: q.quotaType,
    limit,
    used,
    reserved,
    remaining,
    resetDate,
    limitNanoUsd: null,
    usedNanoUsd: null,
    reservedNanoUsd: null,
    remainingNanoUsd: null,
  };
}

/**
 * Strict admission (one transaction; Convex serializes concurrent reserves of
 * the same quota through the reservation range each one reads):
 * for every active quota of the user and the active system budget, with L the
 * limit, U the used counter (rolled forward if resetDate <= now), R the sum of
 * unexpired reservations and E this request's estimate (daily_requests 1,
 * monthly_tokens `tokens`, cost quotas `costNanoUsd`), admit iff
 * U + R + E <= L, or — token and cost quotas only — R == 0 && U < L (a request
 * alone may run; it then reserves max(E, L − U) so nothing else is admitted
 * beside it, and at most that one request pushes the quota over its limit).
 * All admit → one reservation per quota, roll-overs written, up to
 * EXPIRED_SWEEP expired reservations deleted; otherwise nothing is written.
 * Idempotent by requestId.
 */
export async function reserveQuotas(
  db: DatabaseWriter,
  cal: ReportingCalendar,
  args: ReserveArgs,
  now: number,
): Promise<ReserveResult> {
  // The route checks these too; an internal caller must not get past them.
  if (!isAmount(args.tokens)) badRequest("tokens: expected non-negative integer");
  if (!isAmount(args.costNanoUsd)) badRequest("costNanoUsd: expected non-negative integer");
  const userId = db.normalizeId("llmmeterUsers", args.userId);
  if (userId === null) badRequest("userId: not a users id");
  const existing = await db
    .query("quotaReservations")
    .withIndex("by_request_id", (q) => q.eq("requestId", args.requestId))
    .first();
  if (existing !== null) return { admitted: true, replay: true };
  if ((await db.get(userId)) === null) badRequest("userId: not the id of an existing user");

  const quotas = (await quotasOfUser(db, userId))
    .filter((q) => q.isActive && q.quotaType !== "system_monthly_cost_usd")
    .sort((a, b) => TYPE_ORDER[a.quotaType] - TYPE_ORDER[b.quotaType]);
  const budget = await systemBudget(db);
  if (budget && budget.isActive) quotas.push(budget);
  if (quotas.length === 0) return { admitted: true };

  const plan: { q: Doc<"userQuotas">; amount: number; rolled: boolean; resetDate: number }[] = [];
  for (const q of quotas) {
    const L = exactLimit(q);
    const { used: U, resetDate, rolled } = stateAt(cal, q, now);
    const cap = openReservationCap(q);
    const open = await db
      .query("quotaReservations")
      .withIndex("by_quota_id_and_expires_at", (r) => r.eq("quotaId", q._id).gt("expiresAt", now))
      .take(cap + 1);
    // Allowance leases (lib/leases.ts) hold like reservations.
    const leases = await openLeases(db, q._id, now);
    const held = leases.leases.reduce((s, l) => addAmounts(s, l.amount), 0);
    const R = open.slice(0, cap).reduce((s, r) => addAmounts(s, r.amount), held);
    if (open.length > cap || leases.tooMany) {
      const what = leases.tooMany ? `${MAX_LEASES} allowance leases` : `${cap} open reservations`;
      return {
        admitted: false,
        reason: "too_many_reservations",
        message: `${q.quotaType} quota ${q._id} has more than ${what}; refused until some settle, are released or expire`,
        quota: refusedView(q, L, U, R, resetDate),
      };
    }
    const E = q.quotaType === "daily_requests" ? 1 : q.quotaType === "monthly_tokens" ? args.tokens : args.costNanoUsd;
    let amount: number;
    if (addAmounts(addAmounts(U, R), E) <= L) amount = E;
    else if (q.quotaType !== "daily_requests" && R === 0 && U < L) amount = Math.max(E, L - U);
    else {
      return {
        admitted: false,
        reason: "limit",
        message: `${q.quotaType} quota exceeded: used ${U} + reserved ${R} + this request ${E} > limit ${L}`,
        quota: refusedView(q, L, U, R, resetDate),
      };
    }
    plan.push({ q, amount, rolled, resetDate });
  }

  const expiresAt = now + args.ttlMs;
  let sweep = EXPIRED_SWEEP;
  for (const { q, amount, rolled, resetDate } of plan) {
    // Compare-and-set by construction: the quota was read in this transaction.
    if (rolled) await db.patch(q._id, { ...usedFields(q.quotaType, 0), resetDate, updatedAt: now });
    await db.insert("quotaReservations", { requestId: args.requestId, quotaId: q._id, userId, amount, expiresAt });
    if (sweep > 0) {
      const expired = await db
        .query("quotaReservations")
        .withIndex("by_quota_id_and_expires_at", (r) => r.eq("quotaId", q._id).lte("expiresAt", now))
        .take(sweep);
      for (const r of expired) await db.delete(r._id);
      sweep -= expired.length;
    }
  }
  return { admitted: true };
}

/**
 * Unexpired allowance leases of a quota: one per replica, plus those of
 * replicas that died in the last few minutes (the Go service asks for a
 * dead lease to be held past its TTL; internal/quotalease Options.Hold).
 */
export const MAX_LEASES = 64;

/**
 * The unexpired allowance leases of quota q (see lib/leases.ts), at most
 * MAX_LEASES; `tooMany` when there are more, which the callers refuse on:
 * the leases left unread would be held allowance left uncounted.
 */
export async function openLeases(db: DatabaseReader, q: Id<"userQuotas">, now: number) {
  const rows = await db
    .query("quotaLeases")
    .withIndex("by_quota_id_and_expires_at", (r) => r.eq("quotaId", q).gt("expiresAt", now))
    .take(MAX_LEASES + 1);
  return { leases: rows.slice(0, MAX_LEASES), tooMany: rows.length > MAX_LEASES };
}

/** Deletes the reservations of one request (settlement or release); returns how many. */
export async function deleteReservations(db: DatabaseWriter, requestId: string): Promise<number> {
  const rows = await db
    .query("quotaReservations")
    .withIndex("by_request_id", (q) => q.eq("requestId", requestId))
    .take(MAX_RESERVATIONS_PER_REQUEST);
  for (const r of rows) await db.delete(r._id);
  return rows.length;
}
