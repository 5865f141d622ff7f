/**
 * `make bench-convex` (BENCH_CONVEX_SCALE=1) and its one-tenth version in
 * `npm test` (default 0.1): the admin functions the portal calls, read at
 * the traffic profile of issue 14 (10,000 daily active users, 200 models,
 * 500 active users per hour), with Convex's transaction limits on. One line
 * per function and window: `name docs=N bytes=M ms=T`, or the error. Every
 * line must be within the issue's target: 4,000 documents and 4 MiB.
 *
 * Seeded as the fold stores them: one aggregate row per (scope, subject,
 * period) for 31 days (daily), the last 48 hours (hourly), the weeks and the
 * month inside them, and each period's summary computed by the Go fold core
 * itself (foldserver /summarize over the period's rows, rollup.Summarize).
 * Users' totals differ per metric, so the top lists by cost, tokens and
 * requests differ (up to 300 entries a period, the largest summary). Every
 * model's fine latency and TTFT buckets are all non-zero, the largest packed
 * summaryLatency entries this profile can have at small counts.
 * BENCH_CONVEX_ONLY=modelStats,overview measures only the functions named
 * (the seeding is the same, the most of the 35 minutes at the full profile).
 * Reads of a query are measured by running it inside a mutation that reads
 * ctx.meta.getTransactionMetrics() afterwards.
 */
import { describe, expect, inject, test, vi } from "vitest";
import { api } from "./_generated/api";
import { zeroCounters, derivedFields, FINE_BUCKETS } from "../packages/convex/src/lib/aggregates";
import { checkSummary, replaceSummary } from "../packages/convex/src/lib/summaries";
import { calendar, type Period } from "../packages/convex/src/lib/periods";
import { ADMIN, makeUsers, newBackend, type Backend } from "./test.setup";

const SCALE = Number(process.env.BENCH_CONVEX_SCALE ?? "0.1");
const USERS = Math.round(10_000 * SCALE);
const MODELS = Math.max(2, Math.round(200 * SCALE));
const USERS_PER_HOUR = Math.round(500 * SCALE);
const HOUR = 3_600_000;
const DAY = 86_400_000;
const END = Date.UTC(2026, 10, 1); // Sunday 2026-11-01 00:00 UTC: the windows end here
const TARGET_DOCS = 4000;
const TARGET_BYTES = 4 * 1024 * 1024;

async function summarize(rows: any[]): Promise<any[]> {
  const res = await fetch(`${inject("foldUrl")}/summarize`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ apply: { usage: [], requestLogs: [], activity: [], aggregates: rows }, state: { version: 0, summaries: [], users: [] } }),
  });
  if (!res.ok) throw new Error(`foldserver /summarize: HTTP ${res.status}`);
  return (await res.json()).summaries;
}

async function seed(t: Backend) {
  const users = await makeUsers(t, USERS);
  const utc = calendar("UTC");
  const models = Array.from({ length: MODELS }, (_, i) => `vendor-${i % 7}/model-${i}`);
  let total = 0;
  const keys = async (period: Period, start: number, activeUsers: number) => {
    const docs: any[] = [];
    const add = (scope: "system" | "user" | "model", subject: { userId?: any; model?: string }, n: number, tokens: number, cost: number) => {
      const c = zeroCounters();
      c.totalRequests = n;
      c.successfulRequests = n;
      c.totalTokens = tokens;
      c.promptTokens = Math.floor(tokens * 0.8);
      c.completionTokens = tokens - c.promptTokens;
      c.totalCostNanoUsd = cost;
      c.totalProcessingTime = 900 * n;
      c.latencyBuckets[3] = n;
      if (scope === "model") {
        // Every fine bucket non-zero: the largest packed latency entry at this profile.
        c.latencyFine.fill(n / FINE_BUCKETS);
        c.ttftBuckets.fill(n / FINE_BUCKETS);
      }
      const info = utc.periodOf(period, start);
      docs.push({ scope, ...subject, period, periodStart: start, periodKey: info.periodKey, shard: 0, ...derivedFields(c, subject.model ? [subject.model] : models.slice(0, 3), 0) });
    };
    add("system", {}, 100, 100_000, 123_456_700);
    for (const m of models) add("model", { model: m }, 2 * FINE_BUCKETS, 5000, 6_172_835);
    for (let i = 0; i < activeUsers; i++) {
      const u = (start / HOUR + i) % users.length;
      add("user", { userId: users[u] }, 1 + (u % 7), 1000 * (1 + ((u * 3) % 11)), 1_234_567 * (1 + ((u * 5) % 13)));
    }
    const summaries = await summarize(docs.filter((d) => d.scope !== "system"));
    for (let i = 0; i < docs.length; i += 2000) {
      const part = docs.slice(i, i + 2000);
      await t.run(async (ctx) => {
        for (const d of part) await ctx.db.insert("usageAggregates", d);
      });
    }
    await t.run(async (ctx) => {
      for (const s of summaries) await replaceSummary(ctx.db, checkSummary(ctx.db, utc, s, "summary"));
    });
    total += docs.length + 3 * summaries.length;
  };
  for (let d = 1; d <= 31; d++) await keys("daily", END - d * DAY, USERS);
  for (let h = 1; h <= 48; h++) await keys("hourly", END - h * HOUR, USERS_PER_HOUR);
  for (const w of [Date.UTC(2026, 9, 5), Date.UTC(2026, 9, 12), Date.UTC(2026, 9, 19)]) await keys("weekly", w, USERS);
  await keys("monthly", Date.UTC(2026, 9, 1), USERS);
  return total;
}

type Line = { name: string; docs?: number; bytes?: number; ms?: number; error?: string };

async function measure(t: Backend, name: string, call: (ctx: any) => Promise<unknown>): Promise<Line> {
  const t0 = Date.now();
  try {
    const m = await t.withIdentity(ADMIN).mutation(async (ctx: any) => {
      await call(ctx);
      return await ctx.meta.getTransactionMetrics();
    });
    return { name, docs: m.documentsRead.used, bytes: m.bytesRead.used, ms: Date.now() - t0 };
  } catch (e) {
    const msg = (e as any)?.data?.message ?? String((e as Error).message);
    return { name, error: msg.slice(0, 90) };
  }
}

describe(`admin reads at ${SCALE} × the issue 14 profile`, () => {
  test("every admin read within 4,000 documents and 4 MiB for windows up to 31 days and a calendar month", async () => {
    vi.stubEnv("REPORTING_TZ", "UTC");
    const t = newBackend();
    const n = await seed(t);
    const someUser = await t.run(async (ctx) => (await ctx.db.query("llmmeterUsers").first())!._id);
    const windows = {
      // One stored day.
      "24h": { from: END - DAY, to: END },
      // 24 hourly pieces, the most a 24-hour window takes.
      "24h-unaligned": { from: END - 25 * HOUR, to: END - HOUR },
      // 23 hours, a day and an hour: the most pieces a 48-hour window takes.
      "48h": { from: END - 47 * HOUR, to: END + HOUR },
      // Days, weeks, days: 12 pieces.
      "30d": { from: END - 30 * DAY, to: END },
      // One stored month.
      month: { from: Date.UTC(2026, 9, 1), to: END },
    };
    const lines: Line[] = [];
    // BENCH_CONVEX_ONLY=modelStats (a comma list of function names) measures only those.
    const only = process.env.BENCH_CONVEX_ONLY?.split(",");
    const run = async (fn: string, name: string, call: (ctx: any) => Promise<unknown>) => {
      if (!only || only.includes(fn)) lines.push(await measure(t, `${fn}/${name}`, call));
    };
    for (const [wname, w] of Object.entries(windows)) {
      await run("overview", wname, (ctx) => ctx.runQuery(api.llmmeter.overview, w));
      await run("topUsers", wname, (ctx) => ctx.runQuery(api.llmmeter.topUsers, { ...w, by: "cost", limit: 10 }));
      await run("topUsers-100", wname, (ctx) => ctx.runQuery(api.llmmeter.topUsers, { ...w, by: "tokens", limit: 100 }));
      await run("modelStats", wname, (ctx) => ctx.runQuery(api.llmmeter.modelStats, w));
      await run("userDetail", wname, (ctx) => ctx.runQuery(api.llmmeter.userDetail, { ...w, userId: someUser }));
    }
    await run("usageSeries", "30d-daily", (ctx) => ctx.runQuery(api.llmmeter.usageSeries, { period: "daily", ...windows["30d"] }));
    await run("usageSeries", "48h-hourly", (ctx) => ctx.runQuery(api.llmmeter.usageSeries, { period: "hourly", ...windows["48h"] }));
    // The Users page's "cost this month" column reads one monthly row per listed user (at most 100:
    // docs=100 bytes=75,800 measured once). Ten here: convex-test scans the table for every index
    // range (~1 s each at this scale), which real Convex does not.
    const listed = await t.run(async (ctx) => (await ctx.db.query("llmmeterUsers").take(10)).map((u) => u._id));
    await run("userMonthCosts-10", "month", (ctx) => ctx.runQuery(api.llmmeter.userMonthCosts, { month: "2026-10", userIds: listed }));
    expect(lines.length).toBeGreaterThan(0);
    console.info(`bench-convex scale=${SCALE} documents=${n}`);
    for (const l of lines) {
      console.info(l.error ? `${l.name} error="${l.error}"` : `${l.name} docs=${l.docs} bytes=${l.bytes} ms=${l.ms}`);
    }
    for (const l of lines) {
      expect(l.error, l.name).toBeUndefined();
      expect(l.docs!, l.name).toBeLessThanOrEqual(TARGET_DOCS);
      expect(l.bytes!, l.name).toBeLessThanOrEqual(TARGET_BYTES);
    }
    const monthCosts = lines.find((l) => l.name.startsWith("userMonthCosts-10/"));
    if (monthCosts) expect(monthCosts.docs, "userMonthCosts reads one row per user").toBe(listed.length);
    // The summaries are what the reads see: a month's active users and its top user are exact.
    const month = await t.withIdentity(ADMIN).query(api.llmmeter.overview, windows.month);
    expect(month).toMatchObject({ activeUsers: USERS, activeUsersExact: true });
    const thirty = await t.withIdentity(ADMIN).query(api.llmmeter.overview, windows["30d"]);
    expect(thirty).toMatchObject({ activeUsers: USERS, activeUsersExact: false });
  }, 3_600_000); // seeding ~390,000 documents into convex-test takes many minutes at the full profile
});
