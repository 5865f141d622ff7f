/** The routes added for the Go jobs: /jobs/usage/confirm, /jobs/runs/list, /jobs/alerts/list. */
import { beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import { withBudgetSummed } from "../packages/convex/src/lib/quotas";
import { ADMIN, makeUsers, newBackend, post, SECRET, T0, usage } from "./test.setup";

beforeEach(() => {
  vi.stubEnv("INGEST_SECRET", SECRET);
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0 + 60_000);
});

const confirmation = (generationId: string) => ({
  generationId,
  promptTokens: 100,
  completionTokens: 50,
  totalTokens: 150,
  cachedTokens: 7,
  reasoningTokens: 3,
  costNanoUsd: 2_000_000,
});

async function aggregates(t: ReturnType<typeof newBackend>) {
  return await t.run(async (ctx) => await ctx.db.query("usageAggregates").collect());
}

describe("/jobs/usage/confirm", () => {
  test("upgrades an estimated row, moves every aggregate and quota by the difference, once", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const admin = t.withIdentity(ADMIN);
    await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "monthly_tokens", limit: 1_000_000 });
    await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "monthly_cost_usd", limit: 10 });
    await admin.mutation(api.llmmeter.setQuota, { quotaType: "system_monthly_cost_usd", limit: 100 });
    const est = usage(u, { costStatus: "estimated", costNanoUsd: 500_000, timestamp: T0 });
    const other = usage(u, { timestamp: T0 + 1000 });
    expect((await post(t, "/ingest", { usage: [est, other] })).status).toBe(200);

    const res = await post(t, "/jobs/usage/confirm", confirmation(est.generationId));
    expect(res.status).toBe(200);
    expect(res.json.confirmed).toBe(true);
    expect(res.json.quotasAdjusted).toBe(3);

    const row = await t.run(async (ctx) =>
      ctx.db.query("usageTracking").withIndex("by_generation_id", (q) => q.eq("generationId", est.generationId)).unique(),
    );
    expect(row).toMatchObject({ costStatus: "confirmed", totalTokens: 150, costNanoUsd: 2_000_000, costInUSD: 0.002 });

    // Each scope and period sums to the raw rows again.
    const aggs = await aggregates(t);
    for (const scope of ["system", "user", "model"] as const) {
      for (const period of ["hourly", "daily", "weekly", "monthly"] as const) {
        const rows = aggs.filter((a) => a.scope === scope && a.period === period);
        expect(rows.reduce((s, a) => s + a.totalTokens, 0)).toBe(150 + other.totalTokens);
        expect(rows.reduce((s, a) => s + a.totalCostNanoUsd, 0)).toBe(2_000_000 + other.costNanoUsd);
        expect(rows.reduce((s, a) => s + a.cachedTokens, 0)).toBe(7);
      }
    }
    // The system budget's counter is spread over shards (lib/budgetShards.ts): read the sum.
    const quotas = await t.run(async (ctx) => withBudgetSummed(ctx.db, await ctx.db.query("userQuotas").collect()));
    const byType = Object.fromEntries(quotas.map((q) => [q.quotaType, q]));
    expect(byType.monthly_tokens.used).toBe(150 + other.totalTokens);
    expect(byType.monthly_cost_usd.usedNanoUsd).toBe(2_000_000 + other.costNanoUsd);
    expect(byType.system_monthly_cost_usd.usedNanoUsd).toBe(2_000_000 + other.costNanoUsd);

    // A second confirmation changes nothing.
    const again = await post(t, "/jobs/usage/confirm", confirmation(est.generationId));
    expect(again.json.confirmed).toBe(false);
    expect(await aggregates(t)).toEqual(aggs);
  });

  test("a reported or unknown row is left alone; bad bodies are 400", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const rep = usage(u);
    await post(t, "/ingest", { usage: [rep] });
    expect((await post(t, "/jobs/usage/confirm", confirmation(rep.generationId))).json.confirmed).toBe(false);
    expect((await post(t, "/jobs/usage/confirm", confirmation("gen-none"))).json.confirmed).toBe(false);
    const bad = await post(t, "/jobs/usage/confirm", { ...confirmation(rep.generationId), totalTokens: -1 });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain("totalTokens");
    const unsigned = await post(t, "/jobs/usage/confirm", confirmation(rep.generationId), { header: null });
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
