/**
 * Internal functions behind the /jobs/* routes, called by the Go scheduled
 * jobs (roll-ups, quota resets, alerts, reports, forecasts, health, leases).
 * Every write here is idempotent or compare-and-set, so a retried request is
 * harmless.
 */
import type { Id } from "./server";
import { signedMutation } from "./lib/nonces";
import { internalQuery, type MutationCtx } from "./server";
import { derivedFields, findAggregate } from "./lib/aggregates";
import { prepareAggregateRow, type PreparedAggregate } from "./lib/aggregateRows";
import { alertView } from "./admin";
import { badRequest, fail, notFound, paginated } from "./lib/errors";
import { foldState } from "./fold";
import { reportingCalendar } from "./lib/periods";
import { insertDoc } from "./lib/optional";
import {
  aggregatesListBody,
  aggregatesUpsertBody,
  alertEscalateBody,
  alertNotifiedBody,
  alertOpenBody,
  alertResolveBody,
  forecastStoreBody,
  healthStoreBody,
  jobRowsBody,
  leaseAcquireBody,
  leaseReleaseBody,
  leaseRenewBody,
  MAX_FORECAST_ROWS,
  MAX_UPSERT_ROWS,
  reportStoreBody,
  runRecordBody,
} from "./lib/wire";

const DAY = 86_400_000;
/** History kept for health checks and job runs; older rows are pruned a few at a time. */
export const HEALTH_RETENTION_MS = 30 * DAY;
export const JOB_RUN_RETENTION_MS = 90 * DAY;
const PRUNE_PER_CALL = 10;

// ---- raw rows ----------------------------------------------------------------

/** A page of raw rows with timestamp in [from, to), ascending, via index by_timestamp. */
export const rows = internalQuery({
  args: jobRowsBody.fields,
  handler: async (ctx, args) => {
    if (args.to < args.from) badRequest("to: must not be before from");
    const opts = { numItems: args.limit, cursor: args.cursor ?? null };
    const { from, to } = args;
    const page = <T>(run: () => Promise<T>) => paginated(args.cursor, "cursor", run);
    const res =
      args.table === "usageTracking"
        ? await page(() => ctx.db.query("usageTracking").withIndex("by_timestamp", (q) => q.gte("timestamp", from).lt("timestamp", to)).paginate(opts))
        : args.table === "requestLogs"
          ? await page(() => ctx.db.query("requestLogs").withIndex("by_timestamp", (q) => q.gte("timestamp", from).lt("timestamp", to)).paginate(opts))
          : await page(() => ctx.db.query("userActivity").withIndex("by_timestamp", (q) => q.gte("timestamp", from).lt("timestamp", to)).paginate(opts));
    return { page: res.page, isDone: res.isDone, continueCursor: res.continueCursor };
  },
});

// ---- aggregates ----------------------------------------------------------------

/**
 * Replaces aggregate rows by exact key (scope, userId, model, period,
 * periodStart, shard). Derived fields (totalCost, averageProcessingTime,
 * uniqueModels, lastUpdated) are recomputed here. Checks: user rows have a
 * userId, shard 0 and no model; model rows a model and no userId; system rows
 * neither; periodStart/periodKey are a period of the reporting time zone;
 * successfulRequests + failedRequests = totalRequests; 11 latency buckets.
 */
export const upsertAggregates = signedMutation({
  args: aggregatesUpsertBody.fields,
  handler: async (ctx, args) => {
    if (args.rows.length > MAX_UPSERT_ROWS) badRequest(`rows: at most ${MAX_UPSERT_ROWS} rows per request`);
    if (args.foldVersion !== undefined) {
      const current = (await foldState(ctx))?.version ?? 0;
      if (current !== args.foldVersion) fail("conflict", `foldVersion: the fold applied since (now ${current}); rebuild again`);
    }
    const cal = reportingCalendar();
    const now = Date.now();
    const prepared: PreparedAggregate[] = [];
    for (let i = 0; i < args.rows.length; i++) prepared.push(await prepareAggregateRow(ctx.db, cal, args.rows[i]!, `rows[${i}]`));
    let inserted = 0;
    let updated = 0;
    for (const p of prepared) {
      const fields = derivedFields(p.counters, p.models, now);
      const existing = await findAggregate(ctx.db, p.key);
      if (existing) {
        await ctx.db.patch(existing._id, { ...fields, periodKey: p.periodKey });
        updated++;
      } else {
        await insertDoc(ctx.db, "usageAggregates", { ...p.key, periodKey: p.periodKey, ...fields });
        inserted++;
      }
    }
    return { inserted, updated };
  },
});

/** A page of aggregate rows of one scope and period with periodStart in [from, to). */
export const listAggregates = internalQuery({
  args: aggregatesListBody.fields,
  handler: async (ctx, args) => {
    const res = await paginated(args.cursor, "cursor", () =>
      ctx.db
        .query("usageAggregates")
        .withIndex("by_scope_and_period_and_period_start", (q) =>
          q.eq("scope", args.scope).eq("period", args.period).gte("periodStart", args.from).lt("periodStart", args.to),
        )
        .paginate({ numItems: args.limit, cursor: args.cursor ?? null }),
    );
    return { page: res.page, isDone: res.isDone, continueCursor: res.continueCursor };
  },
});

// ---- alerts --------------------------------------------------------------------

// The rule of which change a firing condition makes is Go's
// (jobs.AlertChange); these only write, keeping one open row per condition.

/**
 * Opens an alert unless one is open for conditionKey ({created: false} and
 * that row). Releases the condition's held row; carries over the silence of
 * the condition's last row if it has not run out. Returns {alertId, created, alert}.
 */
export const openAlert = signedMutation({
  args: alertOpenBody.fields,
  handler: async (ctx, { at, ...args }) => {
    const byKey = (resolved: boolean) =>
      ctx.db
        .query("systemAlerts")
        .withIndex("by_condition_key_and_is_resolved", (q) => q.eq("conditionKey", args.conditionKey).eq("isResolved", resolved));
    const open = await byKey(false).first();
    if (open) return { alertId: open._id, created: false, alert: alertView(open) };
    let userId: Id<"llmmeterUsers"> | undefined;
    if (args.userId !== undefined) {
      const id = ctx.db.normalizeId("llmmeterUsers", args.userId);
      if (id === null) badRequest("userId: not a users id");
      userId = id;
    }
    const createdAt = at ?? Date.now();
    // The newest resolved row is the held one, if any (nothing opens while one is held).
    const last = await byKey(true).order("desc").first();
    if (last?.held) await ctx.db.patch(last._id, { held: false });
    const silencedUntil = last?.silencedUntil !== undefined && last.silencedUntil > createdAt ? last.silencedUntil : undefined;
    const alertId = await insertDoc(ctx.db, "systemAlerts", {
      ...args,
      userId,
      isRead: false,
      isResolved: false,
      createdAt,
      history: [{ severity: args.severity, at: createdAt }],
      silencedUntil,
    });
    return { alertId, created: true, alert: alertView((await ctx.db.get(alertId))!) };
  },
});

/**
 * Raises an open alert to a new severity, message and metadata, appending to
 * its history and clearing its acknowledgement and lastNotifiedAt so that the
 * escalation is notified. {escalated: false} if it is no longer open.
 */
export const escalateAlert = signedMutation({
  args: alertEscalateBody.fields,
  handler: async (ctx, { alertId, at, alertType, ...change }) => {
    const id = ctx.db.normalizeId("systemAlerts", alertId);
    if (id === null) badRequest("alertId: not a systemAlerts id");
    const a = await ctx.db.get(id);
    if (!a) notFound("alertId: no such alert");
    if (a.isResolved) return { escalated: false };
    const history = a.history ?? [{ severity: a.severity, at: a.createdAt }];
    await ctx.db.patch(id, {
      ...change,
      alertType,
      history: [...history, { severity: change.severity, at: at ?? Date.now() }],
      isRead: false,
      acknowledgedAt: undefined,
      lastNotifiedAt: undefined,
    });
    return { escalated: true };
  },
});

/** The condition cleared: resolves its open alert and re-arms its held one. Returns {resolved: count}. */
export const resolveAlert = signedMutation({
  args: alertResolveBody.fields,
  handler: async (ctx, args) => {
    const byKey = (resolved: boolean) =>
      ctx.db
        .query("systemAlerts")
        .withIndex("by_condition_key_and_is_resolved", (q) => q.eq("conditionKey", args.conditionKey).eq("isResolved", resolved));
    const open = await byKey(false).take(16);
    const last = await byKey(true).order("desc").first();
    const held = last?.held ? [last] : [];
    const now = args.at ?? Date.now();
    for (const a of open) await ctx.db.patch(a._id, { isResolved: true, resolvedAt: now });
    for (const a of held) await ctx.db.patch(a._id, { held: false });
    return { resolved: open.length + held.length };
  },
});

/** Records that a notification was sent for an alert. */
export const alertNotified = signedMutation({
  args: alertNotifiedBody.fields,
  handler: async (ctx, args) => {
    const id = ctx.db.normalizeId("systemAlerts", args.alertId);
    if (id === null) badRequest("alertId: not a systemAlerts id");
    if (!(await ctx.db.get(id))) notFound("alertId: no such alert");
    await ctx.db.patch(id, { lastNotifiedAt: args.at });
    return { ok: true };
  },
});

// ---- reports, forecasts, health ------------------------------------------------------

/** Stores a report; replaces the report of the same kind and periodKey. */
export const storeReport = signedMutation({
  args: reportStoreBody.fields,
  handler: async (ctx, args) => {
    const existing = await ctx.db
      .query("reports")
      .withIndex("by_kind_and_period_key", (q) => q.eq("kind", args.kind).eq("periodKey", args.periodKey))
      .first();
    const createdAt = Date.now();
    if (existing) {
      await ctx.db.patch(existing._id, { body: args.body, csv: args.csv, createdAt });
      // The deliveries stay: the report job sends a rerun's report only to the webhooks that have not taken it.
      return { reportId: existing._id, replaced: true, deliveries: existing.deliveries ?? [] };
    }
    const reportId = await ctx.db.insert("reports", { ...args, createdAt });
    return { reportId, replaced: false, deliveries: [] };
  },
});

/** Stores one forecast run (rows sharing createdAt); replaces a run with the same createdAt. */
export const storeForecasts = signedMutation({
  args: forecastStoreBody.fields,
  handler: async (ctx, args) => {
    if (args.rows.length > MAX_FORECAST_ROWS) badRequest(`rows: at most ${MAX_FORECAST_ROWS} rows per request`);
    const docs = [];
    for (let i = 0; i < args.rows.length; i++) {
      const r = args.rows[i]!;
      let userId: Id<"llmmeterUsers"> | undefined;
      if (r.scope === "user") {
        if (r.userId === undefined) badRequest(`rows[${i}].userId: required for scope "user"`);
        const id = ctx.db.normalizeId("llmmeterUsers", r.userId);
        if (id === null) badRequest(`rows[${i}].userId: not a users id`);
        userId = id;
      }
      if (!(r.costLowNanoUsd <= r.costNanoUsd && r.costNanoUsd <= r.costHighNanoUsd)) {
        badRequest(`rows[${i}].costNanoUsd: expected costLowNanoUsd <= costNanoUsd <= costHighNanoUsd`);
      }
      docs.push({ ...r, userId, createdAt: args.createdAt });
    }
    const old = await ctx.db
      .query("forecasts")
      .withIndex("by_created_at", (q) => q.eq("createdAt", args.createdAt))
      .take(MAX_FORECAST_ROWS + 1);
    for (const o of old) await ctx.db.delete(o._id);
    for (const d of docs) await insertDoc(ctx.db, "forecasts", d);
    return { stored: docs.length, replaced: old.length };
  },
});

/** Stores a health check and prunes checks older than HEALTH_RETENTION_MS. */
export const storeHealth = signedMutation({
  args: healthStoreBody.fields,
  handler: async (ctx, args) => {
    const id = await ctx.db.insert("systemHealth", args);
    const cutoff = Date.now() - HEALTH_RETENTION_MS;
    const old = await ctx.db
      .query("systemHealth")
      .withIndex("by_checked_at", (q) => q.lt("checkedAt", cutoff))
      .take(PRUNE_PER_CALL);
    for (const o of old) await ctx.db.delete(o._id);
    return { id, pruned: old.length };
  },
});

// ---- leases and runs ----------------------------------------------------------------

async function leaseOf(ctx: MutationCtx, job: string) {
  return await ctx.db
    .query("jobLeases")
    .withIndex("by_job", (q) => q.eq("job", job))
    .first();
}

/** Takes the job's lease if free, expired or already ours. Returns {acquired, holder, expiresAt}. */
export const acquireLease = signedMutation({
  args: leaseAcquireBody.fields,
  handler: async (ctx, args) => {
    const now = Date.now();
    const expiresAt = now + args.ttlMs;
    const lease = await leaseOf(ctx, args.job);
    if (!lease) {
      await ctx.db.insert("jobLeases", { job: args.job, holder: args.holder, expiresAt });
      return { acquired: true, holder: args.holder, expiresAt };
    }
    if (lease.holder === args.holder || lease.expiresAt <= now) {
      await ctx.db.patch(lease._id, { holder: args.holder, expiresAt });
      return { acquired: true, holder: args.holder, expiresAt };
    }
    return { acquired: false, holder: lease.holder, expiresAt: lease.expiresAt };
  },
});

/** Extends our unexpired lease. Returns {renewed, holder, expiresAt}. */
export const renewLease = signedMutation({
  args: leaseRenewBody.fields,
  handler: async (ctx, args) => {
    const now = Date.now();
    const lease = await leaseOf(ctx, args.job);
    if (lease && lease.holder === args.holder && lease.expiresAt > now) {
      const expiresAt = now + args.ttlMs;
      await ctx.db.patch(lease._id, { expiresAt });
      return { renewed: true, holder: args.holder, expiresAt };
    }
    return { renewed: false, holder: lease?.holder ?? null, expiresAt: lease?.expiresAt ?? null };
  },
});

/** Gives up our lease. Returns {released}. */
export const releaseLease = signedMutation({
  args: leaseReleaseBody.fields,
  handler: async (ctx, args) => {
    const lease = await leaseOf(ctx, args.job);
    if (lease && lease.holder === args.holder) {
      await ctx.db.delete(lease._id);
      return { released: true };
    }
    return { released: false };
  },
});

/** Records a job run and prunes runs older than JOB_RUN_RETENTION_MS. */
export const recordRun = signedMutation({
  args: runRecordBody.fields,
  handler: async (ctx, args) => {
    if (args.endedAt < args.startedAt) badRequest("endedAt: must not be before startedAt");
    const runId = await ctx.db.insert("jobRuns", args);
    const cutoff = Date.now() - JOB_RUN_RETENTION_MS;
    const old = await ctx.db
      .query("jobRuns")
      .withIndex("by_started_at", (q) => q.lt("startedAt", cutoff))
      .take(PRUNE_PER_CALL);
    for (const o of old) await ctx.db.delete(o._id);
    return { runId, pruned: old.length };
  },
});

