/**
 * The store side of the Go fold (internal/fold), behind the signed routes
 * /jobs/fold/pending and /jobs/fold/apply. Nothing here derives a value:
 * pending lists rows ingest marked unfolded, apply stores the deltas Go
 * computed from them.
 *
 * apply is a compare-and-set: every row it names must still be unfolded,
 * else it throws ConvexError({code: "conflict"}) and, the mutation being one
 * transaction, writes nothing. A stale or concurrent folder therefore loses
 * and re-reads, and each row is counted exactly once. Only the fold writes
 * summaries, so ingest batches never contend with each other on them.
 *
 * It also checks the fold version is the one the Go fold read the summaries
 * at (/jobs/fold/state) and replaces those summaries whole: the active-user
 * counts and top lists depend on stored totals, so Go computes them from
 * what it read (internal/rollup/summary.go) and a concurrent fold makes
 * this apply lose rather than overwrite.
 *
 * Cost of one apply of n rows, k aggregate keys and s summaries: n key
 * look-ups and n patches, k index ranges and k writes, 2s ranges and 2s
 * writes of up to ~120 KB (Go pages n ≤ 200, so k ≤ 12n; s ≤ 12).
 */
import { v } from "convex/values";
import { internalQuery, type QueryCtx } from "./server";
import { signedMutation } from "./lib/nonces";
import { addToAggregate } from "./lib/aggregates";
import { prepareAggregateRow } from "./lib/aggregateRows";
import { badRequest, fail } from "./lib/errors";
import { reportingCalendar } from "./lib/periods";
import { intIn, nonNegInt, str } from "./lib/shape";
import { aggregateUpsertRow, summaryRow } from "./lib/wire";
import { checkSummary, readSummary, readUserRow, replaceSummary } from "./lib/summaries";
import { vPeriod } from "./lib/validators";

/** Bounds of one fold: rows per pending page and per apply, aggregate keys per apply. */
export const MAX_FOLD_ROWS = 1000;
export const MAX_FOLD_AGGREGATES = 8000;

export const foldPendingBody = v.object({ limit: intIn(1, MAX_FOLD_ROWS) });
export const foldVersionBody = v.object({});

/** The foldState document, if any fold applied yet. */
export async function foldState(ctx: QueryCtx) {
  return await ctx.db.query("foldState").first();
}

/** The number of fold applies so far: {version}. */
export const version = internalQuery({
  args: foldVersionBody.fields,
  handler: async (ctx) => ({ version: (await foldState(ctx))?.version ?? 0 }),
});

export const foldApplyBody = v.object({
  usage: v.array(str(256)),
  requestLogs: v.array(str(256)),
  activity: v.array(str(256)),
  aggregates: v.array(aggregateUpsertRow),
  /** Whole summaries of the periods the deltas touch (rollup.Summarize), replacing the stored ones. */
  summaries: v.array(summaryRow),
  /** The fold version the summaries were computed at (from /jobs/fold/state): the apply's compare-and-set. */
  version: nonNegInt(),
});

/** Bounds of one state read: index ranges stay well under Convex's 4,096. */
export const MAX_STATE_PERIODS = 64;
export const MAX_STATE_USERS = 3000;
export const MAX_FOLD_SUMMARIES = 64;

export const foldStateBody = v.object({
  periods: v.array(v.object({ period: vPeriod, periodStart: nonNegInt() })),
  users: v.array(v.object({ userId: str(64), period: vPeriod, periodStart: nonNegInt() })),
});

/**
 * What rollup.Summarize needs for a batch of deltas: the stored summaries of
 * its periods, the touched users' period totals, and the fold version, read
 * in one snapshot (rollup.SummaryState).
 */
export const state = internalQuery({
  args: foldStateBody.fields,
  handler: async (ctx, args) => {
    if (args.periods.length > MAX_STATE_PERIODS) badRequest(`periods: at most ${MAX_STATE_PERIODS}`);
    if (args.users.length > MAX_STATE_USERS) badRequest(`users: at most ${MAX_STATE_USERS}`);
    const summaries = [];
    for (const p of args.periods) {
      const s = await readSummary(ctx.db, p.period, p.periodStart);
      if (s) summaries.push(s);
    }
    const users = [];
    for (const [i, u] of args.users.entries()) {
      const id = ctx.db.normalizeId("llmmeterUsers", u.userId);
      if (id === null) badRequest(`users[${i}].userId: not a users id`);
      const row = await readUserRow(ctx.db, id, u.period, u.periodStart);
      if (row) users.push(row);
    }
    return { version: (await foldState(ctx))?.version ?? 0, summaries, users };
  },
});

/** At most `limit` unfolded rows, usage first, then request logs, then activity, oldest first. */
export const pending = internalQuery({
  args: foldPendingBody.fields,
  handler: async (ctx, args) => {
    let left = args.limit;
    const usage = await ctx.db
      .query("usageTracking")
      .withIndex("by_unfolded", (q) => q.eq("unfolded", true))
      .take(left);
    left -= usage.length;
    const requestLogs =
      left > 0
        ? await ctx.db
            .query("requestLogs")
            .withIndex("by_unfolded", (q) => q.eq("unfolded", true))
            .take(left)
        : [];
    left -= requestLogs.length;
    const activity =
      left > 0
        ? await ctx.db
            .query("userActivity")
            .withIndex("by_unfolded", (q) => q.eq("unfolded", true))
            .take(left)
        : [];
    return { usage, requestLogs, activity };
  },
});

/** Marks the named rows folded (each must be unfolded) and adds the deltas. Returns {folded, inserted, updated}. */
export const apply = signedMutation({
  args: foldApplyBody.fields,
  handler: async (ctx, args) => {
    const rows = args.usage.length + args.requestLogs.length + args.activity.length;
    if (rows > MAX_FOLD_ROWS) badRequest(`rows: at most ${MAX_FOLD_ROWS} per apply`);
    if (args.aggregates.length > MAX_FOLD_AGGREGATES) badRequest(`aggregates: at most ${MAX_FOLD_AGGREGATES} per apply`);
    if (args.summaries.length > MAX_FOLD_SUMMARIES) badRequest(`summaries: at most ${MAX_FOLD_SUMMARIES} per apply`);
    const cal = reportingCalendar();
    const summaries = args.summaries.map((s, i) => checkSummary(ctx.db, cal, s, `summaries[${i}]`));
    const prepared = [];
    for (let i = 0; i < args.aggregates.length; i++) {
      // A user deleted after ingest still has rows: the fold counts them.
      const p = await prepareAggregateRow(ctx.db, cal, args.aggregates[i]!, `aggregates[${i}]`, { deletedUserOk: true });
      if (p.key.shard !== 0) badRequest(`aggregates[${i}].shard: the fold writes shard 0`);
      prepared.push(p);
    }
    // Compare-and-set: every row still unfolded, then marked folded.
    const conflict: (what: string) => never = (what) => fail("conflict", `${what}: not an unfolded row (folded already or absent)`);
    for (const k of args.usage) {
      const d = await ctx.db.query("usageTracking").withIndex("by_generation_id", (q) => q.eq("generationId", k)).unique();
      if (d === null || d.unfolded !== true) conflict(`usage ${k}`);
      await ctx.db.patch(d._id, { unfolded: undefined });
    }
    for (const k of args.requestLogs) {
      const d = await ctx.db.query("requestLogs").withIndex("by_request_id", (q) => q.eq("requestId", k)).unique();
      if (d === null || d.unfolded !== true) conflict(`requestLog ${k}`);
      await ctx.db.patch(d._id, { unfolded: undefined });
    }
    for (const k of args.activity) {
      const d = await ctx.db.query("userActivity").withIndex("by_activity_key", (q) => q.eq("activityKey", k)).unique();
      if (d === null || d.unfolded !== true) conflict(`activity ${k}`);
      await ctx.db.patch(d._id, { unfolded: undefined });
    }
    const state = await foldState(ctx);
    if ((state?.version ?? 0) !== args.version) {
      fail("conflict", `version: the fold applied since (now ${state?.version ?? 0}, computed at ${args.version}); read again`);
    }
    if (state) await ctx.db.patch(state._id, { version: state.version + 1 });
    else await ctx.db.insert("foldState", { version: 1 });
    const now = Date.now();
    let inserted = 0;
    let updated = 0;
    for (const p of prepared) {
      if ((await addToAggregate(ctx.db, p.key, p.periodKey, p.counters, p.models, now)) === "inserted") inserted++;
      else updated++;
    }
    for (const sm of summaries) await replaceSummary(ctx.db, sm);
    return { folded: rows, inserted, updated };
  },
});

/** Most summaries per /jobs/summaries/replace call (convexstore.MaxReplaceSummaries). */
export const MAX_REPLACE_SUMMARIES = 8;

export const summariesReplaceBody = v.object({ summaries: v.array(summaryRow), foldVersion: nonNegInt() });

/**
 * The rebuild's replace of whole summaries (jobs.Rebuild, computed by
 * rollup.Summarize from rebuilt rows): only if the fold version is still
 * foldVersion, else conflict and nothing written. Returns {replaced}.
 */
export const replaceSummaries = signedMutation({
  args: summariesReplaceBody.fields,
  handler: async (ctx, args) => {
    if (args.summaries.length > MAX_REPLACE_SUMMARIES) badRequest(`summaries: at most ${MAX_REPLACE_SUMMARIES} per request`);
    const current = (await foldState(ctx))?.version ?? 0;
    if (current !== args.foldVersion) fail("conflict", `foldVersion: the fold applied since (now ${current}); rebuild again`);
    const cal = reportingCalendar();
    const checked = args.summaries.map((s, i) => checkSummary(ctx.db, cal, s, `summaries[${i}]`));
    for (const s of checked) await replaceSummary(ctx.db, s);
    return { replaced: checked.length };
  },
});
