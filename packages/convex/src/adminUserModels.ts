/**
 * llmmeter:userModels: what one user spent on each model in a window, and
 * when the user was first seen. Aggregates hold no (user, model) scope, so
 * this reads the user's own usage rows through by_user_id_and_timestamp,
 * newest first, at most MAX_USER_ROWS of them; `truncated` says when the
 * window held more (the sums then cover the newest rows only). The embedded
 * engine answers the same (sqlitestore/admin_user_models.go), pinned by
 * contract/cases/25_user_models.json.
 */
import { type Infer, v } from "convex/values";
import type { DatabaseReader, Id } from "./server";
import type { AdminBuilders } from "./lib/auth";
import { checkWindow } from "./lib/window";
import { nanosToUsd } from "./lib/money";
import { notFound } from "./lib/errors";
import { idOf } from "./admin";

/** Usage rows one call reads at most (well inside Convex's 16 MiB / 32k documents). */
export const MAX_USER_ROWS = 4_000;

const vUserModel = v.object({
  model: v.string(),
  generations: v.number(),
  promptTokens: v.number(),
  completionTokens: v.number(),
  totalTokens: v.number(),
  cachedTokens: v.number(),
  reasoningTokens: v.number(),
  costNanoUsd: v.number(),
  costUsd: v.number(),
});

/**
 * Per-model sums of the user's usage rows with from <= timestamp < to,
 * sorted by costNanoUsd descending then model ascending; firstSeenAt is the
 * earliest timestamp of any of the user's rows (usage, request log,
 * activity), whatever the window, null if none.
 */
export const userModels = (b: AdminBuilders) => b.query({
  args: { userId: v.string(), from: v.number(), to: v.number() },
  returns: v.object({ models: v.array(vUserModel), truncated: v.boolean(), firstSeenAt: v.union(v.number(), v.null()) }),
  handler: async (ctx, args) => {
    checkWindow(args.from, args.to);
    const userId = idOf(ctx, "llmmeterUsers", args.userId, "userId");
    if (!(await ctx.db.get(userId))) notFound("userId: no such user");
    const rows = await ctx.db
      .query("usageTracking")
      .withIndex("by_user_id_and_timestamp", (q) => q.eq("userId", userId).gte("timestamp", args.from).lt("timestamp", args.to))
      .order("desc")
      .take(MAX_USER_ROWS + 1);
    const truncated = rows.length > MAX_USER_ROWS;
    const by = new Map<string, Infer<typeof vUserModel>>();
    for (const r of rows.slice(0, MAX_USER_ROWS)) {
      let m = by.get(r.model);
      if (!m) {
        m = { model: r.model, generations: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, cachedTokens: 0, reasoningTokens: 0, costNanoUsd: 0, costUsd: 0 };
        by.set(r.model, m);
      }
      m.generations += 1;
      m.promptTokens += r.promptTokens;
      m.completionTokens += r.completionTokens;
      m.totalTokens += r.totalTokens;
      m.cachedTokens += r.cachedTokens;
      m.reasoningTokens += r.reasoningTokens;
      m.costNanoUsd += r.costNanoUsd; // integers below 2^53: exact
    }
    const models = [...by.values()]
      .map((m) => ({ ...m, costUsd: nanosToUsd(m.costNanoUsd) }))
      .sort((a, b) => b.costNanoUsd - a.costNanoUsd || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
    return { models, truncated, firstSeenAt: await firstSeen(ctx.db, userId) };
  },
});

/** The earliest timestamp among the user's usage, request-log and activity rows. */
async function firstSeen(db: DatabaseReader, userId: Id<"llmmeterUsers">): Promise<number | null> {
  const firsts = await Promise.all(
    (["usageTracking", "requestLogs", "userActivity"] as const).map((t) =>
      db.query(t).withIndex("by_user_id_and_timestamp", (q) => q.eq("userId", userId)).order("asc").first(),
    ),
  );
  const ts = firsts.flatMap((d) => (d ? [d.timestamp] : []));
  return ts.length ? Math.min(...ts) : null;
}
