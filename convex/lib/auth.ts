/**
 * Admin access for public functions: a custom function builder in the style
 * of convex-helpers' customQuery/customMutation, written locally.
 *
 * Every function built with adminQuery/adminMutation first checks
 * `ctx.auth.getUserIdentity()`:
 * - no identity → ConvexError({code: "unauthenticated", message});
 * - identity without the flat claim `role === "admin"` → ConvexError({code: "forbidden", message}).
 * The claim comes from Clerk's session token customization
 * `{"role": "{{user.public_metadata.role}}"}` (see auth.config.ts).
 * The handler receives the identity as `ctx.identity`; no argument is ever
 * trusted for authorization.
 */
import type { UserIdentity } from "convex/server";
import type { ObjectType, PropertyValidators } from "convex/values";
import { mutation, query, type MutationCtx, type QueryCtx } from "../_generated/server";
import { fail } from "./errors";

export type AdminQueryCtx = QueryCtx & { identity: UserIdentity };
export type AdminMutationCtx = MutationCtx & { identity: UserIdentity };

/** The caller's identity if it is an admin; throws unauthenticated / forbidden otherwise. */
export async function requireAdmin(ctx: { auth: QueryCtx["auth"] }): Promise<UserIdentity> {
  const identity = await ctx.auth.getUserIdentity();
  if (identity === null) fail("unauthenticated", "sign in required");
  if ((identity as Record<string, unknown>).role !== "admin") fail("forbidden", "admin role required");
  return identity;
}

/** A public query that only admins may call. */
export function adminQuery<Args extends PropertyValidators, Output>(def: {
  args: Args;
  handler: (ctx: AdminQueryCtx, args: ObjectType<Args>) => Promise<Output>;
}) {
  return query({
    args: def.args,
    handler: async (ctx, args: ObjectType<Args>): Promise<Output> => {
      const identity = await requireAdmin(ctx);
      return await def.handler({ ...ctx, identity }, args);
    },
  });
}

/** A public mutation that only admins may call. */
export function adminMutation<Args extends PropertyValidators, Output>(def: {
  args: Args;
  handler: (ctx: AdminMutationCtx, args: ObjectType<Args>) => Promise<Output>;
}) {
  return mutation({
    args: def.args,
    handler: async (ctx, args: ObjectType<Args>): Promise<Output> => {
      const identity = await requireAdmin(ctx);
      return await def.handler({ ...ctx, identity }, args);
    },
  });
}
