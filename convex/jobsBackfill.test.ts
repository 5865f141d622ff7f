/** The routes added for the Go jobs: /jobs/usage/get and /confirm, /jobs/runs/list, /jobs/alerts/list. */
import { beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import { withBudgetSummed } from "../packages/convex/src/lib/quotas";
import { LATENCY_BUCKETS } from "../packages/convex/src/lib/aggregates";
import { ADMIN, makeUsers, newBackend, post, SECRET, T0, tableCounts, usage } from "./test.setup";

beforeEach(() => {
  vi.stubEnv("INGEST_SECRET", SECRET);
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0 + 60_000);
});

const confirmed = { promptTokens: 100, completionTokens: 50, totalTokens: 150, cachedTokens: 7, reasoningTokens: 3, costNanoUsd: 2_000_000 };
const estimate = { promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 0, reasoningTokens: 0, costNanoUsd: 500_000 };
async function aggregates(t: ReturnType<typeof newBackend>) {
  return await t.run(async (ctx) => await ctx.db.query("usageAggregates").collect());
}

const JAN = { windowStart: Date.UTC(2024, 0, 1), windowEnd: Date.UTC(2024, 1, 1) };

/** An hourly system aggregate delta at T0 (a signed one: the estimate was high in tokens). */
const hourlyDelta = (d: { totalTokens: number; totalCostNanoUsd: number }) => ({
  scope: "system" as const,
  period: "hourly" as const,
  periodKey: "2024-01-15T13",
  periodStart: T0,
  shard: 0,
  totalRequests: 0,
  successfulRequests: 0,
  failedRequests: 0,
  promptTokens: 0,
  completionTokens: 0,
  totalTokens: d.totalTokens,
  cachedTokens: 0,
  reasoningTokens: 0,
  totalCostNanoUsd: d.totalCostNanoUsd,
  totalProcessingTime: 0,
  conversationsStarted: 0,
  filesUploaded: 0,
  latencyBuckets: Array(LATENCY_BUCKETS).fill(0),
  models: ["openai/gpt-4o"],
});

/**
 * A confirmation body as the Go side sends it (convexstore.ConfirmUsage;
 * rollup.Confirm computes the real values, tested on both engines in
 * jobs/confirm_test.go and contract/jobs/31): here hand-made, since this
 * tests what Convex does with it: store and check, nothing derived.
 */
const body = (generationId: string, over: Record<string, unknown> = {}) => ({
  generationId,
  ...confirmed,
  previous: { generationId, ...estimate },
  aggregates: [hourlyDelta({ totalTokens: -5, totalCostNanoUsd: 1_500_000 })],
  summaries: [],
  version: 1,
  quotas: [
    { quotaType: "monthly_tokens", ...JAN, delta: 135 },
    { quotaType: "monthly_cost_usd", ...JAN, delta: 1_500_000 },
    { quotaType: "system_monthly_cost_usd", ...JAN, delta: 1_500_000 },
  ],
  ...over,
});

describe("/jobs/usage/get and /jobs/usage/confirm", () => {
  test("stores the record's values and what Go computed, moves the quotas of the named window, once", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const admin = t.withIdentity(ADMIN);
    await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "monthly_tokens", limit: 1_000_000 });
    await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "monthly_cost_usd", limit: 10 });
    await admin.mutation(api.llmmeter.setQuota, { quotaType: "system_monthly_cost_usd", limit: 100 });
    const est = usage(u, { costStatus: "estimated", ...estimate, timestamp: T0 });
    expect((await post(t, "/ingest", { usage: [est] })).status).toBe(200); // folded: version 1

    const got = await post(t, "/jobs/usage/get", { generationId: est.generationId });
    expect(got.json).toMatchObject({ usage: { generationId: est.generationId, userId: u, costStatus: "estimated", ...estimate }, folded: true });
    const before = await aggregates(t);

    const res = await post(t, "/jobs/usage/confirm", body(est.generationId));
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json).toEqual({ confirmed: true, quotasAdjusted: 3 });
    const row = await t.run(async (ctx) =>
      ctx.db.query("usageTracking").withIndex("by_generation_id", (q) => q.eq("generationId", est.generationId)).unique(),
    );
    expect(row).toMatchObject({ costStatus: "confirmed", ...confirmed, costInUSD: 0.002 });
    // The delta went to its aggregate, signed; no other aggregate moved.
    const after = await aggregates(t);
    const hourly = (xs: typeof after) => xs.find((a) => a.scope === "system" && a.period === "hourly")!;
    expect(hourly(after).totalTokens).toBe(hourly(before).totalTokens - 5);
    expect(hourly(after).totalCostNanoUsd).toBe(hourly(before).totalCostNanoUsd + 1_500_000);
    expect(after.filter((a) => a !== hourly(after))).toEqual(before.filter((a) => a !== hourly(before)));
    expect(await t.run(async (ctx) => (await ctx.db.query("foldState").first())?.version)).toBe(2);
    // The system budget's counter is spread over shards (lib/budgetShards.ts): read the sum.
    const quotas = await t.run(async (ctx) => withBudgetSummed(ctx.db, await ctx.db.query("userQuotas").collect()));
    const byType = Object.fromEntries(quotas.map((q) => [q.quotaType, q]));
    expect(byType.monthly_tokens.used).toBe(150);
    expect(byType.monthly_cost_usd.usedNanoUsd).toBe(2_000_000);
    expect(byType.system_monthly_cost_usd.usedNanoUsd).toBe(2_000_000);

    // A second confirmation changes nothing.
    const again = await post(t, "/jobs/usage/confirm", body(est.generationId, { version: 2 }));
    expect(again.json).toEqual({ confirmed: false });
    expect(await aggregates(t)).toEqual(after);
  });

  test("a quota whose current window is not the named one does not move", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await t.withIdentity(ADMIN).mutation(api.llmmeter.setQuota, { userId: u, quotaType: "monthly_tokens", limit: 1_000_000 });
    const est = usage(u, { costStatus: "estimated", ...estimate, timestamp: T0 });
    await post(t, "/ingest", { usage: [est] });
    const dec = { windowStart: Date.UTC(2023, 11, 1), windowEnd: Date.UTC(2024, 0, 1) };
    const res = await post(t, "/jobs/usage/confirm", body(est.generationId, { quotas: [{ quotaType: "monthly_tokens", ...dec, delta: 135 }] }));
    expect(res.json).toEqual({ confirmed: true, quotasAdjusted: 0 });
    const [q] = await t.run(async (ctx) => ctx.db.query("userQuotas").collect());
    expect(q.used).toBe(15);
  });

  test("compare-and-set: a moved fold version or other previous values are a 409 that writes nothing", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const est = usage(u, { costStatus: "estimated", ...estimate, timestamp: T0 });
    await post(t, "/ingest", { usage: [est] });
    const counts = await tableCounts(t);
    const docs = await aggregates(t);
    const stale = await post(t, "/jobs/usage/confirm", body(est.generationId, { version: 0 }));
    expect(stale.status).toBe(409);
    const other = await post(t, "/jobs/usage/confirm", body(est.generationId, { previous: { generationId: est.generationId, ...estimate, costNanoUsd: 1 } }));
    expect(other.status).toBe(409);
    expect(await tableCounts(t)).toEqual(counts);
    expect(await aggregates(t)).toEqual(docs);
    expect((await post(t, "/jobs/usage/get", { generationId: est.generationId })).json.usage.costStatus).toBe("estimated");
  });

  test("a reported, unknown or unfolded row is left alone; bad bodies are 400", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const rep = usage(u);
    await post(t, "/ingest", { usage: [rep] });
    const unfolded = usage(u, { costStatus: "estimated", ...estimate });
    await post(t, "/ingest", { usage: [unfolded] }, { fold: false });
    expect((await post(t, "/jobs/usage/get", { generationId: unfolded.generationId })).json.folded).toBe(false);
    expect((await post(t, "/jobs/usage/get", { generationId: "gen-none" })).json).toEqual({ usage: null, folded: false });
    for (const g of [rep.generationId, "gen-none", unfolded.generationId]) {
      expect((await post(t, "/jobs/usage/confirm", body(g))).json).toEqual({ confirmed: false });
    }
    const bad = await post(t, "/jobs/usage/confirm", { ...body(rep.generationId), totalTokens: -1 });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain("totalTokens");
    const tooMany = await post(t, "/jobs/usage/confirm", body(unfolded.generationId, { aggregates: Array(13).fill(hourlyDelta({ totalTokens: 0, totalCostNanoUsd: 0 })) }));
    expect(tooMany.status).toBe(400);
    const unsigned = await post(t, "/jobs/usage/confirm", body(rep.generationId), { header: null });
    expect(unsigned.status).toBe(401);
  });
});

describe("/jobs/runs/list and /jobs/alerts/list", () => {
  test("runs newest first, filtered by job and outcome", async () => {
    const t = newBackend();
    for (const [i, outcome] of (["success", "failure", "skipped", "success"] as const).entries()) {
      const r = await post(t, "/jobs/runs/record", { job: "rollup", startedAt: T0 + i, endedAt: T0 + i, outcome, counts: { n: i } });
      expect(r.status).toBe(200);
    }
    await post(t, "/jobs/runs/record", { job: "alerts", startedAt: T0 + 9, endedAt: T0 + 9, outcome: "success", counts: {} });
    const all = await post(t, "/jobs/runs/list", { limit: 10 });
    expect(all.json.runs.map((r: any) => r.startedAt)).toEqual([T0 + 9, T0 + 3, T0 + 2, T0 + 1, T0]);
    const ok = await post(t, "/jobs/runs/list", { job: "rollup", outcome: "success", limit: 1 });
    expect(ok.json.runs).toMatchObject([{ job: "rollup", startedAt: T0 + 3, outcome: "success", counts: { n: 3 } }]);
    expect((await post(t, "/jobs/runs/list", { limit: 0 })).status).toBe(400);
  });

  test("open alerts with conditionKey and lastNotifiedAt", async () => {
    const t = newBackend();
    const a = await post(t, "/jobs/alerts/open", { conditionKey: "k1", alertType: "x", severity: "warning", message: "m" });
    await post(t, "/jobs/alerts/open", { conditionKey: "k2", alertType: "x", severity: "info", message: "m" });
    await post(t, "/jobs/alerts/notified", { alertId: a.json.alertId, at: T0 });
    await post(t, "/jobs/alerts/resolve", { conditionKey: "k2" });
    const open = await post(t, "/jobs/alerts/list", { limit: 10 });
    expect(open.json.alerts).toMatchObject([{ id: a.json.alertId, conditionKey: "k1", lastNotifiedAt: T0, severity: "warning" }]);
  });
});
