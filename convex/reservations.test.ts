/**
 * Strict quota reservations: POST /quotas/reserve and /quotas/release, their
 * settlement by ingest, expiry, roll-over, idempotency, signatures and
 * payload checks. Time is faked (Date only) so expiry and resets are exact.
 */
import { describe, expect, test, vi } from "vitest";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { MAX_OPEN_RESERVATIONS, systemBudget } from "../packages/convex/src/lib/quotas";
import { sign } from "../packages/convex/src/lib/signature";
import { type Backend, dataCounts, makeUsers, newBackend, post, requestLog, SECRET, signedAt, tableCounts, usage } from "./test.setup";

const NOW = Date.UTC(2024, 0, 15, 12); // Monday noon UTC
const TOMORROW = Date.UTC(2024, 0, 16);
const NEXT_MONTH = Date.UTC(2024, 1, 1);

signedAt(NOW);

type QuotaSpec = Partial<Doc<"userQuotas">> & Pick<Doc<"userQuotas">, "quotaType">;

/** Inserts a quota; cost quotas take `limitNanoUsd`/`usedNanoUsd` and derive the USD fields. */
async function addQuota(t: Backend, spec: QuotaSpec): Promise<Id<"userQuotas">> {
  const cost = spec.quotaType === "monthly_cost_usd" || spec.quotaType === "system_monthly_cost_usd";
  return await t.run((ctx) =>
    ctx.db.insert("userQuotas", {
      limit: cost ? (spec.limitNanoUsd ?? 0) / 1e9 : 0,
      used: cost ? (spec.usedNanoUsd ?? 0) / 1e9 : 0,
      ...(cost ? { usedNanoUsd: 0, limitNanoUsd: 0 } : {}),
      resetDate: spec.quotaType === "daily_requests" ? TOMORROW : NEXT_MONTH,
      isActive: true,
      updatedAt: 0,
      ...spec,
    }),
  );
}

let n = 0;
const reserveBody = (userId: string, over: Record<string, unknown> = {}) => ({
  requestId: `rq-${++n}`,
  userId,
  tokens: 100,
  costNanoUsd: 1000,
  ttlMs: 60_000,
  ...over,
});
const reserve = async (t: Backend, userId: string, over: Record<string, unknown> = {}) => {
  const r = await post(t, "/quotas/reserve", reserveBody(userId, over));
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json;
};
const reservations = (t: Backend) => t.run((ctx) => ctx.db.query("quotaReservations").collect());
const quota = (t: Backend, id: Id<"userQuotas">) => t.run(async (ctx) => (await ctx.db.get(id))!);

describe("admission is exact at the boundary", () => {
  test("daily_requests limit 10: 10 admitted, the 11th refused; settlement moves the slot from reserved to used", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const qid = await addQuota(t, { userId: u, quotaType: "daily_requests", limit: 10 });
    const ids = Array.from({ length: 10 }, (_, i) => `req-${i}`);
    for (const requestId of ids) expect(await reserve(t, u, { requestId })).toEqual({ admitted: true });
    const refused = await reserve(t, u);
    expect(refused).toMatchObject({
      admitted: false,
      reason: "limit",
      quota: { quotaId: qid, quotaType: "daily_requests", limit: 10, used: 0, reserved: 10, remaining: 0, resetDate: TOMORROW, limitNanoUsd: null },
    });
    expect(refused.message).toContain("daily_requests");
    // a refusal writes nothing
    const counts = await dataCounts(t);
    await reserve(t, u);
    expect(await dataCounts(t)).toEqual(counts);

    // Ingesting req-0's rows counts it (used 1) and settles its reservation (reserved 9):
    // the request keeps its slot, so the limit is still exactly full.
    await post(t, "/ingest", { requestLogs: [requestLog(u, { requestId: ids[0], timestamp: NOW })] });
    expect((await quota(t, qid)).used).toBe(1);
    expect((await reservations(t)).map((r) => r.requestId)).toEqual(ids.slice(1));
    expect(await reserve(t, u)).toMatchObject({ admitted: false, quota: { used: 1, reserved: 9, remaining: 0 } });
    // A request that ends without rows being counted releases its slot: one more is admitted.
    expect((await post(t, "/quotas/release", { requestId: ids[1] })).json).toEqual({ released: 1 });
    expect(await reserve(t, u)).toEqual({ admitted: true });
    expect((await reserve(t, u)).admitted).toBe(false);
  });

  test("monthly_tokens: settling with actual tokens below the estimate frees the difference", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, { userId: u, quotaType: "monthly_tokens", limit: 1000 });
    expect(await reserve(t, u, { requestId: "a", tokens: 600 })).toEqual({ admitted: true });
    expect(await reserve(t, u, { requestId: "b", tokens: 400 })).toEqual({ admitted: true }); // 600 + 400 = 1000 exactly
    expect((await reserve(t, u, { tokens: 1 })).quota).toMatchObject({ quotaType: "monthly_tokens", used: 0, reserved: 1000, remaining: 0 });
    await post(t, "/ingest", {
      usage: [usage(u, { requestId: "a", totalTokens: 450, timestamp: NOW })],
      requestLogs: [requestLog(u, { requestId: "a", timestamp: NOW })],
    });
    // used 450 + reserved 400 = 850: 150 tokens of headroom
    expect((await reserve(t, u, { tokens: 151 })).admitted).toBe(false);
    expect(await reserve(t, u, { tokens: 150 })).toEqual({ admitted: true });
  });
});

describe("the alone rule (token and cost quotas)", () => {
  test("monthly_tokens: an estimate bigger than the headroom runs only alone; the overshoot is at most that request", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const qid = await addQuota(t, { userId: u, quotaType: "monthly_tokens", limit: 1000, used: 900 });
    // 50 fits; then 200 does not fit and is not alone → refused
    expect(await reserve(t, u, { requestId: "small", tokens: 50 })).toEqual({ admitted: true });
    expect(await reserve(t, u, { requestId: "big", tokens: 200 })).toMatchObject({
      admitted: false,
      quota: { quotaType: "monthly_tokens", limit: 1000, used: 900, reserved: 50, remaining: 50 },
    });
    await post(t, "/quotas/release", { requestId: "small" });
    // alone now: admitted although 900 + 200 > 1000
    expect(await reserve(t, u, { requestId: "big", tokens: 200 })).toEqual({ admitted: true });
    expect((await reservations(t)).map((r) => r.amount)).toEqual([200]);
    // while it is open, nothing else — not even an estimate of 0 tokens
    for (const tokens of [1, 0]) {
      expect(await reserve(t, u, { tokens })).toMatchObject({ admitted: false, quota: { reserved: 200, remaining: 0 } });
    }
    // settled with the actual usage: over the limit by at most that request's tokens
    await post(t, "/ingest", {
      usage: [usage(u, { requestId: "big", totalTokens: 180, timestamp: NOW })],
      requestLogs: [requestLog(u, { requestId: "big", timestamp: NOW })],
    });
    expect((await quota(t, qid)).used).toBe(1080);
    expect(await reservations(t)).toEqual([]);
    // U >= L: refused even alone
    expect(await reserve(t, u, { tokens: 1 })).toMatchObject({ admitted: false, quota: { used: 1080, reserved: 0, remaining: 0 } });
  });

  test("monthly_cost_usd in exact nanos, answered in USD and nanos", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const qid = await addQuota(t, { userId: u, quotaType: "monthly_cost_usd", limitNanoUsd: 1_000_000_000, usedNanoUsd: 900_000_000 });
    expect(await reserve(t, u, { requestId: "c1", costNanoUsd: 500_000_000 })).toEqual({ admitted: true });
    const refused = await reserve(t, u, { costNanoUsd: 1 });
    expect(refused).toMatchObject({
      admitted: false,
      quota: {
        quotaId: qid,
        quotaType: "monthly_cost_usd",
        limit: 1,
        used: 0.9,
        reserved: 0.5,
        remaining: 0,
        limitNanoUsd: 1_000_000_000,
        usedNanoUsd: 900_000_000,
        reservedNanoUsd: 500_000_000,
        remainingNanoUsd: 0,
        resetDate: NEXT_MONTH,
      },
    });
    await post(t, "/ingest", {
      usage: [usage(u, { requestId: "c1", costNanoUsd: 300_000_001, timestamp: NOW })],
      requestLogs: [requestLog(u, { requestId: "c1", timestamp: NOW })],
    });
    expect(await quota(t, qid)).toMatchObject({ usedNanoUsd: 1_200_000_001 });
    expect(await reserve(t, u, { costNanoUsd: 0 })).toMatchObject({ admitted: false, quota: { usedNanoUsd: 1_200_000_001, remainingNanoUsd: 0 } });
  });

  test("daily_requests has no alone rule: limit 0 refuses everything", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, { userId: u, quotaType: "daily_requests", limit: 0 });
    expect(await reserve(t, u)).toMatchObject({ admitted: false, quota: { quotaType: "daily_requests", limit: 0, remaining: 0 } });
  });
});

describe("counters stay integers in [0, 2^53 − 1]", () => {
  // Before the fix, U + R + E and used += tokens were plain float sums: past
  // 2^53 they stopped being exact integers, and every later check of the
  // quota compared rounded values.
  test("a reservation of MAX_SAFE_INTEGER beside an open one is refused, not wrapped or rounded in", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, { userId: u, quotaType: "monthly_tokens", limit: 2000 });
    expect(await reserve(t, u, { requestId: "small", tokens: 500 })).toEqual({ admitted: true });
    expect(await reserve(t, u, { requestId: "huge", tokens: Number.MAX_SAFE_INTEGER })).toMatchObject({
      admitted: false,
      quota: { quotaType: "monthly_tokens", limit: 2000, reserved: 500, remaining: 1500 },
    });
    expect((await reservations(t)).map((r) => r.amount)).toEqual([500]);
  });

  test("used saturates at MAX_SAFE_INTEGER instead of leaving the safe integers", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const qid = await addQuota(t, { userId: u, quotaType: "monthly_tokens", limit: 2000, used: Number.MAX_SAFE_INTEGER - 10 });
    await post(t, "/ingest", {
      usage: [usage(u, { requestId: "r1", totalTokens: 100, timestamp: NOW })],
      requestLogs: [requestLog(u, { requestId: "r1", timestamp: NOW })],
    });
    expect((await quota(t, qid)).used).toBe(Number.MAX_SAFE_INTEGER);
  });

  test("the internal mutation refuses an out-of-range estimate with a bad_request ConvexError", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, { userId: u, quotaType: "monthly_tokens", limit: 2000 });
    await expect(
      t.mutation(internal.llmmeter.reserveQuotas, { requestId: "x", userId: u, tokens: 2 ** 63, costNanoUsd: 0, ttlMs: 60_000 }),
    ).rejects.toMatchObject({ data: { code: "bad_request", message: "tokens: expected non-negative integer" } });
    expect(await reservations(t)).toEqual([]);
  });
});

describe("several quotas and the system budget", () => {
  test("every quota must admit; the first refusing one is named; nothing is written on refusal", async () => {
    const t = newBackend();
    const [a, b, c] = await makeUsers(t, 3);
    const budget = await addQuota(t, { quotaType: "system_monthly_cost_usd", limitNanoUsd: 10_000_000_000, usedNanoUsd: 9_900_000_000 });
    await addQuota(t, { userId: a, quotaType: "monthly_cost_usd", limitNanoUsd: 5_000_000_000 });
    await addQuota(t, { userId: a, quotaType: "monthly_tokens", limit: 10_000 });
    await addQuota(t, { userId: a, quotaType: "daily_requests", limit: 5 });
    // a: 4 reservations (3 own quotas + the budget); the budget's alone rule admits 0.2 USD > 0.1 USD headroom
    expect(await reserve(t, a, { requestId: "ra", costNanoUsd: 200_000_000 })).toEqual({ admitted: true });
    expect((await reservations(t)).map((r) => [r.requestId, r.userId, r.amount, r.expiresAt - Math.floor(r._creationTime)])).toEqual([
      ["ra", a, 1, 60_000],
      ["ra", a, 100, 60_000],
      ["ra", a, 200_000_000, 60_000],
      ["ra", a, 200_000_000, 60_000],
    ]);
    // b has no quota of its own, but the system budget is held by a's request
    const before = await dataCounts(t);
    expect(await reserve(t, b, { costNanoUsd: 1 })).toMatchObject({
      admitted: false,
      quota: { quotaId: budget, quotaType: "system_monthly_cost_usd", usedNanoUsd: 9_900_000_000, reservedNanoUsd: 200_000_000, remainingNanoUsd: 0 },
    });
    expect(await dataCounts(t)).toEqual(before);
    // settle a's request: the budget is over by at most that request; nobody is admitted any more
    await post(t, "/ingest", {
      usage: [usage(a, { requestId: "ra", costNanoUsd: 150_000_000, timestamp: NOW })],
      requestLogs: [requestLog(a, { requestId: "ra", timestamp: NOW })],
    });
    // The budget's counter is spread over shards (lib/budgetShards.ts): read the sum.
    expect(await t.run(async (ctx) => await systemBudget(ctx.db))).toMatchObject({ _id: budget, usedNanoUsd: 10_050_000_000 });
    expect((await reserve(t, c, { costNanoUsd: 0 })).quota.quotaType).toBe("system_monthly_cost_usd");
    // an inactive budget does not count: c, without quotas, is admitted with no writes
    await t.run((ctx) => ctx.db.patch(budget, { isActive: false }));
    const counts = await dataCounts(t);
    expect(await reserve(t, c, { requestId: "rc" })).toEqual({ admitted: true });
    expect(await dataCounts(t)).toEqual(counts);
  });

  test("inactive user quotas are ignored", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, { userId: u, quotaType: "daily_requests", limit: 0, isActive: false });
    expect(await reserve(t, u)).toEqual({ admitted: true });
    expect(await reservations(t)).toEqual([]);
  });
});

describe("expiry, replay, release, roll-over", () => {
  test("a reservation stops counting at expiresAt and is swept by a later admission", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, { userId: u, quotaType: "daily_requests", limit: 1 });
    expect(await reserve(t, u, { requestId: "old", ttlMs: 1000 })).toEqual({ admitted: true });
    // (convex-test pins a transaction's time to at least 1 ms after the last commit, so read it back)
    const [{ expiresAt, _creationTime }] = await reservations(t);
    expect(expiresAt - Math.floor(_creationTime)).toBe(1000);
    vi.setSystemTime(expiresAt - 1);
    expect((await reserve(t, u)).admitted).toBe(false);
    vi.setSystemTime(expiresAt); // no longer > now
    expect(await reserve(t, u, { requestId: "new" })).toEqual({ admitted: true });
    expect((await reservations(t)).map((r) => r.requestId)).toEqual(["new"]);
  });

  test("the same requestId is a replay: admitted again without writes, even when the quota is full", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, { userId: u, quotaType: "daily_requests", limit: 1 });
    await addQuota(t, { userId: u, quotaType: "monthly_tokens", limit: 1000 });
    expect(await reserve(t, u, { requestId: "r" })).toEqual({ admitted: true });
    const counts = await dataCounts(t);
    expect(await reserve(t, u, { requestId: "r" })).toEqual({ admitted: true, replay: true });
    expect(await dataCounts(t)).toEqual(counts);
    expect((await reserve(t, u, { requestId: "other" })).admitted).toBe(false);
  });

  test("release deletes the request's reservations", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, { userId: u, quotaType: "daily_requests", limit: 1 });
    await addQuota(t, { userId: u, quotaType: "monthly_tokens", limit: 1000 });
    await reserve(t, u, { requestId: "r" });
    expect((await post(t, "/quotas/release", { requestId: "r" })).json).toEqual({ released: 2 });
    expect((await post(t, "/quotas/release", { requestId: "r" })).json).toEqual({ released: 0 });
    expect(await reserve(t, u)).toEqual({ admitted: true });
  });

  test("settlement on a usage row alone (request log not yet delivered) and on a request log without usage", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, { userId: u, quotaType: "monthly_tokens", limit: 1000 });
    await reserve(t, u, { requestId: "x" });
    await reserve(t, u, { requestId: "y" });
    await post(t, "/ingest", { usage: [usage(u, { requestId: "x", timestamp: NOW })] });
    await post(t, "/ingest", { requestLogs: [requestLog(u, { requestId: "y", status: "error", timestamp: NOW })] });
    expect(await reservations(t)).toEqual([]);
  });

  test("a request log that names a generation does not settle: its usage row, delivered later, does", async () => {
    // The gateway ships the request log at once and the usage row once the
    // generation record gives the cost; in between the reservation must hold.
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, { userId: u, quotaType: "monthly_tokens", limit: 1000 });
    await reserve(t, u, { requestId: "g" });
    await post(t, "/ingest", { requestLogs: [requestLog(u, { requestId: "g", generationId: "gen-g", timestamp: NOW })] });
    expect((await reservations(t)).map((r) => r.requestId)).toEqual(["g"]);
    await post(t, "/ingest", { usage: [usage(u, { requestId: "g", generationId: "gen-g", timestamp: NOW })] });
    expect(await reservations(t)).toEqual([]);
  });

  test("a quota past resetDate rolls forward (used 0, next resetDate) — written only when admitted", async () => {
    const t = newBackend();
    const [u, v] = await makeUsers(t, 2);
    // u: limit 2, used 2 in yesterday's window
    const qu = await addQuota(t, { userId: u, quotaType: "daily_requests", limit: 2, used: 2, resetDate: Date.UTC(2024, 0, 15) });
    // v: same, but limit 0 → refused even after rolling
    const qv = await addQuota(t, { userId: v, quotaType: "daily_requests", limit: 0, used: 7, resetDate: Date.UTC(2024, 0, 10) });
    expect(await reserve(t, u)).toEqual({ admitted: true });
    expect(await quota(t, qu)).toMatchObject({ used: 0, resetDate: TOMORROW });
    expect(await reserve(t, v)).toMatchObject({ admitted: false, quota: { used: 0, resetDate: TOMORROW } });
    expect(await quota(t, qv)).toMatchObject({ used: 7, resetDate: Date.UTC(2024, 0, 10) });
    // the reset job, late, finds the window already rolled: compare-and-set no-op
    const job = await post(t, "/jobs/quotas/reset", { quotaId: qu, expectedResetDate: Date.UTC(2024, 0, 15), nextResetDate: TOMORROW });
    expect(job.json.reset).toBe(false);
    // cost quotas roll in nanos too
    const qc = await addQuota(t, { userId: u, quotaType: "monthly_cost_usd", limitNanoUsd: 10, usedNanoUsd: 10, resetDate: Date.UTC(2024, 0, 1) });
    expect(await reserve(t, u, { costNanoUsd: 10 })).toEqual({ admitted: true });
    expect(await quota(t, qc)).toMatchObject({ used: 0, usedNanoUsd: 0, resetDate: NEXT_MONTH });
  });

  test(`more than ${MAX_OPEN_RESERVATIONS} open reservations on a quota refuse with a clear reason`, async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const qid = await addQuota(t, { userId: u, quotaType: "monthly_tokens", limit: 1e12 });
    await t.run(async (ctx) => {
      for (let i = 0; i <= MAX_OPEN_RESERVATIONS; i++) {
        await ctx.db.insert("quotaReservations", { requestId: `bulk-${i}`, quotaId: qid, userId: u, amount: 1, expiresAt: NOW + 60_000 });
      }
    });
    const before = await dataCounts(t);
    const r = await reserve(t, u);
    expect(r).toMatchObject({ admitted: false, reason: "too_many_reservations", quota: { quotaId: qid } });
    expect(r.message).toContain(`more than ${MAX_OPEN_RESERVATIONS} open reservations`);
    expect(await dataCounts(t)).toEqual(before);
  });
});

describe.each(["/quotas/reserve", "/quotas/release"])("route %s", (path) => {
  const bodyFor = (u: string) => (path === "/quotas/reserve" ? reserveBody(u) : { requestId: "held" });

  test("missing/forged/stale signatures → 401 and nothing written; unset secret → 503", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await addQuota(t, { userId: u, quotaType: "daily_requests", limit: 5 });
    await reserve(t, u, { requestId: "held" });
    const b = bodyFor(u);
    const raw = JSON.stringify(b);
    const before = await tableCounts(t);
    const headers: (string | null)[] = [
      null,
      await sign("wrong-secret", { method: "POST", path, body: raw }, NOW),
      await sign(SECRET, { method: "POST", path, body: raw + " " }, NOW),
      await sign(SECRET, { method: "POST", path, body: raw }, NOW - 6 * 60_000),
      await sign(SECRET, { method: "POST", path, body: raw }, NOW + 6 * 60_000),
    ];
    for (const header of headers) {
      const r = await post(t, path, b, { header, raw });
      expect(r.status, `${header}`).toBe(401);
      expect(r.json.error.code).toBe("unauthorized");
    }
    expect((await post(t, path, b, { header: "garbage", raw })).status).toBe(400);
    vi.stubEnv("INGEST_SECRET", "");
    expect((await post(t, path, b)).status).toBe(503);
    expect(await tableCounts(t)).toEqual(before);
    vi.stubEnv("INGEST_SECRET", SECRET);
    expect((await post(t, path, b, { at: NOW - 4 * 60_000 })).status).toBe(200);
    expect(await tableCounts(t)).not.toEqual(before);
  });
});

describe("bad payloads → 400 naming the field, nothing written", () => {
  const CASES: [string, (u: string, gone: string) => [string, unknown]][] = [
    ["requestId: required", (u) => ["/quotas/reserve", { ...reserveBody(u), requestId: undefined }]],
    ["requestId: expected non-empty string", (u) => ["/quotas/reserve", reserveBody(u, { requestId: "" })]],
    ["requestId: expected at most 256 characters", (u) => ["/quotas/reserve", reserveBody(u, { requestId: "r".repeat(257) })]],
    ["userId: not a users id", () => ["/quotas/reserve", reserveBody("zzz")]],
    ["userId: not the id of an existing user", (_u, gone) => ["/quotas/reserve", reserveBody(gone)]],
    ["userId: expected string, got number", () => ["/quotas/reserve", reserveBody(5 as any)]],
    ["tokens: expected non-negative integer", (u) => ["/quotas/reserve", reserveBody(u, { tokens: -1 })]],
    ["tokens: expected non-negative integer", (u) => ["/quotas/reserve", reserveBody(u, { tokens: 1.5 })]],
    ["costNanoUsd: expected non-negative integer", (u) => ["/quotas/reserve", reserveBody(u, { costNanoUsd: 2 ** 60 })]],
    // The reported attack: max_tokens 9223372036854775807 made the estimate 2^63.
    ["tokens: expected non-negative integer", (u) => ["/quotas/reserve", reserveBody(u, { tokens: 2 ** 63 })]],
    ["tokens: expected non-negative integer", (u) => ["/quotas/reserve", reserveBody(u, { tokens: Number.MAX_SAFE_INTEGER + 1 })]],
    ["costNanoUsd: required", (u) => ["/quotas/reserve", { ...reserveBody(u), costNanoUsd: undefined }]],
    ["ttlMs: expected integer in [1000, 3600000]", (u) => ["/quotas/reserve", reserveBody(u, { ttlMs: 999 })]],
    ["ttlMs: expected integer in [1000, 3600000]", (u) => ["/quotas/reserve", reserveBody(u, { ttlMs: 3_600_001 })]],
    ["requestId: required", () => ["/quotas/release", {}]],
    ["requestId: expected string, got number", () => ["/quotas/release", { requestId: 1 }]],
  ];
  test.each(CASES)("%s", async (message, make) => {
    const t = newBackend();
    const [u, gone] = await makeUsers(t, 2);
    await addQuota(t, { userId: u, quotaType: "daily_requests", limit: 5 });
    await t.run((ctx) => ctx.db.delete(gone));
    const before = await tableCounts(t);
    const [path, body] = make(u, gone);
    const r = await post(t, path, body);
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({ code: "bad_request", message, type: "invalid_request_error" });
    expect(await tableCounts(t)).toEqual(before);
  });
});
