/**
 * Allowance leases: POST /quotas/lease (lib/leases.ts) — grants, claims
 * turned into reservations (or dropped when their rows are in), returns,
 * expiry of a crashed holder's lease, the system budget, reservations
 * counting leases, payload checks; and the grant rule held to
 * contract/lease_grants.json, as the Go engine is. Time is faked (Date
 * only) so expiry is exact.
 */
import { describe, expect, test, vi } from "vitest";
import type { Doc, Id } from "./_generated/dataModel";
import { grantLease } from "../packages/convex/src/lib/leases";
import type { QuotaType } from "../packages/convex/src/lib/validators";
import { type Backend, makeUsers, newBackend, post, requestLog, signedAt, usage } from "./test.setup";

const NOW = Date.UTC(2024, 0, 15, 12);
const TOMORROW = Date.UTC(2024, 0, 16);
const NEXT_MONTH = Date.UTC(2024, 1, 1);

signedAt(NOW);

type Case = {
  name: string;
  quotaType: QuotaType;
  limit: number;
  used: number;
  others: number;
  lease: number;
  want: number;
  need: number;
  grant: number;
  leaseAfter: number;
  refused: boolean;
};
const corpus = Object.values(import.meta.glob("../contract/lease_grants.json", { eager: true, import: "default" }))[0] as {
  cases: Case[];
};

describe("grant rule (contract/lease_grants.json)", () => {
  test.each(corpus.cases)("$name", (c) => {
    expect(grantLease({ ...c, resetDate: 0 }, c.want, c.need)).toEqual({ lease: c.leaseAfter, grant: c.grant, refused: c.refused });
  });
});

async function addQuota(t: Backend, userId: Id<"llmmeterUsers"> | undefined, quotaType: QuotaType, limit: number) {
  const cost = quotaType === "monthly_cost_usd" || quotaType === "system_monthly_cost_usd";
  return await t.run((ctx) =>
    ctx.db.insert("userQuotas", {
      userId,
      quotaType,
      limit: cost ? limit / 1e9 : limit,
      used: 0,
      ...(cost ? { limitNanoUsd: limit, usedNanoUsd: 0 } : {}),
      resetDate: quotaType === "daily_requests" ? TOMORROW : NEXT_MONTH,
      isActive: true,
      updatedAt: 0,
    }),
  );
}

const zero = { requests: 0, tokens: 0, costNanoUsd: 0 };
const amounts = (over: Partial<typeof zero>) => ({ ...zero, ...over });
const leaseBody = (holder: string, userId: string | undefined, over: Record<string, unknown> = {}) => ({
  holder,
  ...(userId !== undefined ? { userId } : {}),
  claims: [],
  return: zero,
  want: zero,
  need: zero,
  ttlMs: 30_000,
  claimTtlMs: 1_800_000,
  ...over,
});
type Leased = { quotaType: QuotaType; granted: number; lease: number; limit: number; used: number; others: number };
type LeaseAnswer = { quotas: Leased[]; refused: null | { quotaType: QuotaType; remaining: number; limit: number; used: number } };
async function lease(t: Backend, holder: string, userId: string | undefined, over: Record<string, unknown> = {}) {
  const r = await post(t, "/quotas/lease", leaseBody(holder, userId, over));
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json as LeaseAnswer;
}
const rows = <T extends "quotaLeases" | "quotaReservations">(t: Backend, table: T) =>
  t.run(async (ctx) => (await ctx.db.query(table).collect()) as Doc<T>[]);

describe("POST /quotas/lease", () => {
  test("grants what fits, shares one limit between holders, refuses need past it", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, u, "daily_requests", 10);
    let a = await lease(t, "A", u, { want: amounts({ requests: 6 }), need: amounts({ requests: 1 }) });
    expect(a.quotas).toMatchObject([{ quotaType: "daily_requests", granted: 6, lease: 6, others: 0 }]);
    expect(a.refused).toBeNull();
    // B asks for 6: 4 are left.
    a = await lease(t, "B", u, { want: amounts({ requests: 6 }), need: amounts({ requests: 1 }) });
    expect(a.quotas).toMatchObject([{ granted: 4, lease: 4, others: 6 }]);
    // Nothing left: a need is refused, naming the quota with nothing remaining.
    a = await lease(t, "C", u, { want: amounts({ requests: 1 }), need: amounts({ requests: 1 }) });
    expect(a.quotas).toMatchObject([{ granted: 0, lease: 0, others: 10 }]);
    expect(a.refused).toMatchObject({ quotaType: "daily_requests", limit: 10, used: 0, remaining: 0 });
    expect((await rows(t, "quotaLeases")).map((l) => [l.holder, l.amount]).sort()).toEqual([
      ["A", 6],
      ["B", 4],
    ]);
  });

  test("claims become reservations and leave the lease; a returned lease frees its allowance", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, u, "monthly_tokens", 1000);
    await lease(t, "A", u, { want: amounts({ tokens: 800 }) });
    const claims = [
      { requestId: "r1", amounts: amounts({ requests: 1, tokens: 300 }) },
      { requestId: "r2", amounts: amounts({ requests: 1, tokens: 200 }) },
    ];
    let a = await lease(t, "A", u, { claims });
    expect(a.quotas).toMatchObject([{ granted: 0, lease: 300, others: 500 }]);
    expect((await rows(t, "quotaReservations")).map((r) => [r.requestId, r.amount])).toEqual([
      ["r1", 300],
      ["r2", 200],
    ]);
    // Sent again (an answer lost on the way): taken once.
    a = await lease(t, "A", u, { claims });
    expect(a.quotas).toMatchObject([{ lease: 0, others: 500 }]);
    expect(await rows(t, "quotaReservations")).toHaveLength(2);
    // B may now take what A no longer holds.
    a = await lease(t, "B", u, { want: amounts({ tokens: 1000 }) });
    expect(a.quotas).toMatchObject([{ granted: 500, lease: 500, others: 500 }]);
    // B gives 200 back: the row keeps 300.
    a = await lease(t, "B", u, { return: amounts({ tokens: 200 }) });
    expect(a.quotas).toMatchObject([{ lease: 300 }]);
  });

  test("a claim whose rows are already in is not reserved", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, u, "daily_requests", 10);
    await lease(t, "A", u, { want: amounts({ requests: 3 }) });
    await post(t, "/ingest", { requestLogs: [requestLog(u, { requestId: "done", status: "error", timestamp: NOW })] });
    await post(t, "/ingest", {
      requestLogs: [requestLog(u, { requestId: "gen", generationId: "gen-1", timestamp: NOW })],
      usage: [usage(u, { requestId: "gen", generationId: "gen-1", timestamp: NOW })],
    });
    await post(t, "/ingest", { requestLogs: [requestLog(u, { requestId: "pending", generationId: "gen-2", timestamp: NOW })] });
    const one = amounts({ requests: 1 });
    const a = await lease(t, "A", u, {
      claims: [
        { requestId: "done", amounts: one },
        { requestId: "gen", amounts: one },
        { requestId: "pending", amounts: one },
      ],
    });
    // Only the call whose usage row has not come is reserved; used counts the three.
    expect((await rows(t, "quotaReservations")).map((r) => r.requestId)).toEqual(["pending"]);
    expect(a.quotas).toMatchObject([{ lease: 0, used: 3, others: 1 }]);
  });

  test("a crashed holder's lease expires and its allowance returns", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, u, "daily_requests", 5);
    await lease(t, "crashed", u, { want: amounts({ requests: 5 }), ttlMs: 10_000 });
    let a = await lease(t, "B", u, { want: amounts({ requests: 1 }), need: amounts({ requests: 1 }) });
    expect(a.refused).toMatchObject({ remaining: 0 });
    vi.setSystemTime(NOW + 10_010); // past expiresAt (convex-test's clock may have moved a ms)
    a = await lease(t, "B", u, { want: amounts({ requests: 5 }), need: amounts({ requests: 1 }) });
    expect(a.refused).toBeNull();
    expect(a.quotas).toMatchObject([{ granted: 5, others: 0 }]);
    expect((await rows(t, "quotaLeases")).map((l) => l.holder)).toEqual(["B"]);
  });

  test("the alone rule: a token call may run when no one holds anything and used < limit", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const q = await addQuota(t, u, "monthly_tokens", 2000);
    await t.run((ctx) => ctx.db.patch(q, { used: 1900 }));
    let a = await lease(t, "A", u, { want: amounts({ tokens: 528 }), need: amounts({ tokens: 528 }) });
    expect(a.quotas).toMatchObject([{ granted: 528, lease: 528 }]);
    // Someone else now holds: not alone.
    a = await lease(t, "B", u, { want: amounts({ tokens: 528 }), need: amounts({ tokens: 528 }) });
    expect(a.refused).toMatchObject({ quotaType: "monthly_tokens", remaining: 0 });
  });

  test("the system budget is leased without a user; user leases never touch it", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, undefined, "system_monthly_cost_usd", 1_000_000);
    await addQuota(t, u, "monthly_cost_usd", 500_000);
    const user = await lease(t, "A", u, { want: amounts({ costNanoUsd: 100_000 }) });
    expect(user.quotas.map((q) => q.quotaType)).toEqual(["monthly_cost_usd"]);
    const sys = await lease(t, "A", undefined, { want: amounts({ costNanoUsd: 700_000 }) });
    expect(sys.quotas).toMatchObject([{ quotaType: "system_monthly_cost_usd", granted: 700_000 }]);
    const other = await lease(t, "B", undefined, { want: amounts({ costNanoUsd: 700_000 }), need: amounts({ costNanoUsd: 400_000 }) });
    expect(other.refused).toMatchObject({ quotaType: "system_monthly_cost_usd", remaining: 300_000 });
  });

  test("a user without quotas gets an empty grant and nothing is written", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const a = await lease(t, "A", u, { want: amounts({ requests: 5 }), need: amounts({ requests: 1 }) });
    expect(a).toEqual({ quotas: [], refused: null });
    expect(await rows(t, "quotaLeases")).toEqual([]);
  });

  test("/quotas/reserve counts leases", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, u, "daily_requests", 3);
    await lease(t, "A", u, { want: amounts({ requests: 2 }) });
    const body = { userId: u, tokens: 0, costNanoUsd: 0, ttlMs: 60_000 };
    expect((await post(t, "/quotas/reserve", { ...body, requestId: "x" })).json).toMatchObject({ admitted: true });
    expect((await post(t, "/quotas/reserve", { ...body, requestId: "y" })).json).toMatchObject({
      admitted: false,
      quota: { remaining: 0 },
    });
  });

  test("more leases than are read (dead replicas' held leases): nothing granted, reserve refused", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const q = await addQuota(t, u, "daily_requests", 1000);
    // 65 holders with a lease of 1 each: 935 are free, but the 65th lease
    // would go uncounted, so nothing is granted until some expire.
    await t.run(async (ctx) => {
      for (let i = 0; i < 65; i++) await ctx.db.insert("quotaLeases", { quotaId: q, holder: `dead-${i}`, amount: 1, expiresAt: NOW + 150_000 });
    });
    const a = await lease(t, "A", u, { want: amounts({ requests: 10 }), need: amounts({ requests: 1 }) });
    expect(a.quotas).toMatchObject([{ granted: 0, lease: 0 }]);
    expect(a.refused).toMatchObject({ quotaType: "daily_requests" });
    const body = { userId: u, tokens: 0, costNanoUsd: 0, ttlMs: 60_000, requestId: "x" };
    const r = (await post(t, "/quotas/reserve", body)).json as { admitted: boolean; message: string };
    expect(r).toMatchObject({ admitted: false });
    expect(r.message).toContain("more than 64 allowance leases");
    expect((await rows(t, "quotaLeases")).length).toBe(65);
    expect(await rows(t, "quotaReservations")).toEqual([]);
    // One fewer: read in full, and granted.
    await t.run(async (ctx) => {
      const l = await ctx.db.query("quotaLeases").first();
      await ctx.db.delete(l!._id);
    });
    expect((await lease(t, "A", u, { want: amounts({ requests: 10 }), need: amounts({ requests: 1 }) })).quotas).toMatchObject([
      { granted: 10, others: 64 },
    ]);
  });

  test("/quotas/lease/release-holder deletes a holder's leases a page at a time, nobody else's", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const q = await addQuota(t, u, "daily_requests", 1_000_000);
    await t.run(async (ctx) => {
      for (let i = 0; i < 1001; i++) await ctx.db.insert("quotaLeases", { quotaId: q, holder: "replica-dead", amount: 1, expiresAt: NOW + 150_000 });
      await ctx.db.insert("quotaLeases", { quotaId: q, holder: "replica-alive", amount: 5, expiresAt: NOW + 30_000 });
    });
    const release = async (holder: unknown) => await post(t, "/quotas/lease/release-holder", { holder });
    let r = await release("replica-dead");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ released: 1000, more: true });
    r = await release("replica-dead");
    expect(r.json).toEqual({ released: 1, more: false });
    expect((await rows(t, "quotaLeases")).map((l) => l.holder)).toEqual(["replica-alive"]);
    for (const bad of ["", "x".repeat(129), 7]) {
      r = await release(bad);
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.json)).toContain("holder");
    }
  });

  test("bad payloads are 400s naming the field; more than 256 claims is refused; nothing stored", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, u, "daily_requests", 3);
    const cases: [Record<string, unknown>, string][] = [
      [{ want: amounts({ tokens: -1 }) }, "want.tokens"],
      [{ need: amounts({ requests: 1.5 }) }, "need.requests"],
      [{ ttlMs: 5 }, "ttlMs"],
      [{ userId: "not-an-id" }, "userId"],
      [{ claims: Array.from({ length: 257 }, (_, i) => ({ requestId: `r${i}`, amounts: zero })) }, "claims"],
    ];
    for (const [over, field] of cases) {
      const r = await post(t, "/quotas/lease", leaseBody("A", u, over));
      expect(r.status, field).toBe(400);
      expect(JSON.stringify(r.json)).toContain(field);
    }
    expect(await rows(t, "quotaLeases")).toEqual([]);
    expect(await rows(t, "quotaReservations")).toEqual([]);
  });
});
