/**
 * Issue 14, system-budget shard collisions: replicas claim free shards
 * (lib/budgetShards.ts claimShard) instead of hashing onto 256, where two of
 * 8 replicas share a shard in about 1 set of 10. 8 replicas, even two whose
 * names hash alike, get 8 shards; 300 get all 256 and the rest share; a
 * claim lapses without batches and its shard is taken by another replica;
 * and admission still reads the exact sum of every shard.
 */
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { CLAIM_TTL_MS, shardOf } from "../packages/convex/src/lib/budgetShards";
import { BUDGET_SHARDS, systemBudget } from "../packages/convex/src/lib/quotas";
import { type Backend, makeUsers, newBackend, post, SECRET, usage } from "./test.setup";

const LIMIT = 1_000_000_000_000; // $1,000

beforeEach(() => {
  vi.stubEnv("INGEST_SECRET", SECRET);
  vi.stubEnv("REPORTING_TZ", "UTC");
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

async function withBudget(t: Backend) {
  const d = new Date();
  const resetDate = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  await t.run(async (ctx) => {
    await ctx.db.insert("userQuotas", { quotaType: "system_monthly_cost_usd", limit: LIMIT / 1e9, limitNanoUsd: LIMIT, used: 0, usedNanoUsd: 0, resetDate, isActive: true, updatedAt: 0 });
  });
}

/** Ingests one usage row of `cost` from `replica` (left unfolded: only the budget matters). */
async function send(t: Backend, userId: string, replica: string, cost: number) {
  const res = await post(t, "/ingest", { usage: [usage(userId, { costNanoUsd: cost, timestamp: Date.now() })], replica }, { fold: false });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
}

const claims = (t: Backend) => t.run(async (ctx) => await ctx.db.query("budgetShardClaims").collect());
const shardsOf = async (t: Backend) => new Map((await claims(t)).map((c) => [c.replica, c.shard]));

/** n replica names, the first two hashing onto one shard. */
function names(n: number): string[] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const name = `replica-${i}`;
    const other = seen.get(shardOf(name));
    if (other !== undefined) {
      const rest = Array.from({ length: n - 2 }, (_, j) => `r-${j}`);
      return [other, name, ...rest];
    }
    seen.set(shardOf(name), name);
  }
}

test("8 replicas, two of them hashing alike, get 8 shards; the budget counts every cost", async () => {
  const t = newBackend();
  await withBudget(t);
  const [u] = await makeUsers(t, 1);
  const replicas = names(8);
  expect(shardOf(replicas[0])).toBe(shardOf(replicas[1]));
  let cost = 0;
  for (let round = 0; round < 2; round++) {
    for (const [i, r] of replicas.entries()) {
      await send(t, u, r, 1000 + i);
      cost += 1000 + i;
    }
  }
  const shards = await shardsOf(t);
  expect(new Set(shards.values()).size).toBe(8);
  // The first claimant keeps its hashed shard; the second takes the next free one.
  expect(shards.get(replicas[0])).toBe(shardOf(replicas[0]));
  expect(shards.get(replicas[1])).not.toBe(shardOf(replicas[1]));
  const docs = await t.run(async (ctx) => await ctx.db.query("budgetShards").collect());
  expect(new Set(docs.map((d) => d.shard))).toEqual(new Set(shards.values()));
  expect(await t.run(async (ctx) => (await systemBudget(ctx.db))!.usedNanoUsd)).toBe(cost);
});

test("300 replicas: 256 get distinct shards, the rest share hashed ones; admission stays strict", async () => {
  const t = newBackend();
  await withBudget(t);
  const [u] = await makeUsers(t, 1);
  const replicas = Array.from({ length: 300 }, (_, i) => `replica-${i}`);
  let cost = 0;
  for (const [i, r] of replicas.entries()) {
    await send(t, u, r, 1_000_000 + i);
    cost += 1_000_000 + i;
  }
  const shards = await shardsOf(t);
  expect(shards.size).toBe(300);
  expect(new Set(replicas.slice(0, BUDGET_SHARDS).map((r) => shards.get(r))).size).toBe(BUDGET_SHARDS);
  for (const r of replicas.slice(BUDGET_SHARDS)) expect(shards.get(r), r).toBe(shardOf(r));
  // Admission reads the budget row and every shard: the exact sum, and a
  // call one nano beyond what is left is refused, one that fits admitted.
  expect(await t.run(async (ctx) => (await systemBudget(ctx.db))!.usedNanoUsd)).toBe(cost);
  const left = LIMIT - cost;
  const fits = await post(t, "/quotas/reserve", { requestId: "rq-fits", userId: u, tokens: 0, costNanoUsd: left - 1, ttlMs: 60_000 });
  expect(fits.json).toMatchObject({ admitted: true });
  const last = await post(t, "/quotas/reserve", { requestId: "rq-last", userId: u, tokens: 0, costNanoUsd: 1, ttlMs: 60_000 });
  expect(last.json).toMatchObject({ admitted: true });
  const over = await post(t, "/quotas/reserve", { requestId: "rq-over", userId: u, tokens: 0, costNanoUsd: 1, ttlMs: 60_000 });
  expect(over.status).toBe(200);
  expect(over.json).toMatchObject({ admitted: false, reason: "limit" });
});

test("a claim is renewed by its replica's batches, lapses without them, and its shard then goes to another replica", async () => {
  vi.useFakeTimers({ toFake: ["Date"] });
  const t0 = Date.UTC(2030, 0, 15, 12);
  vi.setSystemTime(t0);
  const t = newBackend();
  await withBudget(t);
  const [u] = await makeUsers(t, 1);
  const [a, b] = names(2); // b hashes onto a's shard
  await send(t, u, a, 10);
  const first = (await claims(t))[0];
  // The faked clock still moves with real time: bounds, not equalities, on it.
  const near = (x: number, at: number) => {
    expect(x - at).toBeGreaterThanOrEqual(0);
    expect(x - at).toBeLessThan(60_000);
  };
  expect(first).toMatchObject({ replica: a, shard: shardOf(a) });
  near(first.expiresAt, t0 + CLAIM_TTL_MS);
  // Within the first half of the TTL nothing is rewritten; after it, renewed.
  vi.setSystemTime(t0 + CLAIM_TTL_MS / 4);
  await send(t, u, a, 10);
  expect((await claims(t))[0].expiresAt).toBe(first.expiresAt);
  const renewedAt = t0 + (CLAIM_TTL_MS * 3) / 4;
  vi.setSystemTime(renewedAt);
  await send(t, u, a, 10);
  near((await claims(t))[0].expiresAt, renewedAt + CLAIM_TTL_MS);
  // While a's claim lives, b takes the next shard; once it lapsed, a newcomer
  // with a's hash gets a's shard, and the lapsed claim is deleted.
  await send(t, u, b, 10);
  expect((await shardsOf(t)).get(b)).not.toBe(shardOf(a));
  vi.setSystemTime(renewedAt + CLAIM_TTL_MS + 60_000);
  let c = "late-0";
  for (let i = 1; shardOf(c) !== shardOf(a); i++) c = `late-${i}`;
  await send(t, u, c, 10);
  const after = await shardsOf(t);
  expect(after.get(c)).toBe(shardOf(a));
  expect(after.has(a)).toBe(false);
  expect(after.has(b)).toBe(false); // b's claim lapsed too
});
