/**
 * llmmeter:userMonthCosts: what each of up to MAX_MONTH_COST_USERS users
 * spent in one month of the reporting time zone, for the Users page's "cost
 * this month" column (issue 16 §5). The top lists of the period summaries
 * name only each period's top 100, so a listed user's month total is read
 * exactly from the fold's monthly user row: one index range per user, so
 * the read is O(users asked) and never O(all users). The embedded engine
 * answers the same (internal/store/sqlitestore/admin_user_month_costs.go);
 * contract case 35_user_month_costs pins both.
 *
 * A user id that names no user (or a user with no usage that month) answers
 * zeros: the column says "nothing spent", and reading every users document
 * to tell the two apart would double the reads.
 */
import { v } from "convex/values";
import type { AdminBuilders } from "./lib/auth";
import { badRequest } from "./lib/errors";
import { reportingCalendar } from "./lib/periods";
import { readAggregates, ReadBudget, totalsOf } from "./lib/window";
import { idOf } from "./admin";
import { monthWindow } from "./adminStatement";

/** Most users one call answers: a page of the Users table (topUsers' limit). */
export const MAX_MONTH_COST_USERS = 100;

export const vUserMonthCosts = v.object({
  month: v.string(),
  from: v.number(),
  to: v.number(),
  users: v.array(
    v.object({ userId: v.string(), requests: v.number(), totalTokens: v.number(), costNanoUsd: v.number(), costUsd: v.number() }),
  ),
});

/** Each user's totals in the month "YYYY-MM", in the order asked. */
export const userMonthCosts = (b: AdminBuilders) => b.query({
  args: { month: v.string(), userIds: v.array(v.string()) },
  returns: vUserMonthCosts,
  handler: async (ctx, args) => {
    const { from, to } = monthWindow(reportingCalendar(), args.month);
    if (args.userIds.length > MAX_MONTH_COST_USERS) badRequest(`userIds: at most ${MAX_MONTH_COST_USERS}`);
    const ids = args.userIds.map((raw, i) => idOf(ctx, "llmmeterUsers", raw, `userIds[${i}]`));
    const budget = new ReadBudget();
    const users = [];
    for (const [i, userId] of ids.entries()) {
      const t = totalsOf(await readAggregates(ctx, budget, { scope: "user", period: "monthly", from, to, userId }));
      users.push({ userId: args.userIds[i]!, requests: t.requests, totalTokens: t.totalTokens, costNanoUsd: t.costNanoUsd, costUsd: t.costUsd });
    }
    return { month: args.month, from, to, users };
  },
});
