/** llmmeter:foldApply, the store side of the Go fold: compare-and-set, checks, and a user deleted before the fold. */
import { beforeEach, describe, expect, test, vi } from "vitest";
import { internal } from "./_generated/api";
import { computeApply, foldAll, makeUsers, newBackend, post, SECRET, T0, tableCounts, usage } from "./test.setup";

beforeEach(() => {
  vi.stubEnv("INGEST_SECRET", SECRET);
  vi.stubEnv("REPORTING_TZ", "UTC");
});

/** The Go core's Apply for the rows pending now. */
async function computed(t: ReturnType<typeof newBackend>) {
  return await computeApply(t, await t.query(internal.llmmeter.foldPending, { limit: 200 }));
}

describe("llmmeter:foldApply", () => {
  test("applies once; a replay or a stale apply is a conflict and writes nothing", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    expect((await post(t, "/ingest", { usage: [usage(u, { timestamp: T0 })] }, { fold: false })).status).toBe(200);
    const apply = await computed(t);
    expect(apply.usage).toHaveLength(1);
    expect(await t.mutation(internal.llmmeter.foldApply, apply)).toMatchObject({ folded: 1, inserted: 12 });
    const before = await tableCounts(t);
    const replay = await post(t, "/jobs/fold/apply", apply);
    expect(replay).toMatchObject({ status: 409, json: { error: { code: "conflict" } } });
    expect(await tableCounts(t)).toEqual(before);
    expect(await t.query(internal.llmmeter.foldVersion, {})).toEqual({ version: 1 });
  });

  test("bad deltas are 400 before any write", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await post(t, "/ingest", { usage: [usage(u, { timestamp: T0 })] }, { fold: false });
    const apply = await computed(t);
    const before = await tableCounts(t);
    const sharded = { ...apply, aggregates: apply.aggregates.map((a: any, i: number) => (i === 0 ? { ...a, shard: 3 } : a)) };
    expect(await post(t, "/jobs/fold/apply", sharded)).toMatchObject({ status: 400, json: { error: { code: "bad_request" } } });
    const offPeriod = { ...apply, aggregates: apply.aggregates.map((a: any, i: number) => (i === 0 ? { ...a, periodStart: a.periodStart + 1 } : a)) };
    expect(await post(t, "/jobs/fold/apply", offPeriod)).toMatchObject({ status: 400 });
    expect(await tableCounts(t)).toEqual(before);
    expect(await foldAll(t)).toBe(1); // the rows are still pending, and fold fine
  });

  test("a user deleted between ingest and fold still counts", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await post(t, "/ingest", { usage: [usage(u, { timestamp: T0, totalTokens: 15 })] }, { fold: false });
    await t.run((ctx) => ctx.db.delete(u));
    expect(await foldAll(t)).toBe(1);
    const system = await t.run((ctx) => ctx.db.query("usageAggregates").collect());
    expect(system.filter((a) => a.scope === "system" && a.period === "daily").map((a) => a.totalTokens)).toEqual([15]);
  });
});
