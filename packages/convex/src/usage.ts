/**
 * Internal functions on usage rows for the Go backfill job.
 *
 * `usage:confirm` (behind POST /jobs/usage/confirm) upgrades a usage row
 * whose cost was estimated to the tokens and cost of OpenRouter's generation
 * record, marks it "confirmed" and moves, in the same transaction, every
 * aggregate row the usage row feeds (4 periods × system, user, model; shard
 * 0, as the fold writes), the period summaries (rollup.Summary.Adjust: the
 * model's entry, the user's top-list entry if listed; the fold version moves)
 * and the quota counters of its current window by the difference.
 * Idempotent: a row already confirmed (or reported) is left alone and the
 * answer is {confirmed: false}; so is a row the fold has not counted yet.
 */
import { v } from "convex/values";
import { internalMutation } from "./server";
import { addToAggregate, zeroCounters } from "./lib/aggregates";
import { adjustBudgetShard, shardOf } from "./lib/budgetShards";
import { nanosToUsd } from "./lib/money";
import { PERIODS, reportingCalendar } from "./lib/periods";
import { exactUsed, QUOTA_PERIOD, quotasOfUser, systemBudget, usedFields } from "./lib/quotas";
import { nonNegInt, str } from "./lib/shape";
import { adjustSummary } from "./lib/summaries";
import { foldState } from "./fold";

export const usageConfirmBody = v.object({
  generationId: str(256),
  promptTokens: nonNegInt(),
  completionTokens: nonNegInt(),
  totalTokens: nonNegInt(),
  cachedTokens: nonNegInt(),
  reasoningTokens: nonNegInt(),
  costNanoUsd: nonNegInt(),
});

export const confirm = internalMutation({
  args: usageConfirmBody.fields,
  handler: async (ctx, args) => {
    const row = await ctx.db
      .query("usageTracking")
      .withIndex("by_generation_id", (q) => q.eq("generationId", args.generationId))
      .unique();
    // A row not folded yet is left for a later run: the fold may have read
    // its old values already, and moving summaries now would count the
    // difference twice or not at all.
    if (!row || row.costStatus !== "estimated" || row.unfolded) return { confirmed: false };
    const now = Date.now();
    const { generationId: _g, ...fields } = args;
    const d = zeroCounters();
    d.promptTokens = args.promptTokens - row.promptTokens;
    d.completionTokens = args.completionTokens - row.completionTokens;
    d.totalTokens = args.totalTokens - row.totalTokens;
    d.cachedTokens = args.cachedTokens - row.cachedTokens;
    d.reasoningTokens = args.reasoningTokens - row.reasoningTokens;
    d.totalCostNanoUsd = args.costNanoUsd - row.costNanoUsd;
    const usd = nanosToUsd(args.costNanoUsd);
    await ctx.db.patch(row._id, { ...fields, costInUSD: usd, costInCredits: usd, costStatus: "confirmed" });

    const cal = reportingCalendar();
    const periods = cal.periodsOf(row.timestamp);
    for (const p of PERIODS) {
      const { periodKey, periodStart } = periods[p];
      const at = { period: p, periodStart, shard: 0 };
      await addToAggregate(ctx.db, { scope: "system", ...at }, periodKey, d, [row.model], now);
      await addToAggregate(ctx.db, { scope: "user", userId: row.userId, ...at }, periodKey, d, [row.model], now);
      await addToAggregate(ctx.db, { scope: "model", model: row.model, ...at }, periodKey, d, [row.model], now);
      await adjustSummary(ctx.db, p, periodStart, row.userId, row.model, d);
    }
    // A fold that read the summaries before this adjustment must lose its
    // compare-and-set rather than overwrite it.
    const fs = await foldState(ctx);
    if (fs) await ctx.db.patch(fs._id, { version: fs.version + 1 });
    else await ctx.db.insert("foldState", { version: 1 });

    // Quota counters move only if the row is inside the quota's current window.
    const quotas = [...(await quotasOfUser(ctx.db, row.userId))];
    const budget = await systemBudget(ctx.db);
    if (budget) quotas.push(budget);
    let quotasAdjusted = 0;
    for (const q of quotas) {
      if (!q.isActive) continue;
      const delta =
        q.quotaType === "monthly_tokens"
          ? d.totalTokens
          : q.quotaType === "monthly_cost_usd" || q.quotaType === "system_monthly_cost_usd"
            ? d.totalCostNanoUsd
            : 0;
      if (delta === 0) continue;
      const windowStart = cal.periodOf(QUOTA_PERIOD[q.quotaType], q.resetDate - 1).periodStart;
      if (row.timestamp < windowStart || row.timestamp >= q.resetDate) continue;
      if (q.quotaType === "system_monthly_cost_usd") {
        // The budget's counter is spread (lib/budgetShards.ts): move one shard.
        await adjustBudgetShard(ctx.db, q._id, shardOf(row.generationId), q.resetDate, delta, now);
        quotasAdjusted++;
        continue;
      }
      await ctx.db.patch(q._id, { ...usedFields(q.quotaType, Math.max(0, exactUsed(q) + delta)), updatedAt: now });
      quotasAdjusted++;
    }
    return { confirmed: true, quotasAdjusted };
  },
});
