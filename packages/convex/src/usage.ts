/**
 * Internal functions on usage rows for the Go backfill job.
 *
 * The backfill confirms an estimated row in two steps, and Go computes
 * everything in between (rollup.Confirm, internal/rollup/confirm.go; the
 * embedded engine runs the same code):
 *   - `usage:get` (POST /jobs/usage/get) reads the row and whether it is folded;
 *   - `usage:confirm` (POST /jobs/usage/confirm) stores the record's tokens and
 *     cost on the row, adds the difference's aggregate deltas, replaces the
 *     summaries of its periods with the adjusted ones Go sends, moves the fold
 *     version, and moves each quota of the row's user (and the system budget)
 *     whose current window is the one Go names for its type.
 * Nothing here derives a value; it checks and stores.
 *
 * confirm is a compare-and-set: the row must still be estimated and folded
 * (else {confirmed: false}: confirmed already, or the fold has not counted
 * it yet) with the tokens and cost Go computed the difference from, and the
 * fold version must be the one the summaries were read at; otherwise it
 * throws ConvexError({code: "conflict"}) (HTTP 409) and writes nothing, and
 * the Go side reads again.
 */
import { v } from "convex/values";
import { internalQuery } from "./server";
import { signedMutation } from "./lib/nonces";
import { addToAggregate } from "./lib/aggregates";
import { prepareAggregateRow } from "./lib/aggregateRows";
import { adjustBudgetShard, shardOf } from "./lib/budgetShards";
import { badRequest, fail } from "./lib/errors";
import { nanosToUsd } from "./lib/money";
import { reportingCalendar } from "./lib/periods";
import { exactUsed, quotasOfUser, systemBudget, usedFields } from "./lib/quotas";
import { intIn, nonNegInt, str } from "./lib/shape";
import { checkSummary, replaceSummary } from "./lib/summaries";
import { vQuotaType } from "./lib/validators";
import { aggregateDeltaRow, summaryRow } from "./lib/wire";
import { foldState } from "./fold";

export const usageGetBody = v.object({ generationId: str(256) });

/** The row as Go computes its confirmation from it: {usage: row | null, folded}. */
export const get = internalQuery({
  args: usageGetBody.fields,
  handler: async (ctx, args) => {
    const row = await ctx.db
      .query("usageTracking")
      .withIndex("by_generation_id", (q) => q.eq("generationId", args.generationId))
      .unique();
    if (!row) return { usage: null, folded: false };
    const { _id, _creationTime, unfolded, ...usage } = row;
    return { usage, folded: unfolded !== true };
  },
});

const tokenFields = {
  promptTokens: nonNegInt(),
  completionTokens: nonNegInt(),
  totalTokens: nonNegInt(),
  cachedTokens: nonNegInt(),
  reasoningTokens: nonNegInt(),
  costNanoUsd: nonNegInt(),
};
const signedInt = intIn(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);

/** Bounds: 4 periods × (system, user, model) deltas, 4 summaries, 3 quota types. */
const MAX_CONFIRM_AGGREGATES = 12;
const MAX_CONFIRM_SUMMARIES = 4;

export const usageConfirmBody = v.object({
  generationId: str(256),
  /** The generation record's values, stored on the row. */
  ...tokenFields,
  /** The row's values Go computed the difference from (the compare-and-set), in the same shape. */
  previous: v.object({ generationId: str(256), ...tokenFields }),
  /** The difference's aggregate deltas (rollup.Confirm), added. */
  aggregates: v.array(aggregateDeltaRow),
  /** The summaries of the row's periods, adjusted (rollup.Confirmation.AdjustAll), replacing the stored ones. */
  summaries: v.array(summaryRow),
  /** The fold version the summaries were read at (/jobs/fold/state). */
  version: nonNegInt(),
  /** Per quota type: the row's window and the difference to its counter (rollup.QuotaWindow). */
  quotas: v.array(v.object({ quotaType: vQuotaType, windowStart: nonNegInt(), windowEnd: nonNegInt(), delta: signedInt })),
});

export const confirm = signedMutation({
  args: usageConfirmBody.fields,
  handler: async (ctx, args) => {
    if (args.aggregates.length > MAX_CONFIRM_AGGREGATES) badRequest(`aggregates: at most ${MAX_CONFIRM_AGGREGATES}`);
    if (args.summaries.length > MAX_CONFIRM_SUMMARIES) badRequest(`summaries: at most ${MAX_CONFIRM_SUMMARIES}`);
    const row = await ctx.db
      .query("usageTracking")
      .withIndex("by_generation_id", (q) => q.eq("generationId", args.generationId))
      .unique();
    if (args.previous.generationId !== args.generationId) badRequest("previous.generationId: not the confirmed row's");
    if (!row || row.costStatus !== "estimated" || row.unfolded) return { confirmed: false };
    for (const k of Object.keys(tokenFields) as (keyof typeof tokenFields)[]) {
      if (row[k] !== args.previous[k]) fail("conflict", `previous.${k}: the row has ${row[k]}; read it again`);
    }
    const state = await foldState(ctx);
    if ((state?.version ?? 0) !== args.version) {
      fail("conflict", `version: the fold applied since (now ${state?.version ?? 0}, read at ${args.version}); read again`);
    }
    const cal = reportingCalendar();
    const summaries = args.summaries.map((s, i) => checkSummary(ctx.db, cal, s, `summaries[${i}]`));
    const prepared = [];
    for (const [i, a] of args.aggregates.entries()) {
      const p = await prepareAggregateRow(ctx.db, cal, a, `aggregates[${i}]`, { deletedUserOk: true });
      if (p.key.shard !== 0) badRequest(`aggregates[${i}].shard: the fold writes shard 0`);
      prepared.push(p);
    }

    const now = Date.now();
    const { generationId: _g, previous: _p, aggregates: _a, summaries: _s, version: _v, quotas: windows, ...fields } = args;
    const usd = nanosToUsd(args.costNanoUsd);
    await ctx.db.patch(row._id, { ...fields, costInUSD: usd, costInCredits: usd, costStatus: "confirmed" });
    for (const p of prepared) await addToAggregate(ctx.db, p.key, p.periodKey, p.counters, p.models, now);
    for (const s of summaries) await replaceSummary(ctx.db, s);
    // A fold that read the summaries before this adjustment must lose its
    // compare-and-set rather than overwrite it.
    if (state) await ctx.db.patch(state._id, { version: state.version + 1 });
    else await ctx.db.insert("foldState", { version: 1 });

    const quotas = [...(await quotasOfUser(ctx.db, row.userId))];
    const budget = await systemBudget(ctx.db);
    if (budget) quotas.push(budget);
    let quotasAdjusted = 0;
    for (const q of quotas) {
      const w = windows.find((x) => x.quotaType === q.quotaType);
      // Only a quota whose current window is the row's (rollup.QuotaWindow.Holds):
      // an older window was reset already.
      if (!q.isActive || !w || w.delta === 0) continue;
      if (!(w.windowStart <= q.resetDate - 1 && q.resetDate - 1 < w.windowEnd && row.timestamp < q.resetDate)) continue;
      if (q.quotaType === "system_monthly_cost_usd") {
        // The budget's counter is spread (lib/budgetShards.ts): move one shard.
        await adjustBudgetShard(ctx.db, q._id, shardOf(row.generationId), q.resetDate, w.delta, now);
      } else {
        await ctx.db.patch(q._id, { ...usedFields(q.quotaType, Math.max(0, exactUsed(q) + w.delta)), updatedAt: now });
      }
      quotasAdjusted++;
    }
    return { confirmed: true, quotasAdjusted };
  },
});
