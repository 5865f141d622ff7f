/**
 * llmmeter:deleteQuota: removes a quota, so the user (or the system, for the
 * budget) is no longer limited by it. Its open reservations and allowance
 * leases go with it: they hold allowance of a quota that no longer exists,
 * and their per-quota clean-up would never see them again.
 */
import { v } from "convex/values";
import type { AdminBuilders } from "./lib/auth";
import { vQuotaType } from "./lib/validators";
import { quotaOwner } from "./admin";
import { recordQuotaChange } from "./lib/quotaChanges";

/** Reservations and leases removed with a quota, at most (in-flight calls and replicas: a handful). */
const MAX_HELD = 4_000;

/**
 * Deletes the quota (userId, quotaType); the system budget
 * (system_monthly_cost_usd) takes no userId, the others require one, as
 * setQuota. {deleted: false} when there was no such quota.
 */
export const deleteQuota = (b: AdminBuilders) => b.mutation({
  args: { userId: v.optional(v.string()), quotaType: vQuotaType },
  returns: v.object({ deleted: v.boolean() }),
  handler: async (ctx, args) => {
    const userId = await quotaOwner(ctx, args);
    const q = await ctx.db
      .query("userQuotas")
      .withIndex("by_user_id_and_quota_type", (r) => r.eq("userId", userId).eq("quotaType", args.quotaType))
      .first();
    if (q === null) return { deleted: false };
    for (const table of ["quotaReservations", "quotaLeases"] as const) {
      const held = await ctx.db
        .query(table)
        .withIndex("by_quota_id_and_expires_at", (r) => r.eq("quotaId", q._id))
        .take(MAX_HELD);
      for (const h of held) await ctx.db.delete(h._id);
    }
    await ctx.db.delete(q._id);
    await recordQuotaChange(ctx.db, userId, Date.now());
    return { deleted: true };
  },
});
