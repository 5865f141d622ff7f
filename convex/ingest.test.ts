/**
 * The ingest transaction: idempotency, dropped references, exact aggregates,
 * the worst-case batch under Convex's transaction limits, quota counters and
 * activity:record.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { latencyBucket } from "../packages/convex/src/lib/aggregates";
import { ingestBatch } from "../packages/convex/src/lib/ingest";
import { calendar, PERIODS } from "../packages/convex/src/lib/periods";
import { withBudgetSummed } from "../packages/convex/src/lib/quotas";
import { MAX_INGEST_ROWS, type RequestLogRow, type UsageRow } from "../packages/convex/src/lib/wire";
import {
  foldAll,
  activity,
  ADMIN,
  type Backend,
  dataCounts,
  makeUsers,
  newBackend,
  post,
  prng,
  requestLog,
  SECRET,
  sum,
  T0,
  tableCounts,
  usage,
} from "./test.setup";

beforeEach(() => vi.stubEnv("INGEST_SECRET", SECRET));
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

const aggregates = (t: Backend) => t.run((ctx) => ctx.db.query("usageAggregates").collect());

describe("idempotency", () => {
  test("a replayed batch inserts nothing, says so, and leaves aggregates unchanged", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const batch = {
      usage: [usage(u), usage(u, { model: "anthropic/claude-3.5-sonnet" })],
      requestLogs: [requestLog(u), requestLog(u, { status: "error", statusCode: 502 })],
      activity: [activity(u, { activityType: "conversation_started" })],
    };
    const first = await post(t, "/ingest", batch);
    expect(first.json).toEqual({
      inserted: { usage: 2, requestLogs: 2, activity: 1 },
      duplicates: { usage: 0, requestLogs: 0, activity: 0 },
    });
    const aggBefore = (await aggregates(t)).map(({ lastUpdated, ...rest }) => rest);
    const counts = await dataCounts(t);
    const replay = await post(t, "/ingest", batch);
    expect(replay.json).toEqual({
      inserted: { usage: 0, requestLogs: 0, activity: 0 },
      duplicates: { usage: 2, requestLogs: 2, activity: 1 },
    });
    expect(await dataCounts(t)).toEqual(counts);
    expect((await aggregates(t)).map(({ lastUpdated, ...rest }) => rest)).toEqual(aggBefore);
  });

  test("a key repeated inside one batch counts once; a partial replay inserts only the new rows", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const a = usage(u);
    const r1 = await post(t, "/ingest", { usage: [a, { ...a }, usage(u, { generationId: a.generationId, model: "x" })] });
    expect(r1.json.inserted.usage).toBe(1);
    expect(r1.json.duplicates.usage).toBe(2);
    const r2 = await post(t, "/ingest", { usage: [a, usage(u)] });
    expect(r2.json.inserted.usage).toBe(1);
    expect(r2.json.duplicates.usage).toBe(1);
    const o = await t.withIdentity(ADMIN).query(api.llmmeter.overview, { from: T0 - 3_600_000, to: T0 + 3_600_000 });
    expect(o.costNanoUsd).toBe(2 * 123_456);
  });
});

test("conversation and message ids are the chat app's, stored as given: the library never reads the app's tables", async () => {
  const t = newBackend();
  const [u] = await makeUsers(t, 1);
  const r = await post(t, "/ingest", {
    usage: [usage(u, { conversationId: "conv_1", messageId: "msg_1" }), usage(u, { conversationId: "k57abc" }), usage(u)],
  });
  expect(r.status).toBe(200);
  expect(r.json).toEqual({
    inserted: { usage: 3, requestLogs: 0, activity: 0 },
    duplicates: { usage: 0, requestLogs: 0, activity: 0 },
  });
  const rows = await t.run((ctx) => ctx.db.query("usageTracking").collect());
  expect(rows.map((d) => [d.conversationId ?? null, d.messageId ?? null])).toEqual([
    ["conv_1", "msg_1"],
    ["k57abc", null],
    [null, null],
  ]);
});

describe("aggregates are exact", () => {
  test("1000 random rows (500 usage, 500 request logs): every period, scope and shard sums to the rows, to the nano", async () => {
    const t = newBackend();
    const users = await makeUsers(t, 6);
    const models = ["openai/gpt-4o", "anthropic/claude-3.5-sonnet", "x/y:free"];
    const rnd = prng(20240115);
    // 8 distinct hours spread over four months: distinct days, ISO weeks and months.
    const hours = Array.from({ length: 8 }, (_, i) => T0 + i * 15 * 86_400_000 + rnd.int(0, 23) * 3_600_000);
    const usageRows: UsageRow[] = [];
    const logs: RequestLogRow[] = [];
    for (let i = 0; i < 500; i++) {
      const userId = rnd.pick(users);
      const model = rnd.pick(models);
      const timestamp = rnd.pick(hours) + rnd.int(0, 3_599_999);
      const promptTokens = rnd.int(0, 20_000);
      const completionTokens = rnd.int(0, 4_000);
      // costs such as 0.000123457 USD: not representable exactly as floats
      const costNanoUsd = rnd.next() < 0.1 ? 0 : rnd.int(1, 50_000_000);
      const generationId = `gen-${i}-${rnd.int(0, 1e9)}`;
      usageRows.push(
        usage(userId, {
          generationId,
          model,
          timestamp,
          promptTokens,
          completionTokens,
          totalTokens: promptTokens + completionTokens,
          cachedTokens: rnd.int(0, promptTokens),
          reasoningTokens: rnd.int(0, completionTokens),
          costNanoUsd,
        }),
      );
      logs.push(
        requestLog(rnd.next() < 0.05 ? undefined : userId, {
          model: rnd.next() < 0.05 ? undefined : model,
          generationId,
          timestamp: timestamp - rnd.int(0, Math.min(5000, timestamp % 3_600_000)),
          status: rnd.next() < 0.1 ? "error" : "success",
          processingTime: rnd.int(0, 70_000),
        }),
      );
    }
    // A naive float sum of the display USD is not exact; the nano sum is.
    const exactNanos = sum(usageRows, (r) => r.costNanoUsd);
    expect(sum(usageRows, (r) => r.costNanoUsd / 1e9)).not.toBe(exactNanos / 1e9);

    for (let i = 0; i < 500; i += 50) {
      const res = await t.mutation(internal.llmmeter.ingestBatch, { usage: usageRows.slice(i, i + 50), requestLogs: logs.slice(i, i + 50) });
      expect(res.inserted).toEqual({ usage: 50, requestLogs: 50, activity: 0 });
    }
    expect(await aggregates(t)).toEqual([]); // ingest appends only
    expect(await foldAll(t)).toBe(1000);

    const aggs = await aggregates(t);
    const fields = ["promptTokens", "completionTokens", "totalTokens", "cachedTokens", "reasoningTokens"] as const;
    const check = (rows: Doc<"usageAggregates">[], us: UsageRow[], ls: typeof logs, label: string) => {
      expect(sum(rows, (r) => r.totalCostNanoUsd), label).toBe(sum(us, (r) => r.costNanoUsd));
      for (const f of fields) expect(sum(rows, (r) => r[f]), `${label} ${f}`).toBe(sum(us, (r) => r[f]));
      expect(sum(rows, (r) => r.totalRequests), label).toBe(ls.length);
      expect(sum(rows, (r) => r.failedRequests), label).toBe(ls.filter((l) => l.status === "error").length);
      expect(sum(rows, (r) => r.totalProcessingTime), label).toBe(sum(ls, (l) => l.processingTime));
      const buckets = new Array(11).fill(0);
      for (const l of ls) buckets[latencyBucket(l.processingTime)]++;
      const got = new Array(11).fill(0);
      for (const r of rows) r.latencyBuckets.forEach((c, i) => (got[i] += c));
      expect(got, label).toEqual(buckets);
    };
    for (const period of PERIODS) {
      const inPeriod = aggs.filter((a) => a.period === period);
      check(inPeriod.filter((a) => a.scope === "system"), usageRows, logs, `${period} system`);
      for (const u of users) {
        check(
          inPeriod.filter((a) => a.scope === "user" && a.userId === u),
          usageRows.filter((r) => r.userId === u),
          logs.filter((l) => l.userId === u),
          `${period} user ${u}`,
        );
      }
      for (const m of models) {
        check(
          inPeriod.filter((a) => a.scope === "model" && a.model === m),
          usageRows.filter((r) => r.model === m),
          logs.filter((l) => l.model === m),
          `${period} model ${m}`,
        );
      }
    }
    for (const a of aggs) {
      expect(a.totalCost).toBe(a.totalCostNanoUsd / 1e9);
      expect(a.uniqueModels).toBe(a.models.length);
      // The fold writes one row per key: no shards, no zero-filled rows.
      expect(a.shard).toBe(0);
      expect(a.totalRequests + a.totalTokens + a.conversationsStarted + a.filesUploaded).toBeGreaterThan(0);
    }
    // One aggregate document per key: nothing was written twice as a separate doc.
    const keys = aggs.map((a) => `${a.scope}|${a.userId}|${a.model}|${a.period}|${a.periodStart}|${a.shard}`);
    expect(new Set(keys).size).toBe(keys.length);

    // The admin view over the whole span (monthly granularity) is exact too.
    const from = Date.UTC(2024, 0, 1);
    const to = Date.UTC(2024, 6, 1);
    const o = await t.withIdentity(ADMIN).query(api.llmmeter.overview, { from, to });
    expect(o.costNanoUsd).toBe(exactNanos);
    expect(o.costUsd).toBe(exactNanos / 1e9);
    expect(o.requests).toBe(500);
    expect(o.totalTokens).toBe(sum(usageRows, (r) => r.totalTokens));
    expect(o.avgProcessingMs).toBe(Math.round(sum(logs, (l) => l.processingTime) / 500));
    expect(o.activeUsers).toBe(users.length);
    expect(o.modelsUsed).toBe(models.length);
  });
});

describe("worst-case batch under transaction limits", () => {
  /**
   * MAX_INGEST_ROWS usage rows, all distinct users (each with every quota),
   * distinct models, valid conversation and message refs, and timestamps in
   * distinct hours, days, weeks and months (before the fold, every row
   * touched 12 aggregate keys of its own; ingest now touches none). Run once on an empty store (inserts) and once more with
   * new generation ids on the same keys (every aggregate read and patched).
   */
  async function setup(t: Backend) {
    const users = await makeUsers(t, MAX_INGEST_ROWS);
    const tsOf = (i: number) => Date.UTC(2001, 0, 1) + i * 40 * 86_400_000 + i * 3_600_000;
    const utc = calendar("UTC");
    const refs = await t.run(async (ctx) => {
      const out: { conv: string; msg: string }[] = [];
      for (const [i, u] of users.entries()) {
        // The chat app's ids: stored as given, never looked up.
        out.push({ conv: `conv_${i}`, msg: `msg_${i}` });
        for (const quotaType of ["daily_requests", "monthly_tokens", "monthly_cost_usd"] as const) {
          await ctx.db.insert("userQuotas", {
            userId: u,
            quotaType,
            limit: 1e12,
            used: 0,
            usedNanoUsd: 0,
            // the window of each quota holds its user's row
            resetDate: utc.nextStart(quotaType === "daily_requests" ? "daily" : "monthly", tsOf(i)),
            isActive: true,
            updatedAt: 0,
          });
        }
      }
      await ctx.db.insert("userQuotas", {
        quotaType: "system_monthly_cost_usd",
        limit: 1e6,
        used: 0,
        usedNanoUsd: 0,
        limitNanoUsd: 1e15,
        resetDate: utc.nextStart("monthly", tsOf(0)),
        isActive: true,
        updatedAt: 0,
      });
      return out;
    });
    // Every request holds a reservation on each of its 4 quotas, settled by the batch.
    const quotaIds = await t.run(async (ctx) => (await ctx.db.query("userQuotas").collect()).map((q) => q));
    const budgetId = quotaIds.find((q) => q.userId === undefined)!._id;
    const reserve = (round: number) =>
      t.run(async (ctx) => {
        for (const [i, u] of users.entries()) {
          for (const q of quotaIds.filter((q) => q.userId === u || q._id === budgetId)) {
            await ctx.db.insert("quotaReservations", { requestId: `req-${round}-${i}`, quotaId: q._id, userId: u, amount: 1, expiresAt: Number.MAX_SAFE_INTEGER });
          }
        }
      });
    const batch = (round: number) => ({
      usage: users.map((u, i) =>
        usage(u, {
          generationId: `gen-${round}-${i}-${"x".repeat(200)}`,
          requestId: `req-${round}-${i}`,
          model: `vendor-${i}/model-${"m".repeat(100)}`.slice(0, 128),
          conversationId: refs[i].conv,
          messageId: refs[i].msg,
          provider: "p".repeat(128),
          finishReason: "stop",
          timestamp: tsOf(i),
        }),
      ),
    });
    return { batch, reserve };
  }

  test("stays well inside every limit (measured with getTransactionMetrics)", async () => {
    const t = newBackend();
    const { batch, reserve } = await setup(t);
    const measure = async (round: number) => {
      await reserve(round);
      return await t.mutation(async (ctx) => {
        const res = await ingestBatch(ctx, batch(round), Date.now());
        return { res, m: await ctx.meta.getTransactionMetrics() };
      });
    };
    const fresh = await measure(1);
    expect(fresh.res.inserted.usage).toBe(MAX_INGEST_ROWS);
    const again = await measure(2);
    expect(again.res.inserted.usage).toBe(MAX_INGEST_ROWS);
    for (const { m } of [fresh, again]) {
      const share = (k: keyof typeof m) => m[k].used / (m[k].used + m[k].remaining);
      expect(share("databaseQueries")).toBeLessThan(0.5);
      expect(share("documentsRead")).toBeLessThan(0.5);
      expect(share("documentsWritten")).toBeLessThan(0.5);
      expect(share("bytesRead")).toBeLessThan(0.5);
      expect(share("bytesWritten")).toBeLessThan(0.5);
    }
    // The numbers quoted in the README ("Ingest bound").
    // 402: 401 before the system budget was spread, + its shard (lib/budgetShards.ts);
    // was 1601 when ingest also read every aggregate key.
    expect(again.m.databaseQueries.used).toBe(402);
    // rows + 2 quotas per user (tokens, cost) + one shard of the system budget + 4 settled reservations per request: no summaries
    expect(again.m.documentsWritten.used).toBe(100 + 200 + 1 + 400);
    // With the sending replica named, as the Go service does: its shard claim
    // (lib/budgetShards.ts claimShard) costs one index range per batch, and
    // one write only when it claims or renews (once per 5 minutes).
    const named = async (round: number) => {
      await reserve(round);
      return await t.mutation(async (ctx) => {
        const res = await ingestBatch(ctx, { ...batch(round), replica: "replica-0" }, Date.now());
        return { res, m: await ctx.meta.getTransactionMetrics() };
      });
    };
    const claiming = await named(3);
    expect(claiming.m.documentsWritten.used).toBe(100 + 200 + 1 + 400 + 1);
    const steady = await named(4);
    expect(steady.res.inserted.usage).toBe(MAX_INGEST_ROWS);
    expect(steady.m.databaseQueries.used).toBe(403);
    expect(steady.m.documentsWritten.used).toBe(100 + 200 + 1 + 400);
    expect(await aggregates(t)).toEqual([]);
    expect(await t.run(async (ctx) => (await ctx.db.query("quotaReservations").collect()).length)).toBe(0);
    console.info(
      "worst-case ingest metrics",
      JSON.stringify({
        fresh: Object.fromEntries(Object.entries(fresh.m).map(([k, v]) => [k, v.used])),
        existing: Object.fromEntries(Object.entries(again.m).map(([k, v]) => [k, v.used])),
      }),
    );
  });

  test("the real mutation passes with limits enforced, through HTTP", async () => {
    const t = newBackend();
    const { batch, reserve } = await setup(t);
    await reserve(1);
    const r = await post(t, "/ingest", batch(1));
    expect(r.status).toBe(200);
    expect(r.json.inserted.usage).toBe(MAX_INGEST_ROWS);
  });
});

describe("quota counters", () => {
  const NOW = Date.UTC(2024, 0, 15, 12); // Monday noon UTC

  async function withQuotas(t: Backend) {
    const [u, other] = await makeUsers(t, 2);
    const admin = t.withIdentity(ADMIN);
    await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "daily_requests", limit: 100 });
    await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "monthly_tokens", limit: 1_000_000 });
    await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "monthly_cost_usd", limit: 12.5 });
    await admin.mutation(api.llmmeter.setQuota, { quotaType: "system_monthly_cost_usd", limit: 1000 });
    await admin.mutation(api.llmmeter.setQuota, { userId: other, quotaType: "monthly_tokens", limit: 5, isActive: false });
    const quotas = async () =>
      Object.fromEntries(
        // The system budget's counter is spread over shards: read the sum.
        (await t.run(async (ctx) => withBudgetSummed(ctx.db, await ctx.db.query("userQuotas").collect()))).map((q) => [
          `${q.userId === u ? "u" : q.userId === other ? "other" : "system"}:${q.quotaType}`,
          q,
        ]),
      );
    return { u, other, quotas };
  }

  test("requests, tokens and cost are counted; inactive quotas and duplicates are not", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
    const t = newBackend();
    const { u, other, quotas } = await withQuotas(t);
    const q0 = await quotas();
    expect(q0["u:daily_requests"]).toMatchObject({ used: 0, resetDate: Date.UTC(2024, 0, 16), isActive: true });
    expect(q0["u:monthly_cost_usd"]).toMatchObject({ limit: 12.5, limitNanoUsd: 12_500_000_000, resetDate: Date.UTC(2024, 1, 1) });
    expect(q0["system:system_monthly_cost_usd"].userId).toBeUndefined();
    const batch = {
      usage: [usage(u, { timestamp: NOW, costNanoUsd: 333_333_333, totalTokens: 70 }), usage(other, { timestamp: NOW, costNanoUsd: 1 })],
      requestLogs: [requestLog(u, { timestamp: NOW }), requestLog(u, { timestamp: NOW, status: "error" }), requestLog(other, { timestamp: NOW })],
    };
    await post(t, "/ingest", batch);
    await post(t, "/ingest", batch); // replay: no double counting
    const q = await quotas();
    expect(q["u:daily_requests"].used).toBe(2);
    expect(q["u:monthly_tokens"].used).toBe(70);
    expect(q["u:monthly_cost_usd"]).toMatchObject({ usedNanoUsd: 333_333_333, used: 0.333333333 });
    expect(q["system:system_monthly_cost_usd"].usedNanoUsd).toBe(333_333_334);
    expect(q["other:monthly_tokens"].used).toBe(0);
    // /quotas/get answers the same numbers
    const g = await post(t, "/quotas/get", { userId: u });
    expect(g.json.quotas).toHaveLength(3);
    expect(g.json.system.usedNanoUsd).toBe(333_333_334);
  });

  test("a row after resetDate rolls the window forward; late rows of an old window are not counted", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
    const t = newBackend();
    const { u, quotas } = await withQuotas(t);
    await post(t, "/ingest", { requestLogs: [requestLog(u, { timestamp: NOW })] });
    const nextDay = Date.UTC(2024, 0, 16, 1);
    vi.setSystemTime(nextDay);
    await post(t, "/ingest", {
      requestLogs: [requestLog(u, { timestamp: nextDay }), requestLog(u, { timestamp: nextDay + 1 })],
    });
    let q = (await quotas())["u:daily_requests"];
    expect(q).toMatchObject({ used: 2, resetDate: Date.UTC(2024, 0, 17) });
    // the reset job, a little late, tries to reset the window that ingest already rolled: no-op
    const job = await post(t, "/jobs/quotas/reset", {
      quotaId: q._id,
      expectedResetDate: Date.UTC(2024, 0, 16),
      nextResetDate: Date.UTC(2024, 0, 17),
    });
    expect(job.json.reset).toBe(false);
    // a late delivery from the previous day does not count in today's window
    await post(t, "/ingest", { requestLogs: [requestLog(u, { timestamp: NOW + 5 })] });
    q = (await quotas())["u:daily_requests"];
    expect(q.used).toBe(2);
    // …but the aggregates still count it
    const o = await t.withIdentity(ADMIN).query(api.llmmeter.userDetail, { userId: u, from: NOW - 86_400_000, to: nextDay + 86_400_000 });
    expect(o.totals.requests).toBe(4);
  });

  test("setQuota on a running period takes `used` from the aggregates", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    await post(t, "/ingest", {
      usage: [usage(u, { timestamp: NOW - 3_600_000, costNanoUsd: 5, totalTokens: 9 }), usage(u, { timestamp: Date.UTC(2023, 11, 31), costNanoUsd: 100 })],
      requestLogs: [requestLog(u, { timestamp: NOW - 1 }), requestLog(u, { timestamp: Date.UTC(2024, 0, 14, 23) })],
    });
    const admin = t.withIdentity(ADMIN);
    await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "daily_requests", limit: 10 });
    await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "monthly_cost_usd", limit: 1 });
    await admin.mutation(api.llmmeter.setQuota, { quotaType: "system_monthly_cost_usd", limit: 1 });
    const qs = await admin.query(api.llmmeter.quotas, {});
    const by = Object.fromEntries(qs.map((q) => [q.quotaType, q]));
    expect(by.daily_requests.used).toBe(1);
    expect(by.monthly_cost_usd.usedNanoUsd).toBe(5);
    expect(by.system_monthly_cost_usd.usedNanoUsd).toBe(5);
  });
});

describe("activity:record", () => {
  test("feeds conversationsStarted / filesUploaded and is idempotent by activityKey", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    const r1 = await t.mutation(internal.llmmeter.recordActivity, { userId: u, activityType: "conversation_started", activityKey: "k1", timestamp: T0 });
    const r2 = await t.mutation(internal.llmmeter.recordActivity, { userId: u, activityType: "conversation_started", activityKey: "k1", timestamp: T0 });
    expect(r1).toEqual({ activityKey: "k1", created: true });
    expect(r2).toEqual({ activityKey: "k1", created: false });
    const r3 = await t.mutation(internal.llmmeter.recordActivity, { userId: u, activityType: "file_uploaded", metadata: { bytes: 12 }, timestamp: T0 });
    expect(r3.created).toBe(true);
    await t.mutation(internal.llmmeter.recordActivity, { userId: u, activityType: "sign_in", timestamp: T0 });
    expect(await foldAll(t)).toBe(3);
    const daily = (await aggregates(t)).filter((a) => a.period === "daily");
    const userRow = daily.find((a) => a.scope === "user")!;
    expect(userRow).toMatchObject({ conversationsStarted: 1, filesUploaded: 1, totalRequests: 0 });
    expect(sum(daily.filter((a) => a.scope === "system"), (a) => a.conversationsStarted)).toBe(1);
    expect(sum(daily.filter((a) => a.scope === "system"), (a) => a.filesUploaded)).toBe(1);
    expect(daily.filter((a) => a.scope === "model")).toEqual([]);
    const detail = await t.withIdentity(ADMIN).query(api.llmmeter.userDetail, { userId: u, from: T0 - 1, to: T0 + 1 });
    expect(detail.recentActivity.map((a) => a.activityType).sort()).toEqual(["conversation_started", "file_uploaded", "sign_in"]);
    // activity from the chat app makes the user active in the overview
    const o = await t.withIdentity(ADMIN).query(api.llmmeter.overview, { from: T0 - 3_600_000, to: T0 + 3_600_000 });
    expect(o.activeUsers).toBe(1);
    await expect(
      t.mutation(internal.llmmeter.recordActivity, { userId: u, activityType: "x", activityKey: "k9", timestamp: 5 }),
    ).rejects.toMatchObject({ data: { code: "bad_request", message: "timestamp: expected integer in [946684800000, 4102444800000]" } });
  });

  test("names the user as the app does (externalUserId, the X-Llmmeter-User id): one llmmeterUsers row, shared with the gateway's", async () => {
    const t = newBackend();
    const sub = "user_2abc|org:7";
    await t.mutation(internal.llmmeter.recordActivity, { externalUserId: sub, activityType: "login", timestamp: T0 });
    await t.mutation(internal.llmmeter.recordActivity, { externalUserId: sub, activityType: "message_sent", timestamp: T0 + 1 });
    const users = await t.run((ctx) => ctx.db.query("llmmeterUsers").collect());
    expect(users.map((u) => u.externalId)).toEqual([sub]);
    // the gateway's /users/ensure for the same end user finds the same row
    const ensured = await t.mutation(internal.llmmeter.ensureUser, { externalId: sub, name: "Ada" });
    expect(ensured).toMatchObject({ userId: users[0]._id, created: false, user: { id: users[0]._id, externalId: sub, name: "Ada" } });
    const detail = await t.withIdentity(ADMIN).query(api.llmmeter.userDetail, { userId: users[0]._id, from: T0 - 1, to: T0 + 2 });
    expect(detail.recentActivity.map((a) => a.activityType).sort()).toEqual(["login", "message_sent"]);

    const before = await t.run(async (ctx) => (await ctx.db.query("userActivity").collect()).length);
    for (const [args, message] of [
      [{ externalUserId: "has space", activityType: "login" }, "externalUserId: expected 1 to 128 characters of [A-Za-z0-9_:.@|-]"],
      [{ activityType: "login" }, "exactly one of userId and externalUserId is required"],
      [{ userId: users[0]._id, externalUserId: sub, activityType: "login" }, "exactly one of userId and externalUserId is required"],
    ] as const) {
      await expect(t.mutation(internal.llmmeter.recordActivity, args)).rejects.toMatchObject({ data: { code: "bad_request", message } });
    }
    expect(await t.run(async (ctx) => (await ctx.db.query("userActivity").collect()).length)).toBe(before);
    expect(await t.run(async (ctx) => (await ctx.db.query("llmmeterUsers").collect()).length)).toBe(1);
  });
});
