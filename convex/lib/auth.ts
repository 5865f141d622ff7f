/**
 * Admin access for public functions: a custom function builder in the style
 * of convex-helpers' customQuery/customMutation, written locally.
 *
 * Every function built with adminQuery/adminMutation checks, in this order:
 * 1. `ctx.auth.getUserIdentity()`: none → ConvexError({code: "unauthenticated"});
 * 2. the admin rule ({@link isAdmin}) → ConvexError({code: "forbidden"});
 * 3. the arguments against the function's validators (an
 *    "ArgumentValidationError", without code, as Convex's own);
 * then runs the handler with the identity as `ctx.identity`. The role check
 * comes before the arguments so that a caller who is not an admin learns
 * nothing about them (issue 11 §6); that is why the functions are registered
 * without `args` and validated here, with Convex's validator semantics. The
 * embedded engine (internal/adminapi) refuses in the same order.
 * No argument is ever trusted for authorization.
 */
import type { UserIdentity } from "convex/server";
import { v, type GenericValidator, type ObjectType, type PropertyValidators } from "convex/values";
import { mutation, query, type MutationCtx, type QueryCtx } from "../_generated/server";
import { fail } from "./errors";

export type AdminQueryCtx = QueryCtx & { identity: UserIdentity };
export type AdminMutationCtx = MutationCtx & { identity: UserIdentity };

/**
 * The one admin rule, the same as the Go service's (internal/auth AdminRule)
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
export function adminRuleFrom(env: { ADMIN_ROLE_CLAIM?: string; CLERK_ORG_ADMIN?: string }): AdminRule | string {
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
  const o = claims.o;
  if (o !== null && typeof o === "object" && !Array.isArray(o) && (o as Record<string, unknown>).rol === "admin") return true;
  return claims.org_role === "org:admin";
}

/** The caller's identity if it is an admin; throws unauthenticated / forbidden (or misconfigured) otherwise. */
export async function requireAdmin(ctx: { auth: QueryCtx["auth"] }): Promise<UserIdentity> {
  const identity = await ctx.auth.getUserIdentity();
  if (identity === null) fail("unauthenticated", "sign in required");
  const rule = adminRuleFrom({ ADMIN_ROLE_CLAIM: process.env.ADMIN_ROLE_CLAIM, CLERK_ORG_ADMIN: process.env.CLERK_ORG_ADMIN });
  if (typeof rule === "string") fail("misconfigured", rule);
  if (!isAdmin(identity as Record<string, unknown>, rule)) fail("forbidden", "admin role required");
  return identity;
}

/**
 * Checks args against validators with Convex's semantics (extra fields and
 * missing required ones are errors, optional means absent, not null) and
 * throws Convex's "ArgumentValidationError" (no ConvexError data) naming the
 * first problem.
 */
export function validateArgs(validators: PropertyValidators, args: unknown): void {
  const problem = conform(v.object(validators), args ?? {}, "");
  if (problem !== null) throw new Error(`ArgumentValidationError: ${problem}`);
}

function conform(validator: GenericValidator, value: unknown, path: string): string | null {
  const at = path === "" ? "" : ` at ${path}`;
  const val = validator as any;
  const bad = () => `Value does not match validator${at}: ${val.kind} expected, got ${JSON.stringify(value) ?? "undefined"}`;
  switch (val.kind) {
    case "any":
      return null;
    case "string":
    case "id": // ids of admin functions are taken as strings and checked by the handler
      return typeof value === "string" ? null : bad();
    case "float64":
      return typeof value === "number" ? null : bad();
    case "int64":
      return typeof value === "bigint" ? null : bad();
    case "boolean":
      return typeof value === "boolean" ? null : bad();
    case "null":
      return value === null ? null : bad();
    case "literal":
      return value === val.value ? null : bad();
    case "union":
      return (val.members as GenericValidator[]).some((m) => conform(m, value, path) === null) ? null : bad();
    case "array":
      if (!Array.isArray(value)) return bad();
      for (let i = 0; i < value.length; i++) {
        const p = conform(val.element, value[i], `${path}[${i}]`);
        if (p !== null) return p;
      }
      return null;
    case "object": {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return bad();
      const fields = val.fields as Record<string, GenericValidator>;
      for (const key of Object.keys(value)) {
        if (!(key in fields) && (value as any)[key] !== undefined) return `Object contains extra field \`${key}\` that is not in the validator${at}`;
      }
      for (const [key, field] of Object.entries(fields)) {
        const x = (value as any)[key];
        if (x === undefined) {
          if ((field as any).isOptional !== "optional") return `Object is missing the required field \`${key}\`${at}`;
          continue;
        }
        const p = conform(field, x, path === "" ? key : `${path}.${key}`);
        if (p !== null) return p;
      }
      return null;
    }
    default:
      return `validator kind ${val.kind} is not supported by lib/auth.ts`;
  }
}

/** A public query that only admins may call; args are checked after the role. */
export function adminQuery<Args extends PropertyValidators, Output>(def: {
  args: Args;
  handler: (ctx: AdminQueryCtx, args: ObjectType<Args>) => Promise<Output>;
}) {
  return query({
    handler: async (ctx, args: ObjectType<Args>): Promise<Output> => {
      const identity = await requireAdmin(ctx);
      validateArgs(def.args, args);
      return await def.handler({ ...ctx, identity }, args);
    },
  });
}

/** A public mutation that only admins may call; args are checked after the role. */
export function adminMutation<Args extends PropertyValidators, Output>(def: {
  args: Args;
  handler: (ctx: AdminMutationCtx, args: ObjectType<Args>) => Promise<Output>;
}) {
  return mutation({
    handler: async (ctx, args: ObjectType<Args>): Promise<Output> => {
      const identity = await requireAdmin(ctx);
      validateArgs(def.args, args);
      return await def.handler({ ...ctx, identity }, args);
    },
  });
}
