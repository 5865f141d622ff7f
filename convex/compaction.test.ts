/**
 * Issue 14, "closed periods compacted": a period holds one summaryModels and
 * one summaryUsers document, however many folds added to it and after a
 * rebuild replaced it, and nothing else per period grows with the number of
 * folds: aggregates are one document per key, the fold's marker is one
 * foldState document (rows are marked by clearing their own `unfolded`
 * field), and the system budget's shards are one per replica, rolled over in
 * place. So a closed period is compact by construction: what the fold
 * writes into it is replaced, never appended.
 */
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { internal } from "./_generated/api";
import { dataCounts, makeUsers, newBackend, post, SECRET, tableCounts, usage } from "./test.setup";

beforeEach(() => {
  vi.stubEnv("INGEST_SECRET", SECRET);
  vi.stubEnv("REPORTING_TZ", "UTC");
});
afterEach(() => vi.unstubAllEnvs());

test("a closed period keeps one summary document per kind after many folds and a rebuild; nothing per period grows with folds", async () => {
  const t = newBackend();
  const users = await makeUsers(t, 3);
  const d = new Date();
  // The 10th of last month, 14:00 UTC: its hour, day, week and month are closed.
  const at = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 10, 14, 0, 0);
  const nextMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  await t.run(async (ctx) => {
    await ctx.db.insert("userQuotas", { quotaType: "system_monthly_cost_usd", limit: 1e6, limitNanoUsd: 1e15, used: 0, usedNanoUsd: 0, resetDate: nextMonth, isActive: true, updatedAt: 0 });
  });
  const models = ["m/a", "m/b"];
  const ingest = async (i: number, ts = at + i * 1000) => {
    const row = usage(users[i % 3], { model: models[i % 2], timestamp: ts });
    const res = await post(t, "/ingest", { usage: [row], replica: `r${i % 2}` }); // folded at once, one apply per ingest
    expect(res.status, JSON.stringify(res.json)).toBe(200);
  };
  for (let i = 0; i < 20; i++) await ingest(i);

  // The rebuild's replace (jobs.Rebuild): the periods' summaries, whole.
  const state = await t.run(async (ctx) => {
    const docs = await ctx.db.query("summaryModels").collect();
    return docs.map((s) => ({ period: s.period, periodStart: s.periodStart }));
  });
  expect(state.map((s) => s.period).sort()).toEqual(["daily", "hourly", "monthly", "weekly"]);
  const stored = await t.query(internal.llmmeter.foldSummaryState, { periods: state, users: [] });
  const replaced = await post(t, "/jobs/summaries/replace", { summaries: stored.summaries, foldVersion: stored.version });
  expect(replaced.status, JSON.stringify(replaced.json)).toBe(200);
  expect(replaced.json.replaced).toBe(4);

  const perPeriod = async () =>
    await t.run(async (ctx) => {
      const count = new Map<string, number>();
      for (const table of ["summaryModels", "summaryUsers"] as const) {
        for (const s of await ctx.db.query(table).collect()) {
          const k = `${table}|${s.period}|${s.periodStart}`;
          count.set(k, (count.get(k) ?? 0) + 1);
        }
      }
      return [...count.values()];
    });
  // One document per kind and period: 2 kinds × 4 periods, each once.
  expect(await perPeriod()).toEqual(new Array(8).fill(1));
  const before = await dataCounts(t);
  // 4 periods × (1 system + 3 users + 2 models) aggregate keys; one fold marker.
  expect(before.usageAggregates).toBe(24);
  expect(before.foldState).toBe(1);

  // Twenty more folds into the same closed periods: only the raw rows grow.
  for (let i = 20; i < 40; i++) await ingest(i);
  const after = await dataCounts(t);
  expect(await perPeriod()).toEqual(new Array(8).fill(1));
  const grown = Object.fromEntries(Object.keys(after).filter((k) => after[k] !== before[k]).map((k) => [k, after[k] - before[k]]));
  expect(grown).toEqual({ usageTracking: 20 });
  const pending = await t.query(internal.llmmeter.foldPending, { limit: 10 });
  expect(pending.usage).toHaveLength(0);

  // The budget counts the current month's rows: one shard per replica
  // (r0 and r1 hash to different ones), moved in place by every batch.
  const now = Date.now();
  for (let i = 0; i < 4; i++) await ingest(i, now + i);
  expect((await tableCounts(t)).budgetShards).toBe(2);
  for (let i = 4; i < 12; i++) await ingest(i, now + i);
  expect((await tableCounts(t)).budgetShards).toBe(2);
});
