/** Admin functions: role checks on every function, window semantics, results, pagination with filters. */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { LATENCY_BOUNDS } from "../packages/convex/src/lib/aggregates";
import { p95FromBuckets } from "../packages/convex/src/lib/window";
import {
  activity,
  ADMIN,
  type Backend,
  makeUsers,
  newBackend,
  NON_ADMIN,
  post,
  prng,
  requestLog,
  SECRET,
  T0,
  usage,
} from "./test.setup";

beforeEach(() => vi.stubEnv("INGEST_SECRET", SECRET));
afterEach(() => vi.unstubAllEnvs());

const H = 3_600_000;
const D = 24 * H;

/** Every admin function with valid arguments (given a user and an alert). */
function calls(f: { userId: Id<"llmmeterUsers">; alertId: Id<"systemAlerts">; reportId: Id<"reports"> }) {
  const w = { from: T0 - D, to: T0 + D };
  return [
    ["overview", (t: any) => t.query(api.llmmeter.overview, w)],
    ["usageSeries", (t: any) => t.query(api.llmmeter.usageSeries, { period: "hourly", ...w })],
    ["topUsers", (t: any) => t.query(api.llmmeter.topUsers, { ...w, by: "cost", limit: 5 })],
    ["userDetail", (t: any) => t.query(api.llmmeter.userDetail, { userId: f.userId, ...w })],
    ["modelStats", (t: any) => t.query(api.llmmeter.modelStats, w)],
    ["requestLogs", (t: any) => t.query(api.llmmeter.requestLogs, { paginationOpts: { numItems: 5, cursor: null } })],
    ["alerts", (t: any) => t.query(api.llmmeter.alerts, {})],
    ["quotas", (t: any) => t.query(api.llmmeter.quotas, {})],
    ["reports", (t: any) => t.query(api.llmmeter.reports, {})],
    ["report", (t: any) => t.query(api.llmmeter.report, { reportId: f.reportId })],
    ["forecast", (t: any) => t.query(api.llmmeter.forecast, {})],
    ["jobRuns", (t: any) => t.query(api.llmmeter.jobRuns, {})],
    ["setQuota", (t: any) => t.mutation(api.llmmeter.setQuota, { userId: f.userId, quotaType: "daily_requests", limit: 5 })],
    ["markAlertRead", (t: any) => t.mutation(api.llmmeter.markAlertRead, { alertId: f.alertId })],
    ["resolveAlert", (t: any) => t.mutation(api.llmmeter.resolveAlert, { alertId: f.alertId })],
    ["searchUsers", (t: any) => t.query(api.llmmeter.searchUsers, { query: "a" })],
  ] as const;
}

async function setupFixture(t: Backend) {
  const [userId] = await makeUsers(t, 1);
  return await t.run(async (ctx) => ({
    userId,
    alertId: await ctx.db.insert("systemAlerts", {
      alertType: "x",
      severity: "warning",
      message: "m",
      isRead: false,
      isResolved: false,
      createdAt: 1,
      conditionKey: "k",
    }),
    reportId: await ctx.db.insert("reports", { kind: "daily", periodKey: "2024-01-15", createdAt: 1, body: {}, csv: "a\n" }),
  }));
}

describe("role checks", () => {
  const names = calls({} as any).map(([name]) => name);
  test.each(names)("llmmeter:%s", async (name) => {
    const t = newBackend();
    const f = await setupFixture(t);
    const call = calls(f).find(([n]) => n === name)![1];
    await expect(call(t)).rejects.toMatchObject({ data: { code: "unauthenticated" } });
    await expect(call(t.withIdentity(NON_ADMIN))).rejects.toMatchObject({ data: { code: "forbidden" } });
    await expect(call(t.withIdentity({ subject: "no-role" }))).rejects.toMatchObject({ data: { code: "forbidden" } });
    await expect(call(t.withIdentity({ subject: "x", role: "Admin" }))).rejects.toMatchObject({ data: { code: "forbidden" } });
    await expect(call(t.withIdentity(ADMIN))).resolves.toBeDefined();
  });
});

describe("windows", () => {
  test("granularity: hourly up to 48 h, daily up to 92 days + 2 h, monthly beyond; periodStart ∈ [from, to)", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    // rows at 13:00, 13:30 and 14:10 on T0's day and one 3 days later
    await post(t, "/ingest", {
      requestLogs: [T0, T0 + H / 2, T0 + H + 600_000, T0 + 3 * D].map((timestamp) => requestLog(u, { timestamp })),
    });
    const admin = t.withIdentity(ADMIN);
    const req = async (from: number, to: number) => (await admin.query(api.llmmeter.overview, { from, to })).requests;
    // hourly: the 13:00 period is included only if from <= 13:00
    expect(await req(T0, T0 + 2 * H)).toBe(3);
    expect(await req(T0 + 1, T0 + 2 * H)).toBe(1);
    expect(await req(T0, T0 + H)).toBe(2);
    expect(await req(T0 - 47 * H, T0 + H)).toBe(2); // exactly 48 h: still hourly
    // 48 h + 1 ms: daily; the day of T0 starts before from, so it is excluded
    expect(await req(T0 - 13 * H + 1, T0 + 35 * H + 2)).toBe(0);
    expect(await req(T0 - 13 * H, T0 + 35 * H + 1)).toBe(3); // daily, day of T0 included
    expect(await req(T0 - 13 * H, T0 - 13 * H + 92 * D + 2 * H)).toBe(4); // 92 days and a DST shift's slack: daily
    // beyond: monthly; January 2024 starts before from
    expect(await req(T0 - 13 * H, T0 - 13 * H + 92 * D + 2 * H + 1)).toBe(0);
    expect(await req(Date.UTC(2024, 0, 1), Date.UTC(2024, 6, 1))).toBe(4);
    await expect(admin.query(api.llmmeter.overview, { from: 5, to: 5 })).rejects.toMatchObject({
      data: { code: "bad_request", message: "to: must be after from" },
    });
    await expect(admin.query(api.llmmeter.overview, { from: -1, to: 5 })).rejects.toMatchObject({ data: { code: "bad_request" } });
  });

  test("p95 is the upper bound of the bucket holding the 95th percentile", () => {
    const b = (pairs: [number, number][]) => {
      const out = new Array(11).fill(0);
      for (const [i, n] of pairs) out[i] = n;
      return out;
    };
    expect(p95FromBuckets(b([]))).toBe(0);
    expect(p95FromBuckets(b([[0, 19], [5, 1]]))).toBe(100); // rank 19 of 20
    expect(p95FromBuckets(b([[0, 18], [6, 2]]))).toBe(8000);
    expect(p95FromBuckets(b([[0, 1]]))).toBe(100);
    expect(p95FromBuckets(b([[10, 1]]))).toBeNull(); // > 64 s
    expect(p95FromBuckets(b([[2, 95], [3, 5]]))).toBe(500); // rank 95 of 100
    expect(p95FromBuckets(b([[2, 94], [3, 6]]))).toBe(1000);
    expect(LATENCY_BOUNDS).toEqual([100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000]);
  });
});

describe("results", () => {
  async function seed(t: Backend) {
    const [a, b, c] = await makeUsers(t, 3);
    await post(t, "/ingest", {
      usage: [
        usage(a, { model: "m1", costNanoUsd: 300, totalTokens: 10, promptTokens: 6, completionTokens: 4, cachedTokens: 2, reasoningTokens: 1 }),
        usage(b, { model: "m2", costNanoUsd: 300, totalTokens: 50 }),
        usage(c, { model: "m2", costNanoUsd: 100, totalTokens: 50, timestamp: T0 + H }),
      ],
      requestLogs: [
        requestLog(a, { model: "m1", processingTime: 90 }),
        requestLog(a, { model: "m1", processingTime: 100, status: "error", statusCode: 500 }),
        requestLog(a, { model: "m1", processingTime: 3000, status: "error", statusCode: 502 }),
        requestLog(b, { model: "m2", processingTime: 200 }),
        requestLog(c, { model: "m2", processingTime: 70_000, timestamp: T0 + H }),
      ],
      activity: [activity(a, { activityType: "sign_in" })],
    });
    await post(t, "/jobs/health/store", { checkedAt: Date.now(), openrouterOk: true, storeOk: true, outboxDepth: 3, jobLagMs: 7, details: { v: 1 } });
    return { a, b, c };
  }
  const w = { from: T0, to: T0 + 2 * H };

  test("overview", async () => {
    const t = newBackend();
    await seed(t);
    const o = await t.withIdentity(ADMIN).query(api.llmmeter.overview, w);
    const { health, ...rest } = o;
    expect(rest).toEqual({
      requests: 5,
      successful: 3,
      failed: 2,
      promptTokens: 26,
      completionTokens: 14,
      totalTokens: 110,
      cachedTokens: 2,
      reasoningTokens: 1,
      costNanoUsd: 700,
      costUsd: 7e-7,
      avgProcessingMs: Math.round((90 + 100 + 3000 + 200 + 70_000) / 5),
      p95ProcessingMs: null,
      // Two stored hours: the larger hour's count, a lower bound of the 3 distinct users.
      activeUsers: 2,
      activeUsersExact: false,
      modelsUsed: 2,
    });
    // The stored day holding both hours counts them exactly.
    const day = await t.withIdentity(ADMIN).query(api.llmmeter.overview, { from: Date.UTC(2024, 0, 15), to: Date.UTC(2024, 0, 16) });
    expect(day).toMatchObject({ activeUsers: 3, activeUsersExact: true, requests: 5, costNanoUsd: 700 });
    expect(health).toEqual({ checkedAt: expect.any(Number), openrouterOk: true, keyRemainingNanoUsd: null, storeOk: true, outboxDepth: 3, jobLagMs: 7, details: { v: 1 } });
  });

  test("usageSeries: ascending, shards merged, by user or model, bounded", async () => {
    const t = newBackend();
    const { c } = await seed(t);
    const admin = t.withIdentity(ADMIN);
    const s = await admin.query(api.llmmeter.usageSeries, { period: "hourly", ...w });
    expect(s.map((p) => [p.periodKey, p.periodStart, p.requests, p.costNanoUsd, p.costUsd])).toEqual([
      ["2024-01-15T13", T0, 4, 600, 6e-7],
      ["2024-01-15T14", T0 + H, 1, 100, 1e-7],
    ]);
    expect(s[0]).toMatchObject({ successful: 2, failed: 2, avgProcessingMs: Math.round(3390 / 4), totalTokens: 60 });
    const byUser = await admin.query(api.llmmeter.usageSeries, { period: "daily", from: T0 - 13 * H, to: T0 + 11 * H, userId: c });
    expect(byUser.map((p) => [p.periodKey, p.requests, p.costNanoUsd])).toEqual([["2024-01-15", 1, 100]]);
    const byModel = await admin.query(api.llmmeter.usageSeries, { period: "monthly", from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 1, 1), modelSlug: "m2" });
    expect(byModel.map((p) => [p.periodKey, p.requests, p.costNanoUsd])).toEqual([["2024-01", 2, 400]]);
    await expect(admin.query(api.llmmeter.usageSeries, { period: "hourly", from: 0, to: 1001 * H })).rejects.toMatchObject({
      data: { code: "bad_request", message: "to: window too wide for hourly points (max 1000 points)" },
    });
    expect(await admin.query(api.llmmeter.usageSeries, { period: "hourly", from: 0, to: 1000 * H })).toEqual([]);
    await expect(admin.query(api.llmmeter.usageSeries, { period: "daily", ...w, userId: c, modelSlug: "m2" })).rejects.toMatchObject({
      data: { code: "bad_request" },
    });
  });

  test("topUsers: by metric, ties by userId, with names", async () => {
    const t = newBackend();
    const { a, b, c } = await seed(t);
    const admin = t.withIdentity(ADMIN);
    const byCost = await admin.query(api.llmmeter.topUsers, { ...w, by: "cost", limit: 10 });
    const tie = [a, b].sort();
    expect(byCost.map((r) => r.userId)).toEqual([...tie, c]);
    expect(byCost.find((r) => r.userId === a)).toEqual({
      userId: a,
      name: "u 0",
      email: "u0@example.com",
      requests: 3,
      totalTokens: 10,
      costNanoUsd: 300,
      costUsd: 3e-7,
    });
    expect((await admin.query(api.llmmeter.topUsers, { ...w, by: "tokens", limit: 2 })).map((r) => r.userId)).toEqual([b, c].sort());
    expect((await admin.query(api.llmmeter.topUsers, { ...w, by: "requests", limit: 1 })).map((r) => r.userId)).toEqual([a]);
    await expect(admin.query(api.llmmeter.topUsers, { ...w, by: "cost", limit: 0 })).rejects.toMatchObject({ data: { code: "bad_request" } });
  });

  test("userDetail and modelStats", async () => {
    const t = newBackend();
    const { a } = await seed(t);
    const admin = t.withIdentity(ADMIN);
    const d = await admin.query(api.llmmeter.userDetail, { userId: a, ...w });
    expect(d.user).toMatchObject({ id: a, name: "u 0" });
    expect(d.totals).toMatchObject({ requests: 3, failed: 2, costNanoUsd: 300, p95ProcessingMs: 4000, modelsUsed: 1 });
    expect(d.recentActivity).toHaveLength(1);
    await t.run((ctx) => ctx.db.delete(a));
    await expect(admin.query(api.llmmeter.userDetail, { userId: a, ...w })).rejects.toMatchObject({ data: { code: "not_found" } });
    await expect(admin.query(api.llmmeter.userDetail, { userId: "nope", ...w })).rejects.toMatchObject({
      data: { code: "bad_request", message: "userId: not a users id" },
    });
    const m = await admin.query(api.llmmeter.modelStats, w);
    expect(m).toEqual([
      {
        model: "m2",
        requests: 2,
        successful: 2,
        failed: 0,
        totalTokens: 100,
        costNanoUsd: 400,
        costUsd: 4e-7,
        avgProcessingMs: 35_100,
        p95ProcessingMs: null,
        errorRate: 0,
        // Fine buckets: 200 ms → 233, 70 s → 77037; no first token recorded → no TTFT.
        p50LatencyMs: 233,
        p95LatencyMs: 77_037,
        p99LatencyMs: 77_037,
        p50TtftMs: null,
        p95TtftMs: null,
        p99TtftMs: null,
      },
      {
        model: "m1",
        requests: 3,
        successful: 1,
        failed: 2,
        totalTokens: 10,
        costNanoUsd: 300,
        costUsd: 3e-7,
        avgProcessingMs: 1063,
        p95ProcessingMs: 4000,
        errorRate: 0.6667,
        p50LatencyMs: 119,
        p95LatencyMs: 3388,
        p99LatencyMs: 3388,
        p50TtftMs: null,
        p95TtftMs: null,
        p99TtftMs: null,
      },
    ]);
  });

  test("recent activity is the latest 50, newest first", async () => {
    const t = newBackend();
    const [u] = await makeUsers(t, 1);
    for (let i = 0; i < 60; i += 30) {
      await post(t, "/ingest", { activity: Array.from({ length: 30 }, (_, j) => activity(u, { timestamp: T0 + (i + j) * 1000 })) });
    }
    const d = await t.withIdentity(ADMIN).query(api.llmmeter.userDetail, { userId: u, from: T0, to: T0 + H });
    expect(d.recentActivity).toHaveLength(50);
    expect(d.recentActivity[0].timestamp).toBe(T0 + 59_000);
    expect(d.recentActivity[49].timestamp).toBe(T0 + 10_000);
  });
});

describe("requestLogs pagination", () => {
  test("every filter combination pages through exactly the matching rows, newest first", async () => {
    const t = newBackend();
    const users = await makeUsers(t, 3);
    const rnd = prng(7);
    const rows = Array.from({ length: 120 }, (_, i) =>
      requestLog(rnd.next() < 0.1 ? undefined : rnd.pick(users), {
        timestamp: T0 + i * 1000 + rnd.int(0, 999),
        model: rnd.next() < 0.1 ? undefined : rnd.pick(["m1", "m2", "m3"]),
        status: rnd.next() < 0.3 ? "error" : "success",
      }),
    );
    for (let i = 0; i < rows.length; i += 60) await post(t, "/ingest", { requestLogs: rows.slice(i, i + 60) });
    const admin = t.withIdentity(ADMIN);
    const from = T0 + 20_000;
    const to = T0 + 100_000;
    for (const userId of [undefined, users[1]]) {
      for (const modelSlug of [undefined, "m2"]) {
        for (const status of [undefined, "error"] as const) {
          for (const win of [{}, { from }, { to }, { from, to }]) {
            const expected = rows
              .filter(
                (r) =>
                  (userId === undefined || r.userId === userId) &&
                  (modelSlug === undefined || r.model === modelSlug) &&
                  (status === undefined || r.status === status) &&
                  (!("from" in win) || r.timestamp >= from) &&
                  (!("to" in win) || r.timestamp < to),
              )
              .map((r) => r.requestId)
              .reverse();
            const got: string[] = [];
            let cursor: string | null = null;
            for (let guard = 0; guard < 100; guard++) {
              const page: any = await admin.query(api.llmmeter.requestLogs, {
                paginationOpts: { numItems: 7, cursor },
                userId,
                modelSlug,
                status,
                ...win,
              });
              got.push(...page.page.map((d: any) => d.requestId));
              if (!page.isDone) expect(page.page).toHaveLength(7);
              if (page.isDone) break;
              cursor = page.continueCursor;
            }
            expect(got, JSON.stringify({ userId, modelSlug, status, win })).toEqual(expected);
          }
        }
      }
    }
    await expect(
      admin.query(api.llmmeter.requestLogs, { paginationOpts: { numItems: 201, cursor: null } }),
    ).rejects.toMatchObject({ data: { code: "bad_request" } });
  });
});

describe("alerts, quotas, reports, forecasts, job runs", () => {
  test("alerts filter by status and severity; markAlertRead; resolveAlert", async () => {
    const t = newBackend();
    const ids: string[] = [];
    for (const [i, severity] of (["info", "warning", "critical", "critical"] as const).entries()) {
      ids.push((await post(t, "/jobs/alerts/open", { conditionKey: `c${i}`, alertType: "a", severity, message: `m${i}` })).json.alertId);
    }
    const admin = t.withIdentity(ADMIN);
    expect((await admin.mutation(api.llmmeter.resolveAlert, { alertId: ids[3] })).resolved).toBe(true);
    expect((await admin.mutation(api.llmmeter.resolveAlert, { alertId: ids[3] })).resolved).toBe(false);
    await admin.mutation(api.llmmeter.markAlertRead, { alertId: ids[0] });
    const all = await admin.query(api.llmmeter.alerts, {});
    expect(all.map((a) => a.message)).toEqual(["m3", "m2", "m1", "m0"].filter((m) => all.some((a) => a.message === m)));
    expect(all).toHaveLength(4);
    expect((await admin.query(api.llmmeter.alerts, { status: "open" })).map((a) => a.id).sort()).toEqual(ids.slice(0, 3).sort());
    expect((await admin.query(api.llmmeter.alerts, { status: "resolved" })).map((a) => a.id)).toEqual([ids[3]]);
    expect((await admin.query(api.llmmeter.alerts, { status: "open", severity: "critical" })).map((a) => a.id)).toEqual([ids[2]]);
    expect((await admin.query(api.llmmeter.alerts, { severity: "critical" })).length).toBe(2);
    expect((await admin.query(api.llmmeter.alerts, { limit: 1 })).length).toBe(1);
    expect(all.find((a) => a.id === ids[0])!.isRead).toBe(true);
    await expect(admin.mutation(api.llmmeter.markAlertRead, { alertId: "zz" })).rejects.toMatchObject({ data: { code: "bad_request" } });
  });

  test("setQuota validates and sets resetDate in the reporting time zone", async () => {
    vi.stubEnv("REPORTING_TZ", "Europe/Berlin");
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.UTC(2024, 2, 31, 12)); // Easter Sunday, the day after the CET→CEST switch
      const t = newBackend();
      const [u] = await makeUsers(t, 1);
      const admin = t.withIdentity(ADMIN);
      const bad: [object, string][] = [
        [{ userId: u, quotaType: "daily_requests", limit: -1 }, "limit: expected a number >= 0"],
        [{ userId: u, quotaType: "daily_requests", limit: 1.5 }, "limit: expected an integer for this quota type"],
        // Past 2^53 − 1 nanos a cost limit is no longer an exact integer.
        [{ userId: u, quotaType: "monthly_cost_usd", limit: 1e10 }, "limit: expected at most 9007199.254740991 USD"],
        [{ quotaType: "monthly_tokens", limit: 1 }, "userId: required for monthly_tokens"],
        [{ userId: u, quotaType: "system_monthly_cost_usd", limit: 1 }, "userId: not allowed for system_monthly_cost_usd"],
      ];
      for (const [args, message] of bad) {
        await expect(admin.mutation(api.llmmeter.setQuota, args as any)).rejects.toMatchObject({ data: { code: "bad_request", message } });
      }
      const a = await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "daily_requests", limit: 5 });
      const b = await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "daily_requests", limit: 7, isActive: false });
      expect(b).toEqual({ quotaId: a.quotaId, created: false });
      await admin.mutation(api.llmmeter.setQuota, { userId: u, quotaType: "monthly_cost_usd", limit: 0.1 });
      const qs = await admin.query(api.llmmeter.quotas, { userId: u });
      const daily = qs.find((q) => q.quotaType === "daily_requests")!;
      expect(daily).toMatchObject({ limit: 7, isActive: false, resetDate: Date.UTC(2024, 2, 31, 22) }); // midnight CEST
      const cost = qs.find((q) => q.quotaType === "monthly_cost_usd")!;
      expect(cost).toMatchObject({ limit: 0.1, limitNanoUsd: 100_000_000, resetDate: Date.UTC(2024, 2, 31, 22) }); // April 1st
    } finally {
      vi.useRealTimers();
    }
  });

  test("reports list without CSV, report with CSV, latest forecast run, job runs", async () => {
    const t = newBackend();
    const admin = t.withIdentity(ADMIN);
    const r = await post(t, "/jobs/reports/store", { kind: "weekly", periodKey: "2024-W03", body: { total: 1 }, csv: "h\n1\n" });
    const list = await admin.query(api.llmmeter.reports, {});
    expect(list).toEqual([{ id: r.json.reportId, kind: "weekly", periodKey: "2024-W03", createdAt: expect.any(Number), body: { total: 1 }, csvBytes: 4, deliveries: [] }]);
    expect((await admin.query(api.llmmeter.report, { reportId: r.json.reportId })).csv).toBe("h\n1\n");
    expect(await admin.query(api.llmmeter.forecast, {})).toEqual({ createdAt: null, rows: [] });
    const row = { scope: "system", month: "2024-02", method: "linear", costNanoUsd: 2, costLowNanoUsd: 1, costHighNanoUsd: 3, tokens: 5, tokensLow: 4, tokensHigh: 6 };
    await post(t, "/jobs/forecasts/store", { createdAt: 10, rows: [row] });
    await post(t, "/jobs/forecasts/store", { createdAt: 20, rows: [row, { ...row, month: "2024-03" }] });
    const f = await admin.query(api.llmmeter.forecast, {});
    expect(f.createdAt).toBe(20);
    expect(f.rows.map((x) => x.month).sort()).toEqual(["2024-02", "2024-03"]);
    expect(f.rows[0]).toMatchObject({ costUsd: 2e-9, userId: null, backtestMape: null });
    const now = Date.now();
    for (const [job, startedAt] of [["a", 1], ["b", 2], ["a", 3]] as const) {
      await post(t, "/jobs/runs/record", { job, startedAt: now + startedAt, endedAt: now + startedAt, outcome: "success", counts: {} });
    }
    expect((await admin.query(api.llmmeter.jobRuns, {})).map((r) => r.startedAt)).toEqual([now + 3, now + 2, now + 1]);
    expect((await admin.query(api.llmmeter.jobRuns, { job: "a", limit: 1 })).map((r) => r.startedAt)).toEqual([now + 3]);
  });
});
