/**
 * Allowance leases (issue 15), the Convex side of store.Leases: one
 * transaction moves a holder's lease of each active quota of a user (or of
 * the system budget),
 *
 *   lease := lease − Σ claims − return + grant,
 *
 * turning each claim (a call the holder admitted locally) into that call's
 * reservation, settled by its rows like any other, unless its rows are
 * already ingested. Sizing and local admission are the Go service's
 * (internal/quotalease); this only grants and settles. The grant rule is
 * store.GrantLease in Go, applied here to the same figures; the cases in
 * contract/lease_grants.json pin both.
 */
import type { DatabaseReader, DatabaseWriter, Doc, Id } from "../server";
import { badRequest } from "./errors";
import { nanosToUsd } from "./money";
import { insertDoc } from "./optional";
import type { ReportingCalendar } from "./periods";
import {
  addAmounts,
  EXPIRED_SWEEP,
  exactLimit,
  openLeases,
  openReservationCap,
  quotasOfUser,
  stateAt,
  systemBudget,
  usedFields,
} from "./quotas";
import type { QuotaType } from "./validators";
import type { QuotaLeaseArgs } from "./wire";

type Amounts = QuotaLeaseArgs["want"];

/** The amount of `a` in quota type t's unit. */
export function amountOf(t: QuotaType, a: Amounts): number {
  return t === "daily_requests" ? a.requests : t === "monthly_tokens" ? a.tokens : a.costNanoUsd;
}

/** One quota after a lease request (store.LeasedQuota in Go). */
export type LeasedQuota = {
  quotaType: QuotaType;
  granted: number;
  lease: number;
  limit: number;
  used: number;
  others: number;
  resetDate: number;
};

/**
 * The grant rule (store.GrantLease): the holder keeps of its lease what
 * still fits (a limit lowered since the lease was granted cuts it), and is
 * granted what of want fits beside that and the others' holdings; refused
 * when need does not fit, unless the alone rule admits exactly need (a
 * token or cost quota no one else holds, under its limit). `q.lease` is the
 * holder's lease after its claims and return; `lease` is its lease after
 * this grant.
 */
export function grantLease(q: Omit<LeasedQuota, "granted">, want: number, need: number) {
  const kept = Math.min(q.lease, Math.max(0, q.limit - q.used - q.others));
  const free = q.limit - q.used - q.others - kept;
  if (need <= free) {
    const grant = Math.min(Math.max(want, need), free);
    return { lease: kept + grant, grant, refused: false };
  }
  if (need === 0) return { lease: kept, grant: 0, refused: false };
  if (q.quotaType !== "daily_requests" && q.others === 0 && kept === 0 && q.used < q.limit) {
    return { lease: need, grant: need, refused: false };
  }
  return { lease: kept, grant: 0, refused: true };
}

/** Whether the rows that settle a request's reservation are in (see ingest). */
async function isSettled(db: DatabaseReader, requestId: string): Promise<boolean> {
  const log = await db
    .query("requestLogs")
    .withIndex("by_request_id", (q) => q.eq("requestId", requestId))
    .first();
  if (log === null) return false;
  if (!log.generationId) return true;
  const u = await db
    .query("usageTracking")
    .withIndex("by_generation_id", (q) => q.eq("generationId", log.generationId!))
    .first();
  return u !== null;
}

function refusedView(q: Doc<"userQuotas">, lq: LeasedQuota) {
  const remaining = Math.max(0, lq.limit - lq.used - lq.others - lq.lease);
  const cost = q.quotaType === "monthly_cost_usd" || q.quotaType === "system_monthly_cost_usd";
  return {
    quotaType: q.quotaType,
    limit: lq.limit,
    used: lq.used,
    remaining,
    resetDate: lq.resetDate,
    limitUsd: cost ? nanosToUsd(lq.limit) : null,
  };
}

/** Applies a lease request; see the file comment. */
export async function leaseQuotas(db: DatabaseWriter, cal: ReportingCalendar, args: QuotaLeaseArgs, now: number) {
  let quotas: Doc<"userQuotas">[];
  let userId: Id<"llmmeterUsers"> | undefined;
  if (args.userId !== undefined) {
    const id = db.normalizeId("llmmeterUsers", args.userId);
    if (id === null) badRequest("userId: not a users id");
    userId = id;
    quotas = (await quotasOfUser(db, id)).filter((q) => q.isActive && q.quotaType !== "system_monthly_cost_usd");
  } else {
    const budget = await systemBudget(db);
    quotas = budget && budget.isActive ? [budget] : [];
  }
  const settled = new Map<string, boolean>();
  for (const c of args.claims) settled.set(c.requestId, await isSettled(db, c.requestId));

  const out: LeasedQuota[] = [];
  let refused: ReturnType<typeof refusedView> | null = null;
  for (const q of quotas) {
    const { used, resetDate, rolled } = stateAt(cal, q, now);
    if (rolled) await db.patch(q._id, { ...usedFields(q.quotaType, 0), resetDate, updatedAt: now });
    const expired = await db
      .query("quotaReservations")
      .withIndex("by_quota_id_and_expires_at", (r) => r.eq("quotaId", q._id).lte("expiresAt", now))
      .take(EXPIRED_SWEEP);
    for (const r of expired) await db.delete(r._id);
    const cap = openReservationCap(q);
    const open = await db
      .query("quotaReservations")
      .withIndex("by_quota_id_and_expires_at", (r) => r.eq("quotaId", q._id).gt("expiresAt", now))
      .take(cap + 1);
    let others = open.slice(0, cap).reduce((s, r) => addAmounts(s, r.amount), 0);
    const { leases, tooMany } = await openLeases(db, q._id, now);
    const mine = leases.find((l) => l.holder === args.holder) ?? null;
    for (const l of leases) if (l !== mine) others = addAmounts(others, l.amount);
    let lease = mine?.amount ?? 0;

    for (const c of args.claims) {
      const amount = amountOf(q.quotaType, c.amounts);
      if (amount === 0) continue;
      lease = Math.max(0, lease - amount);
      if (settled.get(c.requestId)) continue; // its rows already counted it
      const dup = (
        await db
          .query("quotaReservations")
          .withIndex("by_request_id", (r) => r.eq("requestId", c.requestId))
          .take(64)
      ).some((r) => r.quotaId === q._id);
      if (dup) continue;
      await insertDoc(db, "quotaReservations", {
        requestId: c.requestId,
        quotaId: q._id,
        userId,
        amount,
        expiresAt: now + args.claimTtlMs,
      });
      others = addAmounts(others, amount);
    }
    lease = Math.max(0, lease - amountOf(q.quotaType, args.return));

    const lq: LeasedQuota = { quotaType: q.quotaType, granted: 0, lease, limit: exactLimit(q), used, others, resetDate };
    const need = amountOf(q.quotaType, args.need);
    // Too many open reservations or leases to count: grant nothing beyond
    // need's refusal.
    const g =
      open.length > cap || tooMany
        ? { lease, grant: 0, refused: need > 0 }
        : grantLease(lq, amountOf(q.quotaType, args.want), need);
    lq.granted = g.grant;
    lq.lease = g.lease;
    if (g.refused && refused === null) refused = refusedView(q, lq);
    const expiresAt = now + args.ttlMs;
    if (mine !== null && lq.lease === 0) await db.delete(mine._id);
    else if (mine !== null) await db.patch(mine._id, { amount: lq.lease, expiresAt });
    else if (lq.lease > 0) await db.insert("quotaLeases", { quotaId: q._id, holder: args.holder, amount: lq.lease, expiresAt });
    const stale = await db
      .query("quotaLeases")
      .withIndex("by_quota_id_and_expires_at", (r) => r.eq("quotaId", q._id).lte("expiresAt", now))
      .take(16);
    for (const l of stale) await db.delete(l._id);
    out.push(lq);
  }
  return { quotas: out, refused };
}

/** store.MaxReleasedLeases: leases one release deletes. */
const MAX_RELEASED = 1000;

/**
 * Deletes a page of the leases `holder` left (store.LeaseRelease): a
 * replica restarted on the same data directory calls it once every call of
 * its predecessor is delivered, so that allowance need not wait out the
 * hold past the lease's TTL.
 */
export async function releaseHolder(db: DatabaseWriter, holder: string) {
  const rows = await db
    .query("quotaLeases")
    .withIndex("by_holder", (q) => q.eq("holder", holder))
    .take(MAX_RELEASED + 1);
  for (const l of rows.slice(0, MAX_RELEASED)) await db.delete(l._id);
  return { released: Math.min(rows.length, MAX_RELEASED), more: rows.length > MAX_RELEASED };
}
