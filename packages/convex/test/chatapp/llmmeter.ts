/** The chat app's one re-export file, with its own admin check: a flag on its own users table. */
import { llmmeter } from "../../src";

export const { overview, ingestBatch, recordActivity, ensureUser, foldPending, foldApply } = llmmeter({
  isAdmin: async (ctx, identity) => {
    const me = await ctx.db
      .query("users")
      .withIndex("by_clerk_id", (q) => q.eq("clerkId", identity.subject))
      .unique();
    return me?.isAdmin === true;
  },
});
