/** Internal quota functions behind /quotas/get, /quotas/changes, /quotas/reserve, /quotas/release, /quotas/lease, /quotas/lease/release-holder and /jobs/quotas/*. See lib/quotas.ts and lib/leases.ts. */
import { internalQuery } from "./server";
import { signedMutation } from "./lib/nonces";
import { badRequest, notFound, paginated } from "./lib/errors";
import { leaseQuotas, releaseHolder } from "./lib/leases";
import { quotaChangesSince } from "./lib/quotaChanges";
import { reportingCalendar } from "./lib/periods";
import {
  deleteReservations,
  QUOTA_PERIOD,
  quotasOfUser,
  quotaView,
  reserveQuotas,
  systemBudget,
  usedFields,
} from "./lib/quotas";
import {
  leaseReleaseHolderBody,
  quotaChangesBody,
  quotaLeaseBody,
  quotaReleaseBody,
  quotaReserveBody,
  quotaResetBody,
  quotasDueBody,
  quotasGetBody,
} from "./lib/wire";

/** Active quotas of the user and the system budget (null if none or inactive). */
export const get = internalQuery({
  args: quotasGetBody.fields,
  handler: async (ctx, args) => {
    const userId = ctx.db.normalizeId("llmmeterUsers", args.userId);
    if (userId === null) badRequest("userId: not a users id");
    const quotas = (await quotasOfUser(ctx.db, userId)).filter((q) => q.isActive);
    const budget = await systemBudget(ctx.db);
    return {
      quotas: quotas.map(quotaView),
      system: budget && budget.isActive ? quotaView(budget) : null,
      now: Date.now(),
    };
  },
});

/** The quota changes after `since` (lib/quotaChanges.ts): {changes, more, now}. */
export const changes = internalQuery({
  args: quotaChangesBody.fields,
  handler: async (ctx, args) => await quotaChangesSince(ctx.db, args.since, Date.now()),
});

/**
 * Compare-and-set reset: only if resetDate still equals expectedResetDate
 * (so a window is reset exactly once, by this job or by ingest rolling it).
 * Returns {reset, quota}.
 */
export const reset = signedMutation({
  args: quotaResetBody.fields,
  handler: async (ctx, args) => {
    const id = ctx.db.normalizeId("userQuotas", args.quotaId);
    if (id === null) badRequest("quotaId: not a userQuotas id");
    if (args.nextResetDate <= args.expectedResetDate) badRequest("nextResetDate: must be after expectedResetDate");
    const q = await ctx.db.get(id);
    if (!q) notFound("quotaId: no such quota");
    if (q.resetDate !== args.expectedResetDate) return { reset: false, quota: quotaView(q) };
    await ctx.db.patch(id, { ...usedFields(q.quotaType, 0), resetDate: args.nextResetDate, updatedAt: Date.now() });
    return { reset: true, quota: quotaView((await ctx.db.get(id))!) };
  },
});

/**
 * A page of active quotas with resetDate <= before, oldest first (the reset
 * job's first page; the alerts job reads them all): {quotas, cursor}, cursor
 * null after the last page.
 */
export const due = internalQuery({
  args: quotasDueBody.fields,
  handler: async (ctx, args) => {
    const page = await paginated(args.cursor, "cursor", () =>
      ctx.db
        .query("userQuotas")
        .withIndex("by_is_active_and_reset_date", (q) => q.eq("isActive", true).lte("resetDate", args.before))
        .paginate({ numItems: args.limit, cursor: args.cursor ?? null }),
    );
    return {
      quotas: page.page.map((q) => ({ ...quotaView(q), period: QUOTA_PERIOD[q.quotaType] })),
      cursor: page.isDone ? null : page.continueCursor,
    };
  },
});

/**
 * Strict reservation before an upstream call (see reserveQuotas in
 * lib/quotas.ts): {admitted: true[, replay: true]} or
 * {admitted: false, reason, message, quota} for the first refusing quota.
 */
export const reserve = signedMutation({
  args: quotaReserveBody.fields,
  handler: async (ctx, args) => await reserveQuotas(ctx.db, reportingCalendar(), args, Date.now()),
});

/** Drops the reservations of a request that will not be ingested (or is abandoned). */
export const release = signedMutation({
  args: quotaReleaseBody.fields,
  handler: async (ctx, args) => ({ released: await deleteReservations(ctx.db, args.requestId) }),
});

/**
 * Moves one holder's allowance lease (see leaseQuotas in lib/leases.ts):
 * {quotas: [...], refused: null | quota} for the user's active quotas or the
 * system budget.
 */
export const lease = signedMutation({
  args: quotaLeaseBody.fields,
  handler: async (ctx, args) => await leaseQuotas(ctx.db, reportingCalendar(), args, Date.now()),
});

/** Deletes a page of the leases a holder left (lib/leases.ts releaseHolder): {released, more}. */
export const releaseLeaseHolder = signedMutation({
  args: leaseReleaseHolderBody.fields,
  handler: async (ctx, args) => await releaseHolder(ctx.db, args.holder),
});
