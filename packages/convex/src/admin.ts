/**
 * Admin functions for the portal (public; admin role required, see
 * lib/auth.ts). Window semantics are in lib/window.ts and the README; the
 * embedded SQLite engine serves the same functions with the same results.
 *
 * All reads go through indexes: aggregates for windows (bounded by a read
 * budget), index ranges with take/paginate for rows. Money is always given as
 * exact integer costNanoUsd plus display costUsd (= nanos / 1e9).
 * Ids are taken as strings and checked (bad_request if not an id of the table).
 */
import { v } from "convex/values";
import type { Doc, Id, TableNames } from "./server";
import type { QueryCtx } from "./server";
import type { AdminBuilders } from "./lib/auth";
import { insertDoc } from "./lib/optional";
import {
  vAcknowledged,
  vAlertListItem,
  vForecast,
  vJobRun,
  vModelStat,
  vOk,
  vOpenAlertCount,
  vOverview,
  vQuotaView,
  vReport,
  vReportSummary,
  vResolved,
  vSeriesPoint,
  vSetQuotaResult,
  vSettings,
  vSilenced,
  vTopUser,
  vUserDetail,
} from "./lib/results";
import { badRequest, notFound } from "./lib/errors";
import { nanosToUsd, usdToNanos } from "./lib/money";
import { NOMINAL_PERIOD_MS, reportingCalendar } from "./lib/periods";
import { clearBudgetShards } from "./lib/budgetShards";
import { recordQuotaChange } from "./lib/quotaChanges";
import {
  isCostQuota,
  MAX_AMOUNT,
  QUOTA_PERIOD,
  quotasOfUser,
  quotaView,
  systemBudget,
  usedFromAggregates,
  usedFields,
  withBudgetSummed,
} from "./lib/quotas";
import { vPeriod, vQuotaType, vSeverity } from "./lib/validators";
import {
  avgMs,
  checkWindow,
  granularityFor,
  groupBy,
  mergeRows,
  fineStatsOf,
  p95FromBuckets,
  readAggregates,
  ReadBudget,
  totalsOf,
} from "./lib/window";
import { userView } from "./users";
import { addCounters, zeroCounters, type Counters } from "./lib/aggregates";
import { cover, fineByModel, readModelsPieces, readUsersPieces, topUsersOf } from "./lib/summaries";

/** Most points llmmeter:usageSeries returns; wider windows are rejected. */
export const MAX_SERIES_POINTS = 1000;
export const MAX_PAGE_SIZE = 200;
export const RECENT_ACTIVITY = 50;

export function idOf<T extends TableNames>(ctx: QueryCtx, table: T, raw: string, field: string): Id<T> {
  const id = ctx.db.normalizeId(table, raw);
  // The message names the seed's table ("users"), as both engines answer it (contract/cases).
  if (id === null) badRequest(`${field}: not a ${table === "llmmeterUsers" ? "users" : table} id`);
  return id;
}

/**
 * The user a quota (userId, quotaType) belongs to, checked: none for the
 * system budget (system_monthly_cost_usd), an existing user for the others.
 */
export async function quotaOwner(
  ctx: QueryCtx,
  args: { userId?: string; quotaType: Doc<"userQuotas">["quotaType"] },
): Promise<Id<"llmmeterUsers"> | undefined> {
  if (args.quotaType === "system_monthly_cost_usd") {
    if (args.userId !== undefined) badRequest("userId: not allowed for system_monthly_cost_usd");
    return undefined;
  }
  if (args.userId === undefined) badRequest(`userId: required for ${args.quotaType}`);
  const userId = idOf(ctx, "llmmeterUsers", args.userId, "userId");
  if (!(await ctx.db.get(userId))) notFound("userId: no such user");
  return userId;
}

export function limitOf(limit: number | undefined, dflt: number, max: number): number {
  if (limit === undefined) return dflt;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > max) badRequest(`limit: expected integer in [1, ${max}]`);
  return limit;
}

const windowArgs = { from: v.number(), to: v.number() };

/**
 * Totals for the window from the system rows of its pieces (lib/summaries.ts
 * cover), activeUsers from the pieces' summaries (exact for one stored
 * period, else the largest period's count: activeUsersExact false), and the
 * latest health check.
 */
export const overview = (b: AdminBuilders) => b.query({
  args: windowArgs,
  returns: vOverview,
  handler: async (ctx, { from, to }) => {
    checkWindow(from, to);
    const pieces = cover(reportingCalendar(), granularityFor(from, to), from, to);
    const budget = new ReadBudget();
    const system = [];
    for (const p of pieces) {
      system.push(...(await readAggregates(ctx, budget, { scope: "system", period: p.period, from: p.periodStart, to: p.periodStart + 1 })));
    }
    const users = await readUsersPieces(ctx, budget, pieces);
    const health = await ctx.db.query("systemHealth").withIndex("by_checked_at").order("desc").first();
    return {
      ...totalsOf(system),
      activeUsers: Math.max(0, ...users.map((u) => u?.activeUsers ?? 0)),
      activeUsersExact: pieces.length <= 1,
      health: health && {
        checkedAt: health.checkedAt,
        openrouterOk: health.openrouterOk,
        keyRemainingNanoUsd: health.keyRemainingNanoUsd ?? null,
        storeOk: health.storeOk,
        outboxDepth: health.outboxDepth,
        jobLagMs: health.jobLagMs,
        details: health.details,
      },
    };
  },
});

/**
 * One point per period with data, ascending by periodStart, shards merged.
 * Scope: userId → that user's rows; modelSlug → that model's rows; neither →
 * system rows; both → bad_request. At most MAX_SERIES_POINTS periods:
 * to − from must be ≤ 1000 × nominal period (1 h, 1 d, 7 d, 31 d).
 */
export const usageSeries = (b: AdminBuilders) => b.query({
  args: { period: vPeriod, ...windowArgs, userId: v.optional(v.string()), modelSlug: v.optional(v.string()) },
  returns: v.array(vSeriesPoint),
  handler: async (ctx, args) => {
    checkWindow(args.from, args.to);
    if (args.to - args.from > MAX_SERIES_POINTS * NOMINAL_PERIOD_MS[args.period]) {
      badRequest(`to: window too wide for ${args.period} points (max ${MAX_SERIES_POINTS} points)`);
    }
    if (args.userId !== undefined && args.modelSlug !== undefined) {
      badRequest("modelSlug: cannot be combined with userId");
    }
    const userId = args.userId === undefined ? undefined : idOf(ctx, "llmmeterUsers", args.userId, "userId");
    const scope = userId !== undefined ? "user" : args.modelSlug !== undefined ? "model" : "system";
    const rows = await readAggregates(ctx, new ReadBudget(), {
      scope,
      period: args.period,
      from: args.from,
      to: args.to,
      userId,
      model: args.modelSlug,
    });
    const points = [...groupBy(rows, (r) => r.periodStart)].sort((a, b) => a[0] - b[0]);
    return points.map(([periodStart, group]) => {
      const { counters: c } = mergeRows(group);
      return {
        periodKey: group[0]!.periodKey,
        periodStart,
        requests: c.totalRequests,
        successful: c.successfulRequests,
        failed: c.failedRequests,
        promptTokens: c.promptTokens,
        completionTokens: c.completionTokens,
        totalTokens: c.totalTokens,
        costNanoUsd: c.totalCostNanoUsd,
        costUsd: nanosToUsd(c.totalCostNanoUsd),
        avgProcessingMs: avgMs(c),
      };
    });
  },
});

/**
 * The top users of the window by the metric (cost = costNanoUsd, tokens =
 * totalTokens, requests), descending, ties by userId ascending; the first
 * `limit` (1..100). Read from the pieces' summaries; exact for one stored
 * period, and for several see lib/summaries.ts (totals summed from the
 * periods' top lists).
 */
export const topUsers = (b: AdminBuilders) => b.query({
  args: {
    ...windowArgs,
    by: v.union(v.literal("cost"), v.literal("tokens"), v.literal("requests")),
    limit: v.number(),
  },
  returns: v.array(vTopUser),
  handler: async (ctx, args) => {
    checkWindow(args.from, args.to);
    const limit = limitOf(args.limit, 10, 100);
    const pieces = cover(reportingCalendar(), granularityFor(args.from, args.to), args.from, args.to);
    const budget = new ReadBudget();
    const top = await topUsersOf(ctx, budget, pieces, args.by, limit);
    return await Promise.all(
      top.map(async (t) => {
        const u = await ctx.db.get(t.userId);
        return {
          userId: t.userId,
          name: u?.name ?? null,
          email: u?.email ?? null,
          requests: t.requests,
          totalTokens: t.totalTokens,
          costNanoUsd: t.costNanoUsd,
          costUsd: nanosToUsd(t.costNanoUsd),
        };
      }),
    );
  },
});

/**
 * A user, their totals in the window (user rows; same shape as overview
 * without activeUsers/health), all their quotas, and their latest 50 activity
 * rows (newest first, regardless of the window). not_found for an unknown user.
 */
export const userDetail = (b: AdminBuilders) => b.query({
  args: { userId: v.string(), ...windowArgs },
  returns: vUserDetail,
  handler: async (ctx, args) => {
    checkWindow(args.from, args.to);
    const userId = idOf(ctx, "llmmeterUsers", args.userId, "userId");
    const user = await ctx.db.get(userId);
    if (!user) notFound("userId: no such user");
    const period = granularityFor(args.from, args.to);
    const rows = await readAggregates(ctx, new ReadBudget(), { scope: "user", period, from: args.from, to: args.to, userId });
    const quotas = await quotasOfUser(ctx.db, userId);
    const activity = await ctx.db
      .query("userActivity")
      .withIndex("by_user_id_and_timestamp", (q) => q.eq("userId", userId))
      .order("desc")
      .take(RECENT_ACTIVITY);
    return {
      user: userView(user),
      totals: totalsOf(rows),
      quotas: quotas.map(quotaView),
      recentActivity: activity.map((a) => ({
        id: a._id,
        activityKey: a.activityKey,
        activityType: a.activityType,
        metadata: a.metadata ?? null,
        timestamp: a.timestamp,
      })),
    };
  },
});

/**
 * Per-model totals in the window from the model entries of its pieces'
 * summaries, sorted by costNanoUsd descending then model ascending.
 * errorRate = failed / requests rounded to 4 decimals (0 without requests).
 */
export const modelStats = (b: AdminBuilders) => b.query({
  args: windowArgs,
  returns: v.array(vModelStat),
  handler: async (ctx, { from, to }) => {
    checkWindow(from, to);
    const pieces = cover(reportingCalendar(), granularityFor(from, to), from, to);
    const byModel = new Map<string, Counters>();
    for (const doc of await readModelsPieces(ctx, new ReadBudget(), pieces)) {
      const fine = fineByModel(doc.latency);
      for (const { model, ...c } of doc.models.models) {
        const sum = byModel.get(model) ?? zeroCounters();
        addCounters(sum, { ...c, ...fine.get(model) });
        byModel.set(model, sum);
      }
    }
    const stats = [...byModel].map(([model, c]) => ({
      model,
      requests: c.totalRequests,
      successful: c.successfulRequests,
      failed: c.failedRequests,
      totalTokens: c.totalTokens,
      costNanoUsd: c.totalCostNanoUsd,
      costUsd: nanosToUsd(c.totalCostNanoUsd),
      avgProcessingMs: avgMs(c),
      p95ProcessingMs: p95FromBuckets(c.latencyBuckets),
      errorRate: c.totalRequests > 0 ? Math.round((c.failedRequests / c.totalRequests) * 10_000) / 10_000 : 0,
      ...fineStatsOf(c),
    }));
    stats.sort((a, b) => b.costNanoUsd - a.costNanoUsd || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
    return stats;
  },
});

/**
 * Request-log rows, newest first (timestamp descending), as a Convex
 * pagination result. Optional filters status, userId, modelSlug and
 * timestamp ∈ [from, to); every combination is an exact index range, so pages
 * are full. numItems ≤ 200.
 */
/** A job run as llmmeter:jobRuns and the jobs' /jobs/runs/list answer it. */
export function jobRunView(r: Doc<"jobRuns">) {
  return {
    id: r._id,
    job: r.job,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    outcome: r.outcome,
    windowFrom: r.windowFrom ?? null,
    windowTo: r.windowTo ?? null,
    counts: r.counts,
    error: r.error ?? null,
  };
}

/** An alert as llmmeter:alerts and the jobs' /jobs/alerts/list answer it. */
export function alertView(a: Doc<"systemAlerts">) {
  return {
    id: a._id,
    alertType: a.alertType,
    severity: a.severity,
    message: a.message,
    metadata: a.metadata ?? null,
    userId: a.userId ?? null,
    isRead: a.isRead,
    isResolved: a.isResolved,
    createdAt: a.createdAt,
    resolvedAt: a.resolvedAt ?? null,
    conditionKey: a.conditionKey,
    lastNotifiedAt: a.lastNotifiedAt ?? null,
    history: a.history ?? [{ severity: a.severity, at: a.createdAt }],
    acknowledgedAt: a.acknowledgedAt ?? null,
    silencedUntil: a.silencedUntil ?? null,
  };
}

const SEVERITIES_DOWN = ["critical", "warning", "info"] as const;

/**
 * Alerts by severity (critical first), then newest first; limit default 50,
 * max 200. One index range per severity, so O(limit). Each names its user
 * (userName: name, else email) for the link to the user's page.
 */
export const alerts = (b: AdminBuilders) => b.query({
  args: {
    status: v.optional(v.union(v.literal("open"), v.literal("resolved"))),
    severity: v.optional(vSeverity),
    limit: v.optional(v.number()),
  },
  returns: v.array(vAlertListItem),
  handler: async (ctx, args) => {
    const limit = limitOf(args.limit, 50, 200);
    const resolved = args.status === undefined ? undefined : args.status === "resolved";
    const t = () => ctx.db.query("systemAlerts");
    const rows: Doc<"systemAlerts">[] = [];
    for (const severity of args.severity !== undefined ? [args.severity] : SEVERITIES_DOWN) {
      if (rows.length >= limit) break;
      const q =
        resolved !== undefined
          ? t().withIndex("by_is_resolved_and_severity_and_created_at", (q) => q.eq("isResolved", resolved).eq("severity", severity))
          : t().withIndex("by_severity_and_created_at", (q) => q.eq("severity", severity));
      rows.push(...(await q.order("desc").take(limit - rows.length)));
    }
    const names = await userNames(ctx, rows);
    return rows.map((a) => ({ ...alertView(a), userName: names(a.userId) }));
  },
});

/** Most alerts admin:openAlertCount reads per count. */
const ALERT_COUNT_CAP = 100;

/** Open alerts for the navigation badge: {open, critical, capped} (capped: more than ALERT_COUNT_CAP). */
export const openAlertCount = (b: AdminBuilders) => b.query({
  args: {},
  returns: vOpenAlertCount,
  handler: async (ctx) => {
    const open = await ctx.db
      .query("systemAlerts")
      .withIndex("by_is_resolved_and_created_at", (q) => q.eq("isResolved", false))
      .take(ALERT_COUNT_CAP + 1);
    const critical = await ctx.db
      .query("systemAlerts")
      .withIndex("by_is_resolved_and_severity_and_created_at", (q) => q.eq("isResolved", false).eq("severity", "critical"))
      .take(ALERT_COUNT_CAP + 1);
    return {
      open: Math.min(open.length, ALERT_COUNT_CAP),
      critical: Math.min(critical.length, ALERT_COUNT_CAP),
      capped: open.length > ALERT_COUNT_CAP,
    };
  },
});

/**
 * Quotas of a user, or all quotas (at most 1000) including the system
 * budget, or with system: true the system budget alone (none or one: a
 * page that needs only the budget, such as a user's, reads O(1)).
 */
export const quotas = (b: AdminBuilders) => b.query({
  args: { userId: v.optional(v.string()), system: v.optional(v.boolean()) },
  returns: v.array(vQuotaView),
  handler: async (ctx, args) => {
    if (args.system === true) {
      if (args.userId !== undefined) badRequest("userId: not allowed with system");
      const budget = await systemBudget(ctx.db);
      return budget === null ? [] : [quotaView(budget)];
    }
    if (args.userId !== undefined) {
      const userId = idOf(ctx, "llmmeterUsers", args.userId, "userId");
      return (await quotasOfUser(ctx.db, userId)).map(quotaView);
    }
    const all = await ctx.db.query("userQuotas").withIndex("by_user_id").take(1000);
    // The budget's counter is spread over shards: answer their sum.
    return (await withBudgetSummed(ctx.db, all)).map(quotaView);
  },
});

/** Latest reports (createdAt descending) without their CSV; limit default 20, max 100. */
export const reports = (b: AdminBuilders) => b.query({
  args: { limit: v.optional(v.number()) },
  returns: v.array(vReportSummary),
  handler: async (ctx, args) => {
    const limit = limitOf(args.limit, 20, 100);
    const rows = await ctx.db.query("reports").withIndex("by_created_at").order("desc").take(limit);
    return rows.map((r) => ({
      id: r._id,
      kind: r.kind,
      periodKey: r.periodKey,
      createdAt: r.createdAt,
      body: r.body,
      csvBytes: new TextEncoder().encode(r.csv).length,
      deliveries: r.deliveries ?? [],
    }));
  },
});

/** One report with its CSV. */
export const report = (b: AdminBuilders) => b.query({
  args: { reportId: v.string() },
  returns: vReport,
  handler: async (ctx, args) => {
    const r = await ctx.db.get(idOf(ctx, "reports", args.reportId, "reportId"));
    if (!r) notFound("reportId: no such report");
    return { id: r._id, kind: r.kind, periodKey: r.periodKey, createdAt: r.createdAt, body: r.body, csv: r.csv, deliveries: r.deliveries ?? [] };
  },
});

/**
 * Settings the portal needs to label and pick periods as reports do:
 * reportingTz is REPORTING_TZ (default UTC), the zone of every periodKey.
 */
export const settings = (b: AdminBuilders) => b.query({
  args: {},
  returns: vSettings,
  handler: async () => ({ reportingTz: reportingCalendar().timeZone }),
});

/**
 * The names of the rows' users (name, else email; null for a user no one
 * has), one read per user, for the rows that name one (alerts, forecasts).
 */
async function userNames(ctx: QueryCtx, rows: { userId?: Id<"llmmeterUsers"> }[]) {
  const names = new Map<Id<"llmmeterUsers">, string | null>();
  for (const r of rows) {
    if (r.userId === undefined || names.has(r.userId)) continue;
    const u = await ctx.db.get(r.userId);
    names.set(r.userId, u?.name ?? u?.email ?? null);
  }
  return (id: Id<"llmmeterUsers"> | undefined) => (id === undefined ? null : (names.get(id) ?? null));
}

/** The latest stored forecast run: {createdAt, rows} ({createdAt: null, rows: []} if none). */
export const forecast = (b: AdminBuilders) => b.query({
  args: {},
  returns: vForecast,
  handler: async (ctx) => {
    const latest = await ctx.db.query("forecasts").withIndex("by_created_at").order("desc").first();
    if (!latest) return { createdAt: null, rows: [] };
    const rows = await ctx.db
      .query("forecasts")
      .withIndex("by_created_at", (q) => q.eq("createdAt", latest.createdAt))
      .take(200);
    const names = await userNames(ctx, rows);
    return {
      createdAt: latest.createdAt,
      rows: rows.map((f) => ({
        scope: f.scope,
        userId: f.userId ?? null,
        userName: names(f.userId),
        month: f.month,
        method: f.method,
        costNanoUsd: f.costNanoUsd,
        costUsd: nanosToUsd(f.costNanoUsd),
        costLowNanoUsd: f.costLowNanoUsd,
        costHighNanoUsd: f.costHighNanoUsd,
        tokens: f.tokens,
        tokensLow: f.tokensLow,
        tokensHigh: f.tokensHigh,
        backtestMape: f.backtestMape ?? null,
        historyDays: f.historyDays ?? null,
      })),
    };
  },
});

/** Job runs newest first (startedAt descending), optionally of one job; limit default 50, max 200. */
export const jobRuns = (b: AdminBuilders) => b.query({
  args: { job: v.optional(v.string()), limit: v.optional(v.number()) },
  returns: v.array(vJobRun),
  handler: async (ctx, args) => {
    const limit = limitOf(args.limit, 50, 200);
    const { job } = args;
    const q =
      job !== undefined
        ? ctx.db.query("jobRuns").withIndex("by_job_and_started_at", (q) => q.eq("job", job))
        : ctx.db.query("jobRuns").withIndex("by_started_at");
    return (await q.order("desc").take(limit)).map(jobRunView);
  },
});

/**
 * Creates or updates the quota (userId, quotaType). limit is a count for
 * daily_requests / monthly_tokens (integer) and USD for the cost types
 * (stored exactly as limitNanoUsd = round(limit · 1e9)). The system budget
 * (system_monthly_cost_usd) takes no userId; the others require one. A new or
 * re-activated (or expired) quota gets resetDate = start of the next day/month
 * in REPORTING_TZ and `used` from the aggregates of the current period.
 * Returns {quotaId, created}.
 */
export const setQuota = (b: AdminBuilders) => b.mutation({
  args: { userId: v.optional(v.string()), quotaType: vQuotaType, limit: v.number(), isActive: v.optional(v.boolean()) },
  returns: vSetQuotaResult,
  handler: async (ctx, args) => {
    if (!Number.isFinite(args.limit) || args.limit < 0) badRequest("limit: expected a number >= 0");
    const cost = isCostQuota(args.quotaType);
    if (!cost && !Number.isSafeInteger(args.limit)) badRequest("limit: expected an integer for this quota type");
    if (cost && usdToNanos(args.limit) > MAX_AMOUNT) badRequest("limit: expected at most 9007199.254740991 USD");
    const userId = await quotaOwner(ctx, args);
    const cal = reportingCalendar();
    const now = Date.now();
    const limitFields = cost
      ? { limit: nanosToUsd(usdToNanos(args.limit)), limitNanoUsd: usdToNanos(args.limit) }
      : { limit: args.limit };
    const existing = await ctx.db
      .query("userQuotas")
      .withIndex("by_user_id_and_quota_type", (q) => q.eq("userId", userId).eq("quotaType", args.quotaType))
      .first();
    const isActive = args.isActive ?? existing?.isActive ?? true;
    const fresh = async () => ({
      ...usedFields(args.quotaType, await usedFromAggregates(ctx.db, cal, args.quotaType, userId, now)),
      resetDate: cal.nextStart(QUOTA_PERIOD[args.quotaType], now),
    });
    if (!existing) {
      const quotaId = await insertDoc(ctx.db, "userQuotas", {
        userId,
        quotaType: args.quotaType,
        ...limitFields,
        isActive,
        ...(await fresh()),
        updatedAt: now,
      });
      await recordQuotaChange(ctx.db, userId, now);
      return { quotaId, created: true };
    }
    const refresh = isActive && (!existing.isActive || existing.resetDate <= now);
    if (refresh && args.quotaType === "system_monthly_cost_usd") await clearBudgetShards(ctx.db, existing._id);
    await ctx.db.patch(existing._id, {
      ...limitFields,
      isActive,
      ...(refresh ? await fresh() : {}),
      updatedAt: now,
    });
    await recordQuotaChange(ctx.db, userId, now);
    return { quotaId: existing._id, created: false };
  },
});

/** Marks an alert read. */
export const markAlertRead = (b: AdminBuilders) => b.mutation({
  args: { alertId: v.string() },
  returns: vOk,
  handler: async (ctx, args) => {
    const id = idOf(ctx, "systemAlerts", args.alertId, "alertId");
    if (!(await ctx.db.get(id))) notFound("alertId: no such alert");
    await ctx.db.patch(id, { isRead: true });
    return { ok: true };
  },
});

/**
 * Resolves an alert by hand; {resolved: false} if it was already resolved.
 * Its condition held at the last evaluation (else the job had resolved it),
 * so the row is held: the job opens no new alert for the condition until it
 * has cleared (jobs.AlertChange).
 */
export const resolveAlert = (b: AdminBuilders) => b.mutation({
  args: { alertId: v.string() },
  returns: vResolved,
  handler: async (ctx, args) => {
    const id = idOf(ctx, "systemAlerts", args.alertId, "alertId");
    const a = await ctx.db.get(id);
    if (!a) notFound("alertId: no such alert");
    if (a.isResolved) return { resolved: false };
    await ctx.db.patch(id, { isResolved: true, resolvedAt: Date.now(), held: true });
    return { resolved: true };
  },
});

/** Someone took the alert: no repeat notification until it escalates. {acknowledged: false} if resolved or already acknowledged. */
export const acknowledgeAlert = (b: AdminBuilders) => b.mutation({
  args: { alertId: v.string() },
  returns: vAcknowledged,
  handler: async (ctx, args) => {
    const id = idOf(ctx, "systemAlerts", args.alertId, "alertId");
    const a = await ctx.db.get(id);
    if (!a) notFound("alertId: no such alert");
    if (a.isResolved || a.acknowledgedAt !== undefined) return { acknowledged: false };
    await ctx.db.patch(id, { acknowledgedAt: Date.now(), isRead: true });
    return { acknowledged: true };
  },
});

/** How far ahead an alert can be silenced. */
const MAX_SILENCE_MS = 90 * 86_400_000;

/**
 * No notification for the alert's condition for forMs from now, or before
 * until (ms); until 0 lifts the silence. Exactly one of the two. The portal
 * sends forMs, so the instant comes from this clock, not the browser's
 * (which may be off by hours); until stays for callers that name an instant.
 */
export const silenceAlert = (b: AdminBuilders) => b.mutation({
  args: { alertId: v.string(), until: v.optional(v.number()), forMs: v.optional(v.number()) },
  returns: vSilenced,
  handler: async (ctx, args) => {
    const now = Date.now();
    const { forMs } = args;
    if ((args.until === undefined) === (forMs === undefined)) badRequest("expected either until or forMs");
    if (forMs !== undefined && (!Number.isSafeInteger(forMs) || forMs < 1 || forMs > MAX_SILENCE_MS)) {
      badRequest(`forMs: expected integer in [1, ${MAX_SILENCE_MS}]`);
    }
    const until = forMs !== undefined ? now + forMs : args.until!;
    if (!Number.isSafeInteger(until) || (until !== 0 && (until <= now || until > now + MAX_SILENCE_MS))) {
      badRequest("until: expected 0 or a time within the next 90 days");
    }
    const id = idOf(ctx, "systemAlerts", args.alertId, "alertId");
    if (!(await ctx.db.get(id))) notFound("alertId: no such alert");
    await ctx.db.patch(id, { silencedUntil: until === 0 ? undefined : until });
    return { silencedUntil: until === 0 ? null : until };
  },
});
