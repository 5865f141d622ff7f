/**
 * Issue 14, ingest writes: batches from different replicas for different
 * users must write disjoint documents, so Convex never makes them conflict
 * (convex-test has no write conflicts, so the write sets are recorded and
 * compared instead). Each ingest runs through a ctx.db that records every
 * document it inserts, patches, replaces or deletes.
 */
import { beforeEach, describe, expect, test, vi } from "vitest";
import type { Id } from "./_generated/dataModel";
import type { MutationCtx } from "./_generated/server";
import { shardOf } from "../packages/convex/src/lib/budgetShards";
import { ingestBatch } from "../packages/convex/src/lib/ingest";
import { systemBudget } from "../packages/convex/src/lib/quotas";
import { activity, foldAll, makeUsers, newBackend, requestLog, SECRET, T0, usage, type Backend } from "./test.setup";

beforeEach(() => vi.stubEnv("INGEST_SECRET", SECRET));

const WRITES = ["insert", "patch", "replace", "delete"] as const;

/** ctx with a db that adds the id of every document written to `written`. */
function recording(ctx: MutationCtx, written: Set<string>): MutationCtx {
  const db = new Proxy(ctx.db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (!(WRITES as readonly (string | symbol)[]).includes(prop)) return value.bind(target);
      return async (...args: any[]) => {
        const out = await value.apply(target, args);
        written.add(String(prop === "insert" ? out : args[0]));
        return out;
      };
    },
  });
  return { ...ctx, db } as MutationCtx;
}

/** 8 replicas × 3 rounds; replica r serves its own 5 users, all rows in one hour. */
async function batches(t: Backend, withBudget: boolean) {
  const users = await makeUsers(t, 40);
  await t.run(async (ctx) => {
    for (const u of users) {
      for (const quotaType of ["daily_requests", "monthly_tokens", "monthly_cost_usd"] as const) {
        await ctx.db.insert("userQuotas", { userId: u, quotaType, limit: 1e9, used: 0, usedNanoUsd: 0, resetDate: T0 + 86_400_000, isActive: true, updatedAt: 0 });
      }
    }
    if (withBudget) {
      await ctx.db.insert("userQuotas", { quotaType: "system_monthly_cost_usd", limit: 1e6, used: 0, usedNanoUsd: 0, limitNanoUsd: 1e15, resetDate: T0 + 86_400_000, isActive: true, updatedAt: 0 });
    }
  });
  const out = [];
  for (let round = 0; round < 3; round++) {
    for (let r = 0; r < 8; r++) {
      const mine = users.slice(r * 5, r * 5 + 5);
      const u = mine.map((id, i) => usage(id, { timestamp: T0 + round * 60_000 + i, model: `m/${i % 2}` }));
      const l = u.map((x) => requestLog(x.userId, { requestId: x.requestId, generationId: x.generationId, timestamp: x.timestamp, model: x.model }));
      out.push({ usage: u, requestLogs: l, activity: [activity(mine[0], { timestamp: T0 + round, activityType: "conversation_started" })], replica: `replica-${r}` });
    }
  }
  return out;
}

async function writeSets(t: Backend, bodies: Awaited<ReturnType<typeof batches>>) {
  const sets: Set<string>[] = [];
  for (const body of bodies) {
    const written = new Set<string>();
    await t.mutation(async (ctx) => {
      // Each request of the batch holds a reservation, settled by the ingest.
      for (const row of body.usage) {
        const q = await ctx.db
          .query("userQuotas")
          .withIndex("by_user_id", (x) => x.eq("userId", row.userId as Id<"llmmeterUsers">))
          .first();
        await ctx.db.insert("quotaReservations", { requestId: row.requestId, quotaId: q!._id, userId: row.userId as Id<"llmmeterUsers">, amount: 1, expiresAt: Number.MAX_SAFE_INTEGER });
      }
    });
    await t.mutation(async (ctx) => ingestBatch(recording(ctx, written), body, Date.now()));
    sets.push(written);
  }
  return sets;
}

describe("ingest write sets", () => {
  test("batches for different users write disjoint documents; none written by every batch; no summaries", async () => {
    vi.stubEnv("REPORTING_TZ", "UTC");
    const t = newBackend();
    const sets = await writeSets(t, await batches(t, false));
    // 11 rows, 5 settled reservations and the users' quotas: the recorder sees every write.
    for (const s of sets) expect(s.size).toBeGreaterThanOrEqual(16);
    for (let i = 0; i < sets.length; i++) {
      for (let j = i + 1; j < sets.length; j++) {
        const shared = [...sets[i]].filter((id) => sets[j].has(id));
        // Rounds of one replica share its users' quota documents; replicas share nothing.
        if (i % 8 !== j % 8) expect(shared, `batch ${i} and ${j}`).toEqual([]);
      }
    }
    const everyBatch = [...sets[0]].filter((id) => sets.every((s) => s.has(id)));
    expect(everyBatch).toEqual([]);
    const aggregateIds = await t.run(async (ctx) => (await ctx.db.query("usageAggregates").collect()).map((a) => a._id as string));
    expect(aggregateIds).toEqual([]);
    // The rows then fold, exactly once.
    expect(await foldAll(t)).toBe(24 * 11);
    expect(await foldAll(t)).toBe(0);
  });

  test("with an active system budget, batches of different replicas still write disjoint documents; the budget counts every cost", async () => {
    vi.stubEnv("REPORTING_TZ", "UTC");
    // Precondition: the 8 replicas' names fall on 8 different shards.
    expect(new Set([0, 1, 2, 3, 4, 5, 6, 7].map((r) => shardOf(`replica-${r}`))).size).toBe(8);
    const t = newBackend();
    const bodies = await batches(t, true);
    const sets = await writeSets(t, bodies);
    const budget = await t.run(async (ctx) => (await ctx.db.query("userQuotas").withIndex("by_quota_type", (q) => q.eq("quotaType", "system_monthly_cost_usd")).first())!);
    for (let i = 0; i < sets.length; i++) {
      // The budget row itself is never written by ingest.
      expect(sets[i].has(budget._id)).toBe(false);
      for (let j = i + 1; j < sets.length; j++) {
        const shared = [...sets[i]].filter((id) => sets[j].has(id));
        if (i % 8 !== j % 8) expect(shared, `batch ${i} and ${j}`).toEqual([]);
      }
    }
    expect([...sets[0]].filter((id) => sets.every((s) => s.has(id)))).toEqual([]);
    // Strictness reads the sum: the spread counter holds every batch's cost exactly.
    const cost = bodies.flatMap((b) => b.usage).reduce((s, u) => s + u.costNanoUsd, 0);
    const spread = await t.run(async (ctx) => ({
      view: (await systemBudget(ctx.db))!,
      shards: await ctx.db.query("budgetShards").collect(),
    }));
    expect(spread.view.usedNanoUsd).toBe(cost);
    expect(spread.shards.map((s) => s.shard).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((r) => shardOf(`replica-${r}`)).sort((a, b) => a - b));
  });
});
