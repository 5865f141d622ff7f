/** Internal user functions behind /users/ensure and /users/get. */
import type { Doc, Id, MutationCtx } from "./server";
import { signedMutation } from "./lib/nonces";
import { internalQuery } from "./server";
import { badRequest, paginated } from "./lib/errors";
import { insertDoc } from "./lib/optional";
import { searchKeys } from "./lib/userSearch";
import { usersEnsureBody, usersGetBody, usersSearchKeysBackfillBody } from "./lib/wire";
import { v } from "convex/values";

export function userView(u: Doc<"llmmeterUsers">) {
  return {
    id: u._id,
    clerkUserId: u.clerkUserId ?? null,
    externalId: u.externalId ?? null,
    email: u.email ?? null,
    name: u.name ?? null,
    role: u.role ?? null,
    createdAt: u.createdAt,
  };
}

type EnsureArgs = { clerkUserId?: string | undefined; externalId?: string | undefined; email?: string | undefined; name?: string | undefined };

/**
 * Finds the user by clerkUserId or externalId (exactly one must be given) or
 * creates it; email/name given are stored (updated if changed).
 */
export async function ensureUser(ctx: MutationCtx, args: EnsureArgs): Promise<{ userId: Id<"llmmeterUsers">; created: boolean }> {
  if ((args.clerkUserId === undefined) === (args.externalId === undefined)) {
    badRequest("exactly one of clerkUserId and externalId is required");
  }
  const existing =
    args.clerkUserId !== undefined
      ? await ctx.db
          .query("llmmeterUsers")
          .withIndex("by_clerk_user_id", (q) => q.eq("clerkUserId", args.clerkUserId))
          .first()
      : await ctx.db
          .query("llmmeterUsers")
          .withIndex("by_external_id", (q) => q.eq("externalId", args.externalId))
          .first();
  if (existing) {
    const patch: Partial<Doc<"llmmeterUsers">> = {};
    if (args.email !== undefined && args.email !== existing.email) patch.email = args.email;
    if (args.name !== undefined && args.name !== existing.name) patch.name = args.name;
    Object.assign(patch, staleKeys({ ...existing, ...patch }));
    if (Object.keys(patch).length > 0) await ctx.db.patch(existing._id, patch);
    return { userId: existing._id, created: false };
  }
  const userId = await insertDoc(ctx.db, "llmmeterUsers", {
    clerkUserId: args.clerkUserId,
    externalId: args.externalId,
    email: args.email,
    name: args.name,
    role: "user",
    createdAt: Date.now(),
    ...searchKeys(args),
  });
  return { userId, created: true };
}

/**
 * /users/ensure: {userId, created, user}. The user comes with the answer so
 * that the gateway's first call of a new end user makes one round trip
 * here, not a second one to /users/get.
 */
export const ensure = signedMutation({
  args: usersEnsureBody.fields,
  handler: async (ctx, args) => {
    const r = await ensureUser(ctx, args);
    return { ...r, user: userView((await ctx.db.get(r.userId))!) };
  },
});

/** Returns {user} or {user: null} when the id is a users id with no document. */
export const get = internalQuery({
  args: usersGetBody.fields,
  handler: async (ctx, args) => {
    const id = ctx.db.normalizeId("llmmeterUsers", args.userId);
    if (id === null) badRequest("userId: not a users id");
    const u = await ctx.db.get(id);
    return { user: u ? userView(u) : null };
  },
});


/** The search keys of u that differ from what its fields give (none when up to date). */
function staleKeys(u: Doc<"llmmeterUsers">): Partial<Doc<"llmmeterUsers">> {
  const out: Partial<Doc<"llmmeterUsers">> = {};
  for (const [k, want] of Object.entries(searchKeys(u)) as [keyof ReturnType<typeof searchKeys>, string | undefined][]) {
    if (want !== undefined && u[k] !== want) out[k] = want;
  }
  return out;
}

/** Users one backfill call reads: well inside a mutation's read and write limits. */
export const BACKFILL_PAGE = 500;

/**
 * Gives users stored before the search keys existed their keys, one page a
 * call (POST /users/searchkeys/backfill): the Go fold job calls it page by
 * page once per process until isDone. Safe to rerun and to run beside
 * ingest: ensureUser writes the same keys.
 */
export const backfillUserSearchKeys = signedMutation({
  args: usersSearchKeysBackfillBody.fields,
  returns: v.object({ cursor: v.string(), isDone: v.boolean(), patched: v.number() }),
  handler: async (ctx, args) => {
    const cursor = args.cursor ?? null;
    const page = await paginated(cursor, "cursor", () => ctx.db.query("llmmeterUsers").paginate({ numItems: BACKFILL_PAGE, cursor }));
    let patched = 0;
    for (const u of page.page) {
      const patch = staleKeys(u);
      if (Object.keys(patch).length === 0) continue;
      await ctx.db.patch(u._id, patch);
      patched++;
    }
    return { cursor: page.continueCursor, isDone: page.isDone, patched };
  },
});
