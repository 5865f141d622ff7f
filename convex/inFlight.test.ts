/**
 * Issue 14: 1,000 calls in flight across users never turn into 429s. The
 * system budget holds a reservation of every call in flight of every user,
 * so its open-reservation bound scales with load
 * (MAX_OPEN_BUDGET_RESERVATIONS), while a user's own quotas keep the
 * per-user bound (MAX_OPEN_RESERVATIONS).
 */
import { describe, expect, test } from "vitest";
import { internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { reserveQuotas, MAX_OPEN_BUDGET_RESERVATIONS, MAX_OPEN_RESERVATIONS } from "../packages/convex/src/lib/quotas";
import { reportingCalendar } from "../packages/convex/src/lib/periods";
import { type Backend, makeUsers, newBackend, post, signedAt } from "./test.setup";

const NOW = Date.UTC(2024, 0, 15, 12);
const NEXT_MONTH = Date.UTC(2024, 1, 1);

signedAt(NOW, { REPORTING_TZ: "UTC" });

/** n users, each with a monthly cost quota, and an active system budget. */
async function setup(t: Backend, n: number) {
  const users = await makeUsers(t, n);
  const budget = await t.run(async (ctx) => {
    for (const userId of users) {
      await ctx.db.insert("userQuotas", { userId, quotaType: "monthly_cost_usd", limit: 1000, limitNanoUsd: 1e12, used: 0, usedNanoUsd: 0, resetDate: NEXT_MONTH, isActive: true, updatedAt: 0 });
    }
    return await ctx.db.insert("userQuotas", { quotaType: "system_monthly_cost_usd", limit: 1e6, limitNanoUsd: 1e15, used: 0, usedNanoUsd: 0, resetDate: NEXT_MONTH, isActive: true, updatedAt: 0 });
  });
  return { users, budget };
}

/** `count` open reservations on the budget (1,000 nano-USD each), of distinct requests of the given users. */
async function openOnBudget(t: Backend, budget: Id<"userQuotas">, users: Id<"llmmeterUsers">[], count: number) {
  for (let from = 0; from < count; from += 2000) {
    await t.run(async (ctx) => {
      for (let i = from; i < Math.min(count, from + 2000); i++) {
        await ctx.db.insert("quotaReservations", { requestId: `bulk-${i}`, quotaId: budget, userId: users[i % users.length], amount: 1000, expiresAt: NOW + 600_000 });
      }
    });
  }
}

describe("calls in flight across users", () => {
  test("1,000 reservations in flight, one per user: every one admitted, none refused too_many_reservations", async () => {
    const t = newBackend();
    const { users, budget } = await setup(t, 1000);
    // 980 calls of users 20.. already in flight (seeded as reserve writes them, for pace:
    // 1,000 reserves each reading all open ones take minutes under convex-test) ...
    await openOnBudget(t, budget, users.slice(20), 980);
    // ... and the last 20 through the real function.
    for (const [i, userId] of users.slice(0, 20).entries()) {
      const r = await t.mutation(internal.llmmeter.reserveQuotas, { requestId: `call-${i}`, userId, tokens: 0, costNanoUsd: 1000, ttlMs: 600_000 });
      expect(r, `call ${i}`).toEqual({ admitted: true });
    }
    const open = await t.run(async (ctx) =>
      (await ctx.db.query("quotaReservations").withIndex("by_quota_id_and_expires_at", (q) => q.eq("quotaId", budget)).collect()).length,
    );
    expect(open).toBe(1000);
    // The 1,001st, through the signed route: admitted (200), and its read stays well inside the limits.
    const r = await post(t, "/quotas/reserve", { requestId: "call-1000", userId: users[0], tokens: 0, costNanoUsd: 1000, ttlMs: 600_000 });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ admitted: true });
    const m = await t.mutation(async (ctx) => {
      await reserveQuotas(ctx.db, reportingCalendar(), { requestId: "call-1001", userId: users[1], tokens: 0, costNanoUsd: 1000, ttlMs: 600_000 }, Date.now());
      return await ctx.meta.getTransactionMetrics();
    });
    console.info("reserve beside 1,001 open reservations", JSON.stringify({ docs: m.documentsRead.used, bytes: m.bytesRead.used }));
    expect(m.documentsRead.used).toBeLessThan(1100);
  });

  test("1,000 calls in flight through allowance leases of the system budget: the next lease is granted", async () => {
    const t = newBackend();
    const { users, budget } = await setup(t, 8);
    await openOnBudget(t, budget, users, 1000);
    const r = await post(t, "/quotas/lease", {
      holder: "replica-0",
      claims: [],
      want: { requests: 0, tokens: 0, costNanoUsd: 1_000_000 },
      need: { requests: 0, tokens: 0, costNanoUsd: 1000 },
      return: { requests: 0, tokens: 0, costNanoUsd: 0 },
      ttlMs: 30_000,
      claimTtlMs: 600_000,
    });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.refused).toBeNull();
    expect(r.json.quotas).toMatchObject([{ quotaType: "system_monthly_cost_usd", granted: 1_000_000, others: 1000 * 1000 }]);
  });

  test(`the budget's bound is ${MAX_OPEN_BUDGET_RESERVATIONS} open reservations; a user's quota keeps ${MAX_OPEN_RESERVATIONS}`, async () => {
    const t = newBackend();
    const { users, budget } = await setup(t, 8);
    await openOnBudget(t, budget, users, MAX_OPEN_BUDGET_RESERVATIONS);
    const reserve = (requestId: string) =>
      t.mutation(internal.llmmeter.reserveQuotas, { requestId, userId: users[0], tokens: 0, costNanoUsd: 1000, ttlMs: 600_000 });
    // At the bound: still counted exactly and admitted.
    expect(await reserve("at-bound")).toEqual({ admitted: true });
    // One beyond: refused with the reason, nothing written.
    const r = await reserve("beyond");
    expect(r).toMatchObject({ admitted: false, reason: "too_many_reservations", quota: { quotaId: budget } });
    expect(r.admitted === false && r.message).toContain(`more than ${MAX_OPEN_BUDGET_RESERVATIONS} open reservations`);
    expect(await t.run(async (ctx) => (await ctx.db.query("quotaReservations").withIndex("by_request_id", (q) => q.eq("requestId", "beyond")).collect()).length)).toBe(0);
  });
});
