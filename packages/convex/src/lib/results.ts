/**
 * Validators of what the public (admin) functions return, as their
 * `returns:`. Convex checks every result against them, so a handler that
 * drifts from the documented shape fails loudly instead of reaching the
 * portal; the shapes are pinned on both engines by contract/cases.
 */
import { paginationResultValidator } from "convex/server";
import { v, type Validator, type Value } from "convex/values";
import { llmmeterTables } from "../tables";
import { vJobOutcome, vJsonObject, vQuotaType, vReportDelivery, vReportKind, vRole, vScope, vSeverity } from "./validators";

const nullable = <T extends Validator<Value, "required", string>>(x: T) => v.union(x, v.null());

/** Totals of a window (lib/window.ts totalsOf). */
export const totalsFields = {
  requests: v.number(),
  successful: v.number(),
  failed: v.number(),
  promptTokens: v.number(),
  completionTokens: v.number(),
  totalTokens: v.number(),
  cachedTokens: v.number(),
  reasoningTokens: v.number(),
  costNanoUsd: v.number(),
  costUsd: v.number(),
  avgProcessingMs: v.number(),
  p95ProcessingMs: nullable(v.number()),
  modelsUsed: v.number(),
};

export const vOverview = v.object({
  ...totalsFields,
  activeUsers: v.number(),
  /** false: the window spans several stored periods and activeUsers is the largest period's count, a lower bound. */
  activeUsersExact: v.boolean(),
  health: nullable(
    v.object({
      checkedAt: v.number(),
      openrouterOk: v.boolean(),
      keyRemainingNanoUsd: nullable(v.number()),
      storeOk: v.boolean(),
      outboxDepth: v.number(),
      jobLagMs: v.number(),
      details: vJsonObject,
    }),
  ),
});

export const vSeriesPoint = v.object({
  periodKey: v.string(),
  periodStart: v.number(),
  requests: v.number(),
  successful: v.number(),
  failed: v.number(),
  promptTokens: v.number(),
  completionTokens: v.number(),
  totalTokens: v.number(),
  costNanoUsd: v.number(),
  costUsd: v.number(),
  avgProcessingMs: v.number(),
});

export const vTopUser = v.object({
  userId: v.id("llmmeterUsers"),
  name: nullable(v.string()),
  email: nullable(v.string()),
  requests: v.number(),
  totalTokens: v.number(),
  costNanoUsd: v.number(),
  costUsd: v.number(),
});

/** users.ts userView. */
export const vUserView = v.object({
  id: v.id("llmmeterUsers"),
  clerkUserId: nullable(v.string()),
  externalId: nullable(v.string()),
  email: nullable(v.string()),
  name: nullable(v.string()),
  role: nullable(vRole),
  createdAt: v.number(),
});

/** lib/quotas.ts quotaView. */
export const vQuotaView = v.object({
  id: v.id("userQuotas"),
  userId: nullable(v.id("llmmeterUsers")),
  quotaType: vQuotaType,
  limit: v.number(),
  used: v.number(),
  limitNanoUsd: nullable(v.number()),
  usedNanoUsd: nullable(v.number()),
  resetDate: v.number(),
  isActive: v.boolean(),
  updatedAt: v.number(),
});

export const vUserDetail = v.object({
  user: vUserView,
  totals: v.object(totalsFields),
  quotas: v.array(vQuotaView),
  recentActivity: v.array(
    v.object({
      id: v.id("userActivity"),
      activityKey: v.string(),
      activityType: v.string(),
      metadata: nullable(vJsonObject),
      timestamp: v.number(),
    }),
  ),
});

export const vModelStat = v.object({
  model: v.string(),
  requests: v.number(),
  successful: v.number(),
  failed: v.number(),
  totalTokens: v.number(),
  costNanoUsd: v.number(),
  costUsd: v.number(),
  avgProcessingMs: v.number(),
  p95ProcessingMs: nullable(v.number()),
  errorRate: v.number(),
  /** From the fine buckets; null without samples or beyond the last bound (lib/window.ts). */
  p50LatencyMs: nullable(v.number()),
  p95LatencyMs: nullable(v.number()),
  p99LatencyMs: nullable(v.number()),
  p50TtftMs: nullable(v.number()),
  p95TtftMs: nullable(v.number()),
  p99TtftMs: nullable(v.number()),
});

/** A page of request-log documents as stored. */
/** The tokens and cost of a request's usage row, joined by generation id (llmmeter:requestLogs withUsage). */
export const vRequestLogUsage = v.object({
  promptTokens: v.number(),
  completionTokens: v.number(),
  totalTokens: v.number(),
  cachedTokens: v.number(),
  reasoningTokens: v.number(),
  costNanoUsd: v.number(),
  costStatus: llmmeterTables.usageTracking.validator.fields.costStatus,
});
export const vRequestLogPage = paginationResultValidator(
  v.object({
    _id: v.id("requestLogs"),
    _creationTime: v.number(),
    ...llmmeterTables.requestLogs.validator.fields,
    usage: v.optional(vRequestLogUsage),
  }),
);

/** admin.ts alertView. */
export const vAlertView = v.object({
  id: v.id("systemAlerts"),
  alertType: v.string(),
  severity: vSeverity,
  message: v.string(),
  metadata: nullable(vJsonObject),
  userId: nullable(v.id("llmmeterUsers")),
  isRead: v.boolean(),
  isResolved: v.boolean(),
  createdAt: v.number(),
  resolvedAt: nullable(v.number()),
  conditionKey: v.string(),
  lastNotifiedAt: nullable(v.number()),
  history: v.array(v.object({ severity: vSeverity, at: v.number() })),
  acknowledgedAt: nullable(v.number()),
  silencedUntil: nullable(v.number()),
});
/** llmmeter:alerts adds the user's display name for the link to the user. */
export const vAlertListItem = v.object({ ...vAlertView.fields, userName: nullable(v.string()) });
export const vAcknowledged = v.object({ acknowledged: v.boolean() });
export const vSilenced = v.object({ silencedUntil: nullable(v.number()) });
export const vOpenAlertCount = v.object({ open: v.number(), critical: v.number(), capped: v.boolean() });

const reportFields = {
  id: v.id("reports"),
  kind: vReportKind,
  periodKey: v.string(),
  createdAt: v.number(),
  body: vJsonObject,
  deliveries: v.array(vReportDelivery),
};
export const vReportSummary = v.object({ ...reportFields, csvBytes: v.number() });
export const vReport = v.object({ ...reportFields, csv: v.string() });

export const vSettings = v.object({ reportingTz: v.string() });

export const vForecast = v.object({
  createdAt: nullable(v.number()),
  rows: v.array(
    v.object({
      scope: vScope,
      userId: nullable(v.id("llmmeterUsers")),
      userName: nullable(v.string()),
      month: v.string(),
      method: v.string(),
      costNanoUsd: v.number(),
      costUsd: v.number(),
      costLowNanoUsd: v.number(),
      costHighNanoUsd: v.number(),
      tokens: v.number(),
      tokensLow: v.number(),
      tokensHigh: v.number(),
      backtestMape: nullable(v.number()),
      /** Closed days of data the projection rests on; null for runs stored before it was kept. */
      historyDays: nullable(v.number()),
    }),
  ),
});

export const vJobRun = v.object({
  id: v.id("jobRuns"),
  job: v.string(),
  startedAt: v.number(),
  endedAt: v.number(),
  outcome: vJobOutcome,
  windowFrom: nullable(v.number()),
  windowTo: nullable(v.number()),
  counts: vJsonObject,
  error: nullable(v.string()),
});

export const vSetQuotaResult = v.object({ quotaId: v.id("userQuotas"), created: v.boolean() });
export const vOk = v.object({ ok: v.literal(true) });
export const vResolved = v.object({ resolved: v.boolean() });

