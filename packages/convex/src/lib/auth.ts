/**
 * Admin access for public functions: convex-helpers' customQuery /
 * customMutation with the app's own admin check ({@link IsAdmin}).
 *
 * Every function built with the admin builders checks, in this order:
 * 1. `ctx.auth.getUserIdentity()`: none → ConvexError({code: "unauthenticated"});
 * 2. the app's isAdmin(ctx, identity) → ConvexError({code: "forbidden"});
 * 3. the arguments against the function's validators, with convex-helpers'
 *    `validate` (an "ArgumentValidationError", without code, as Convex's own);
 * then runs the handler with the identity as `ctx.identity`. The role check
 * comes before the arguments so that a caller who is not an admin learns
 * nothing about them (issue 11 §6, contract/cases/01_roles.json): that is
 * why the validators travel to the customization's `input` as an extra
 * field (`argsAfterRole`) instead of being registered as `args`, which
 * Convex would check before any code runs. The embedded engine
 * (internal/adminapi) refuses in the same order.
 * No argument is ever trusted for authorization.
 */
import { customMutation, customQuery } from "convex-helpers/server/customFunctions";
import { validate, ValidationError } from "convex-helpers/validators";
import type {
  GenericDataModel,
  GenericQueryCtx,
  RegisteredMutation,
  RegisteredQuery,
  UserIdentity,
} from "convex/server";
import { v, type Infer, type ObjectType, type PropertyValidators, type Validator, type Value } from "convex/values";
import { mutation, query, type MutationCtx, type QueryCtx } from "../server";
import { envVar } from "./env";
import { fail } from "./errors";

export type AdminQueryCtx = QueryCtx & { identity: UserIdentity };
export type AdminMutationCtx = MutationCtx & { identity: UserIdentity };

/**
 * The app's rule for who is an admin, given a signed-in caller's identity
 * (the JWT's claims). It may read the app's own tables through ctx.db
 * (a query context, also inside mutations). Throwing ConvexError refuses
 * the call with that error.
 */
export type IsAdmin = (ctx: GenericQueryCtx<GenericDataModel>, identity: UserIdentity) => boolean | Promise<boolean>;

/**
 * The one claim rule, the same as the Go service's (internal/auth AdminRule)
 * and held to the shared corpus contract/identities.json. Settings, with the
 * same names and defaults as the Go service's:
 * - ADMIN_ROLE_CLAIM `claim=value` (default `role=admin`): the claim is the
 *   string value, or an array holding that string, or a boolean whose text is
 *   the value (`is_admin=true` matches true). Case matters; numbers, objects
 *   and null never match.
 * - CLERK_ORG_ADMIN (default false): the organization role admin counts too,
 *   `o.rol === "admin"` (Clerk v2 tokens) or `org_role === "org:admin"` (v1).
 */
export type AdminRule = { claim: { name: string; value: string }; orgAdmin: boolean };

const TRUE = ["1", "t", "T", "TRUE", "true", "True"];
const FALSE = ["0", "f", "F", "FALSE", "false", "False"];

/** The rule from the settings (as Go's strconv.ParseBool and ParseAdminClaim read them), or a message naming the bad one. */
export function adminRuleFrom(env: { ADMIN_ROLE_CLAIM?: string | undefined; CLERK_ORG_ADMIN?: string | undefined }): AdminRule | string {
  const raw = (env.ADMIN_ROLE_CLAIM ?? "").trim() === "" ? "role=admin" : env.ADMIN_ROLE_CLAIM!;
  const eq = raw.indexOf("=");
  const name = eq < 0 ? "" : raw.slice(0, eq).trim();
  const value = eq < 0 ? "" : raw.slice(eq + 1).trim();
  if (name === "" || value === "") return `ADMIN_ROLE_CLAIM must be claim=value, such as role=admin, not ${JSON.stringify(raw)}`;
  const org = env.CLERK_ORG_ADMIN ?? "";
  if (org !== "" && !TRUE.includes(org) && !FALSE.includes(org)) {
    return `CLERK_ORG_ADMIN must be true or false, not ${JSON.stringify(org)}`;
  }
  return { claim: { name, value }, orgAdmin: TRUE.includes(org) };
}

/** Whether the claims of a verified token make its user an admin under rule. */
export function isAdmin(claims: Record<string, unknown>, rule: AdminRule): boolean {
  const matches = (x: unknown) => (typeof x === "string" || typeof x === "boolean") && String(x) === rule.claim.value;
  const c = claims[rule.claim.name];
  if (Array.isArray(c) ? c.some((x) => typeof x === "string" && x === rule.claim.value) : matches(c)) return true;
  if (!rule.orgAdmin) return false;
  const o = claims["o"];
  if (o !== null && typeof o === "object" && !Array.isArray(o) && (o as Record<string, unknown>)["rol"] === "admin") return true;
  return claims["org_role"] === "org:admin";
}

/**
 * This repository's admin rule as an {@link IsAdmin}: {@link isAdmin} under
 * the deployment's ADMIN_ROLE_CLAIM / CLERK_ORG_ADMIN settings (read per
 * call); a bad setting refuses with ConvexError({code: "misconfigured"}).
 */
export const claimIsAdmin: IsAdmin = (_ctx, identity) => {
  const rule = adminRuleFrom({ ADMIN_ROLE_CLAIM: envVar("ADMIN_ROLE_CLAIM"), CLERK_ORG_ADMIN: envVar("CLERK_ORG_ADMIN") });
  if (typeof rule === "string") fail("misconfigured", rule);
  return isAdmin(identity as unknown as Record<string, unknown>, rule);
};

/** The caller's identity if it is an admin; throws unauthenticated / forbidden otherwise. */
async function requireAdmin(ctx: QueryCtx, check: IsAdmin): Promise<UserIdentity> {
  const identity = await ctx.auth.getUserIdentity();
  if (identity === null) fail("unauthenticated", "sign in required");
  // The app's check sees the app's own tables, not just llmmeter's.
  if (!(await check(ctx as unknown as GenericQueryCtx<GenericDataModel>, identity))) fail("forbidden", "admin role required");
  return identity;
}

/**
 * Checks args against validators with Convex's semantics (extra fields and
 * missing required ones are errors, optional means absent, not null) and
 * throws Convex's "ArgumentValidationError" (no ConvexError data) naming the
 * first problem.
 */
export function validateArgs(validators: PropertyValidators, args: unknown): void {
  try {
    validate(v.object(validators), args ?? {}, { throw: true });
  } catch (e) {
    if (e instanceof ValidationError) throw new Error(`ArgumentValidationError: ${e.message}`);
    throw e;
  }
}

/** What the role check hands on: the extra field carrying the validators. */
type RoleFirst = { argsAfterRole: PropertyValidators };

/** What every admin function declares: its args and its result, both validated. */
type Returns = Validator<Value, "required", string>;

/** A definition for the admin builders: the handler is typed by args and returns. */
type AdminDef<Ctx, Args extends PropertyValidators, R extends Returns> = {
  args: Args;
  returns: R;
  handler: (ctx: Ctx, args: ObjectType<Args>) => Promise<Infer<R>>;
};

/** The admin query and mutation builders under one app's isAdmin. */
export function adminBuilders(check: IsAdmin) {
  const input = async (ctx: QueryCtx, args: Record<string, unknown>, extra: RoleFirst) => {
    const identity = await requireAdmin(ctx, check);
    validateArgs(extra.argsAfterRole, args);
    return { ctx: { identity }, args: {} };
  };
  const roleFirstQuery = customQuery(query, { args: {}, input });
  const roleFirstMutation = customMutation(mutation, { args: {}, input });
  return {
    /** A public query that only admins may call; args are checked after the role. */
    query<Args extends PropertyValidators, R extends Returns>(
      def: AdminDef<AdminQueryCtx, Args, R>,
    ) {
      const fn = roleFirstQuery({
        argsAfterRole: def.args,
        // Widened so the wrapper's result type is plain Value; the registration's type below is exact.
        returns: def.returns as Returns,
        // validateArgs has just checked the args against def.args.
        handler: (ctx, args) => def.handler(ctx, args as ObjectType<Args>),
      });
      // Registered without `args` (see the file comment); its type states what callers must send.
      return fn as unknown as RegisteredQuery<"public", ObjectType<Args>, Promise<Infer<R>>>;
    },
    /** A public mutation that only admins may call; args are checked after the role. */
    mutation<Args extends PropertyValidators, R extends Returns>(
      def: AdminDef<AdminMutationCtx, Args, R>,
    ) {
      const fn = roleFirstMutation({
        argsAfterRole: def.args,
        returns: def.returns as Returns,
        handler: (ctx, args) => def.handler(ctx, args as ObjectType<Args>),
      });
      return fn as unknown as RegisteredMutation<"public", ObjectType<Args>, Promise<Infer<R>>>;
    },
  };
}
export type AdminBuilders = ReturnType<typeof adminBuilders>;
