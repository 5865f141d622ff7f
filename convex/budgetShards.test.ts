/**
 * Issue 14: the system budget's used counter spread over shards
 * (packages/convex/src/lib/budgetShards.ts). Ingest writes the sending
 * replica's shard; every reader that decides (reserve, lease, /quotas/get,
 * llmmeter:quotas) reads the row plus the shards of its window.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { ingestBatch } from "../packages/convex/src/lib/ingest";
import { systemBudget } from "../packages/convex/src/lib/quotas";
import { ADMIN, makeUsers, newBackend, SECRET, usage, type Backend } from "./test.setup";

const JAN15 = Date.UTC(2024, 0, 15, 12);
const FEB1 = Date.UTC(2024, 1, 1);
const MAR1 = Date.UTC(2024, 2, 1);

beforeEach(() => {
  vi.stubEnv("INGEST_SECRET", SECRET);
  vi.stubEnv("REPORTING_TZ", "UTC");
});
afterEach(() => vi.useRealTimers());

async function budgetOf(t: Backend, limitNanoUsd: number, usedNanoUsd: number) {
  return await t.run(async (ctx) =>
    ctx.db.insert("userQuotas", {
      quotaType: "system_monthly_cost_usd",
      limit: limitNanoUsd / 1e9,
      limitNanoUsd,
      used: usedNanoUsd / 1e9,
      usedNanoUsd,
      resetDate: FEB1,
      isActive: true,
      updatedAt: 0,
    }),
  );
}

let seq = 0;
/** One ingest of one usage row from `replica`. */
async function ingest(t: Backend, replica: string, userId: Id<"llmmeterUsers">, timestamp: number, costNanoUsd: number) {
  seq++;
  const row = usage(userId, { timestamp, costNanoUsd, generationId: `gen-shard-${seq}`, requestId: `req-shard-${seq}` });
  await t.mutation(async (ctx) => ingestBatch(ctx, { usage: [row], replica }, timestamp));
}

const view = (t: Backend) => t.run(async (ctx) => (await systemBudget(ctx.db))!);

describe("system budget shards", () => {
  test("a shard rolled into the next window first makes the budget answer that window; late rows and the reset job keep the sum exact", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const budget = await budgetOf(t, 1e12, 5);
    await ingest(t, "replica-a", u, Date.UTC(2024, 0, 20), 100);
    expect(await view(t)).toMatchObject({ resetDate: FEB1, usedNanoUsd: 105 });
    // Replica b's February row rolls its shard into March's window: January's 105 no longer count.
    await ingest(t, "replica-b", u, Date.UTC(2024, 1, 2), 7);
    expect(await view(t)).toMatchObject({ resetDate: MAR1, usedNanoUsd: 7 });
    await ingest(t, "replica-a", u, Date.UTC(2024, 1, 3), 11);
    expect(await view(t)).toMatchObject({ resetDate: MAR1, usedNanoUsd: 18 });
    // A late January row on a February shard is not counted (as on a quota).
    await ingest(t, "replica-a", u, Date.UTC(2024, 0, 31), 1000);
    expect(await view(t)).toMatchObject({ resetDate: MAR1, usedNanoUsd: 18 });
    // The reset job's compare-and-set on the row: the shards of the new window stay.
    const r = await t.mutation(internal.llmmeter.resetQuotas, { quotaId: budget, expectedResetDate: FEB1, nextResetDate: MAR1 });
    expect(r.reset).toBe(true);
    expect(await view(t)).toMatchObject({ resetDate: MAR1, usedNanoUsd: 18 });
    // The stored row was never written by ingest.
    expect(await t.run(async (ctx) => (await ctx.db.get(budget))!.usedNanoUsd)).toBe(0);
  });

  test("admission reads the sum of the shards: strict at the limit", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(JAN15);
    const t = newBackend();
    const [u, v] = await makeUsers(t, 2);
    const budget = await budgetOf(t, 100, 0);
    for (const [i, replica] of ["r0", "r1", "r2", "r3", "r4"].entries()) await ingest(t, replica, i % 2 ? u : v, JAN15, 19);
    expect((await view(t)).usedNanoUsd).toBe(95);
    const reserve = (requestId: string, costNanoUsd: number) =>
      t.mutation(internal.llmmeter.reserveQuotas, { requestId, userId: u, tokens: 0, costNanoUsd, ttlMs: 60_000 });
    // 95 used (no shard holds more than 38) + 5 = the limit: admitted; one nano more is not.
    expect(await reserve("fits", 5)).toEqual({ admitted: true });
    expect(await reserve("next", 1)).toMatchObject({
      admitted: false,
      reason: "limit",
      quota: { quotaId: budget, usedNanoUsd: 95, reservedNanoUsd: 5, remainingNanoUsd: 0 },
    });
    // /quotas/get and llmmeter:quotas answer the sum too.
    const all = await t.withIdentity(ADMIN).query(api.llmmeter.quotas, {});
    expect(all.find((q) => q.id === budget)).toMatchObject({ usedNanoUsd: 95 });
  });

  test("re-activating the budget takes used afresh and drops its shards", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(JAN15);
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const admin = t.withIdentity(ADMIN);
    const { quotaId } = await admin.mutation(api.llmmeter.setQuota, { quotaType: "system_monthly_cost_usd", limit: 1 });
    await ingest(t, "r0", u, JAN15, 40);
    await ingest(t, "r1", u, JAN15, 2);
    expect((await view(t)).usedNanoUsd).toBe(42);
    await admin.mutation(api.llmmeter.setQuota, { quotaType: "system_monthly_cost_usd", limit: 1, isActive: false });
    await admin.mutation(api.llmmeter.setQuota, { quotaType: "system_monthly_cost_usd", limit: 1, isActive: true });
    // used comes from the summaries (nothing folded yet: 0); kept shards would count the 42 again on top.
    expect(await t.run(async (ctx) => (await ctx.db.query("budgetShards").collect()).length)).toBe(0);
    expect(await view(t)).toMatchObject({ _id: quotaId, usedNanoUsd: 0 });
  });
});
