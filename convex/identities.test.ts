/**
 * The identity corpus (../../contract/identities.json) against the Convex
 * backend: each case's settings as deployment env vars, its claims as the
 * identity, through a real admin function's access check. The Go runner is
 * internal/auth/identities_test.go (real signed tokens through auth.Clerk).
 *
 * `aud` is checked by Convex itself before a function runs: a token passes
 * when its aud holds the provider's applicationID (auth.config.ts, from
 * CLERK_AUDIENCE). convex-test does not verify tokens, so "refused" cases
 * are held to that documented rule with the applicationID auth.config.ts
 * computes for the case's env; the others run through llmmeter:alerts.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { paginationOptsValidator } from "convex/server";
import { ConvexError, v } from "convex/values";
import { api } from "./_generated/api";
import { audience } from "./auth.config";
import { adminRuleFrom, isAdmin, validateArgs } from "../packages/convex/src/lib/auth";
import { newBackend } from "./test.setup";

type Case = { name: string; env?: Record<string, string>; claims: Record<string, unknown>; expect: "admin" | "user" | "refused" };
const corpus = Object.values(import.meta.glob("../contract/identities.json", { eager: true, import: "default" }))[0] as {
  cases: Case[];
};

afterEach(() => vi.unstubAllEnvs());

/** What Convex does with aud (AuthProvider.applicationID: "must have this application ID in their audiences"). */
function audienceAccepted(aud: unknown, applicationID: string): boolean {
  return Array.isArray(aud) ? aud.includes(applicationID) : aud === applicationID;
}

describe("identity corpus", () => {
  test("has cases", () => expect(corpus.cases.length).toBeGreaterThan(10));

  test.each(corpus.cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const env = c.env ?? {};
    for (const name of ["ADMIN_ROLE_CLAIM", "CLERK_ORG_ADMIN", "CLERK_AUDIENCE"]) vi.stubEnv(name, env[name] ?? "");
    // Every CLERK_AUDIENCE case names it; without it Convex still wants "convex".
    const { aud, ...claims } = c.claims;
    if (env.CLERK_AUDIENCE !== undefined && !audienceAccepted(aud, audience(process.env))) {
      expect(c.expect).toBe("refused");
      return;
    }
    const t = newBackend();
    let got: string;
    try {
      await t.withIdentity({ subject: "user_1", issuer: "https://clerk.test", ...claims }).query(api.llmmeter.alerts, {});
      got = "admin";
    } catch (e) {
      if (!(e instanceof ConvexError)) throw e;
      expect(e.data.code).toBe("forbidden");
      got = "user";
    }
    expect(got).toBe(c.expect);
    // The pure rule agrees with what the function did.
    const rule = adminRuleFrom(env);
    expect(typeof rule).toBe("object");
    expect(isAdmin(claims, rule as Exclude<typeof rule, string>)).toBe(got === "admin");
  });
});

describe("settings", () => {
  test("CLERK_AUDIENCE sets auth.config's applicationID; default convex", () => {
    expect(audience({})).toBe("convex");
    expect(audience({ CLERK_AUDIENCE: "" })).toBe("convex");
    expect(audience({ CLERK_AUDIENCE: "chat-app" })).toBe("chat-app");
  });

  test.each([
    // [ADMIN_ROLE_CLAIM, CLERK_ORG_ADMIN, problem or null]
    ["", "", null],
    ["role=admin", "true", null],
    ["role", "", "ADMIN_ROLE_CLAIM"],
    ["=admin", "", "ADMIN_ROLE_CLAIM"],
    ["role=", "", "ADMIN_ROLE_CLAIM"],
    ["role=admin", "maybe", "CLERK_ORG_ADMIN"],
  ])("ADMIN_ROLE_CLAIM=%j CLERK_ORG_ADMIN=%j", (claim, org, problem) => {
    const rule = adminRuleFrom({ ADMIN_ROLE_CLAIM: claim, CLERK_ORG_ADMIN: org });
    if (problem === null) expect(typeof rule).toBe("object");
    else expect(rule).toContain(problem);
  });

  test("a bad setting refuses admin calls as misconfigured, never as a grant", async () => {
    vi.stubEnv("ADMIN_ROLE_CLAIM", "role");
    const t = newBackend();
    await expect(t.withIdentity({ subject: "u", role: "admin" }).query(api.llmmeter.alerts, {})).rejects.toMatchObject({
      data: { code: "misconfigured" },
    });
  });
});

/**
 * lib/auth.ts validates admin arguments itself, after the role check, so it
 * must refuse what Convex's own validators refuse (contract case
 * 16_bad_arguments runs the real functions; these pin the edges).
 */
describe("validateArgs has Convex's validator semantics", () => {
  const page = paginationOptsValidator;
  const validators = { from: v.number(), kind: v.optional(v.union(v.literal("a"), v.literal("b"))), paginationOpts: v.optional(page) };
  test.each([
    // [args, ok]
    [{ from: 1 }, true],
    [{ from: 1, kind: "b" }, true],
    [{ from: 1, paginationOpts: { numItems: 5, cursor: null } }, true],
    // a required field missing
    [{}, false],
    // the wrong type
    [{ from: "1" }, false],
    // optional means absent, not null
    [{ from: 1, kind: null }, false],
    // a literal outside the union
    [{ from: 1, kind: "c" }, false],
    // an extra field, at the top and nested
    [{ from: 1, extra: true }, false],
    [{ from: 1, paginationOpts: { numItems: 5, cursor: null, extra: 1 } }, false],
    // a nested required field missing
    [{ from: 1, paginationOpts: { numItems: 5 } }, false],
  ] as const)("%j → %s", (args, ok) => {
    if (ok) expect(() => validateArgs(validators, args)).not.toThrow();
    else expect(() => validateArgs(validators, args)).toThrow(/^ArgumentValidationError: /);
  });
});
