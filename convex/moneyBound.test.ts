/**
 * Issue 14, money beyond 2^53 nano-USD: Convex numbers are float64, exact
 * only up to 2^53 − 1 (about $9,007,199.25). The documented bound
 * (convex/README.md "Money bound") is that every stored amount is an integer
 * in [0, 2^53 − 1] nano-USD: a row at the edge is stored exactly, one nano
 * beyond is a 400 that stores nothing, and quota counters saturate at the
 * edge rather than round. The fold's sums (aggregates and summaries) reach
 * the edge exactly and are refused one nano beyond it: the Go fold does not
 * send such an apply (fold.CheckBound, jobs/fold_bound_test.go), and the
 * store refuses it too.
 */
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { systemBudget } from "../packages/convex/src/lib/quotas";
import { internal } from "./_generated/api";
import { computeApply, makeUsers, newBackend, post, SECRET, tableCounts, usage } from "./test.setup";

const EDGE = Number.MAX_SAFE_INTEGER; // 2^53 − 1
const nextMonth = () => {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
};

beforeEach(() => {
  vi.stubEnv("INGEST_SECRET", SECRET);
  vi.stubEnv("REPORTING_TZ", "UTC");
});
afterEach(() => vi.unstubAllEnvs());

test("a usage row of 2^53 − 1 nano-USD is stored exactly; 2^53 is a 400 and stores nothing", async () => {
  const t = newBackend();
  const [u] = await makeUsers(t, 1);
  const row = usage(u, { costNanoUsd: EDGE, timestamp: Date.now() });
  await t.run(async (ctx) => {
    await ctx.db.insert("userQuotas", { quotaType: "system_monthly_cost_usd", limit: EDGE / 1e9, limitNanoUsd: EDGE, used: 0, usedNanoUsd: 5, resetDate: nextMonth(), isActive: true, updatedAt: 0 });
  });
  const ok = await post(t, "/ingest", { usage: [row], replica: "r0" });
  expect(ok.status, JSON.stringify(ok.json)).toBe(200);
  const stored = await t.run(async (ctx) => (await ctx.db.query("usageTracking").collect()).map((d) => d.costNanoUsd));
  expect(stored).toEqual([EDGE]);
  // 5 + (2^53 − 1) saturates at the edge instead of becoming an inexact float.
  expect(await t.run(async (ctx) => (await systemBudget(ctx.db))!.usedNanoUsd)).toBe(EDGE);

  const before = await tableCounts(t);
  const beyond = await post(t, "/ingest", { usage: [usage(u, { costNanoUsd: EDGE + 1, timestamp: Date.now() })], replica: "r0" });
  expect(beyond.status).toBe(400);
  expect(beyond.json.error).toMatchObject({ code: "bad_request", message: "usage[0].costNanoUsd: expected non-negative integer" });
  expect(await tableCounts(t)).toEqual(before);
});

test("the fold's sums reach 2^53 − 1 exactly; an apply one nano beyond is refused and stores nothing", async () => {
  const t = newBackend();
  const [u] = await makeUsers(t, 1);
  const at = Date.now();
  // Two rows that sum to the edge, folded as the fold job does.
  for (const cost of [EDGE - 1, 1]) {
    expect((await post(t, "/ingest", { usage: [usage(u, { costNanoUsd: cost, timestamp: at })], replica: "r0" })).status).toBe(200);
  }
  const sums = async () =>
    await t.run(async (ctx) =>
      (await ctx.db.query("usageAggregates").collect()).map((d) => `${d.scope}|${d.period}|${d.totalCostNanoUsd}`).sort(),
    );
  const exact = await sums();
  expect(exact).toHaveLength(12); // system, user, model × 4 periods
  for (const s of exact) expect(s.endsWith(`|${EDGE}`), s).toBe(true);
  const models = await t.run(async (ctx) => (await ctx.db.query("summaryModels").collect()).map((d) => d.models[0].totalCostNanoUsd));
  expect(models).toEqual([EDGE, EDGE, EDGE, EDGE]);

  // One nano more: stored as a row, but its apply would pass the edge.
  expect((await post(t, "/ingest", { usage: [usage(u, { costNanoUsd: 1, timestamp: at })], replica: "r0" }, { fold: false })).status).toBe(200);
  const pending = await t.query(internal.llmmeter.foldPending, { limit: 200 });
  const apply = await computeApply(t, pending);
  const before = await tableCounts(t);
  // Through the signed route: the summary's sum fails the shape check.
  const res = await post(t, "/jobs/fold/apply", apply);
  expect(res.status).toBe(400);
  expect(res.json.error.code).toBe("bad_request");
  // Called directly (no route shape check): the aggregate sum is refused.
  await expect(t.mutation(internal.llmmeter.foldApply, apply)).rejects.toThrow(/beyond 2\^53 − 1/);
  expect(await tableCounts(t)).toEqual(before);
  expect(await sums()).toEqual(exact);
  const still = await t.query(internal.llmmeter.foldPending, { limit: 200 });
  expect(still.usage).toHaveLength(1);
});
