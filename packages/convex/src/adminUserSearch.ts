/**
 * llmmeter:searchUsers: the users whose name, email or id (externalId, else
 * clerkUserId) starts with the query, ignoring the case of ASCII letters
 * (lib/userSearch.ts), so an admin reaches any user, not only the top 50.
 *
 * Order: by the key that matched (the smallest, when several fields of a
 * user match), then by user id. Each field is one index range of at most
 * `limit` documents, so the read is O(limit), never O(users); and the
 * merge is exact: a user among the first `limit` overall is among the first
 * `limit` of the range its smallest matching key is in. Among equal keys an
 * index range goes in creation order, so where more users than `limit`
 * share the key at the cut, which of them come back is the engine's choice.
 * The embedded engine answers the same (internal/store/sqlitestore/
 * admin_user_search.go); contract case 36_search_users pins both.
 */
import { v } from "convex/values";
import type { Doc } from "./server";
import type { AdminBuilders } from "./lib/auth";
import { vUserView } from "./lib/results";
import { queryKey } from "./lib/userSearch";
import { limitOf } from "./admin";
import { userView } from "./users";

const INDEXES = [
  ["by_name_key", "nameKey"],
  ["by_email_key", "emailKey"],
  ["by_id_key", "idKey"],
] as const;

export const searchUsers = (b: AdminBuilders) => b.query({
  args: { query: v.string(), limit: v.optional(v.number()) },
  returns: v.array(vUserView),
  handler: async (ctx, args) => {
    const key = queryKey(args.query);
    const limit = limitOf(args.limit, 20, 50);
    const found = new Map<string, { doc: Doc<"llmmeterUsers">; key: string }>();
    for (const [index, field] of INDEXES) {
      const docs = await ctx.db
        .query("llmmeterUsers")
        .withIndex(index, (q) => q.gte(field, key))
        .take(limit);
      for (const doc of docs) {
        const k = doc[field];
        if (k === undefined || !k.startsWith(key)) break; // past the prefix: the range is sorted
        const seen = found.get(doc._id);
        if (!seen || k < seen.key) found.set(doc._id, { doc, key: k });
      }
    }
    return [...found.values()]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.doc._id < b.doc._id ? -1 : a.doc._id > b.doc._id ? 1 : 0))
      .slice(0, limit)
      .map((f) => userView(f.doc));
  },
});
