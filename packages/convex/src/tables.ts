/**
 * Tables of the usage-monitoring backend.
 *
 * Conventions: timestamps are ms since the epoch; every cost has an exact
 * integer field in nano-USD (1e-9 USD, a JS number holding a safe integer);
 * the float USD fields (costInUSD, costInCredits, totalCost, limit/used of cost
 * quotas) are derived (= nanos / 1e9) for display only and never summed.
 * Indexes are named by_<field>_and_<field>.
 */
import { defineTable } from "convex/server";
import { v } from "convex/values";
import {
  vCostStatus,
  vJobOutcome,
  vJsonObject,
  vPeriod,
  vQuotaType,
  vReportDelivery,
  vReportKind,
  vRequestStatus,
  vRole,
  vScope,
  vSeverity,
} from "./lib/validators";

/** The additive counters of a summary's model entry (rollup.Counters). */
const summaryCounters = {
  totalRequests: v.number(),
  successfulRequests: v.number(),
  failedRequests: v.number(),
  promptTokens: v.number(),
  completionTokens: v.number(),
  totalTokens: v.number(),
  cachedTokens: v.number(),
  reasoningTokens: v.number(),
  totalCostNanoUsd: v.number(),
  totalProcessingTime: v.number(),
  conversationsStarted: v.number(),
  filesUploaded: v.number(),
  latencyBuckets: v.array(v.number()),
};

export const llmmeterTables = {
  llmmeterUsers: defineTable({
    clerkUserId: v.optional(v.string()),
    /** For users created by API key or CLI rather than Clerk. */
    externalId: v.optional(v.string()),
    email: v.optional(v.string()),
    name: v.optional(v.string()),
    role: v.optional(vRole),
    createdAt: v.number(),
    /**
     * The search keys of llmmeter:searchUsers (lib/userSearch.ts): name,
     * email and id (externalId, else clerkUserId) with ASCII letters
     * lowercased. Written by ensureUser; absent on users stored before them
     * until backfillUserSearchKeys has run.
     */
    nameKey: v.optional(v.string()),
    emailKey: v.optional(v.string()),
    idKey: v.optional(v.string()),
  })
    .index("by_clerk_user_id", ["clerkUserId"])
    .index("by_external_id", ["externalId"])
    .index("by_name_key", ["nameKey"])
    .index("by_email_key", ["emailKey"])
    .index("by_id_key", ["idKey"]),

  /** One row per generation (idempotency key: generationId). */
  usageTracking: defineTable({
    userId: v.id("llmmeterUsers"),
    /** The API key the call came through; absent for Clerk tokens and older rows. */
    apiKeyId: v.optional(v.id("apiKeys")),
    conversationId: v.optional(v.string()),
    messageId: v.optional(v.string()),
    model: v.string(),
    promptTokens: v.number(),
    completionTokens: v.number(),
    totalTokens: v.number(),
    cachedTokens: v.number(),
    reasoningTokens: v.number(),
    /** Derived: costNanoUsd / 1e9 (one credit is one dollar). */
    costInCredits: v.number(),
    /** Derived: costNanoUsd / 1e9. */
    costInUSD: v.number(),
    generationId: v.string(),
    timestamp: v.number(),
    processingTime: v.number(),
    costNanoUsd: v.number(),
    costStatus: vCostStatus,
    requestId: v.string(),
    provider: v.optional(v.string()),
    finishReason: v.optional(v.string()),
    cancelled: v.boolean(),
    isByok: v.boolean(),
    stream: v.boolean(),
    /** Set by ingest until the fold (internal/fold) counts the row; the by_unfolded index is the fold's pending list. */
    unfolded: v.optional(v.literal(true)),
  })
    .index("by_unfolded", ["unfolded"])
    .index("by_generation_id", ["generationId"])
    .index("by_user_id_and_timestamp", ["userId", "timestamp"])
    .index("by_timestamp", ["timestamp"])
    .index("by_model_and_timestamp", ["model", "timestamp"])
    .index("by_cost_status_and_timestamp", ["costStatus", "timestamp"]),

  /** One row per request through the Go service (idempotency key: requestId). */
  requestLogs: defineTable({
    userId: v.optional(v.id("llmmeterUsers")),
    /** The API key the call came through; absent for Clerk tokens and older rows. */
    apiKeyId: v.optional(v.id("apiKeys")),
    /** The chat app's ids, as the caller sent them (never read: the library reads none of the app's tables). */
    conversationId: v.optional(v.string()),
    messageId: v.optional(v.string()),
    requestType: v.string(),
    method: v.string(),
    endpoint: v.string(),
    status: vRequestStatus,
    statusCode: v.number(),
    errorMessage: v.optional(v.string()),
    requestSize: v.number(),
    responseSize: v.number(),
    processingTime: v.number(),
    userAgent: v.optional(v.string()),
    ipAddress: v.optional(v.string()),
    timestamp: v.number(),
    requestId: v.string(),
    model: v.optional(v.string()),
    generationId: v.optional(v.string()),
    errorType: v.optional(v.string()),
    timeToFirstToken: v.optional(v.number()),
    /** Set by ingest until the fold (internal/fold) counts the row; the by_unfolded index is the fold's pending list. */
    unfolded: v.optional(v.literal(true)),
  })
    .index("by_unfolded", ["unfolded"])
    .index("by_request_id", ["requestId"])
    .index("by_timestamp", ["timestamp"])
    .index("by_status_and_timestamp", ["status", "timestamp"])
    .index("by_user_id_and_timestamp", ["userId", "timestamp"])
    .index("by_model_and_timestamp", ["model", "timestamp"])
    // Every filter combination of llmmeter:requestLogs is an exact index range.
    .index("by_user_id_and_status_and_timestamp", ["userId", "status", "timestamp"])
    .index("by_model_and_status_and_timestamp", ["model", "status", "timestamp"])
    .index("by_user_id_and_model_and_timestamp", ["userId", "model", "timestamp"])
    .index("by_user_id_and_model_and_status_and_timestamp", ["userId", "model", "status", "timestamp"])
    // Search and the key and conversation filters (adminRequestLogs.ts has the index plan).
    .index("by_generation_id", ["generationId"])
    .index("by_conversation_id_and_timestamp", ["conversationId", "timestamp"])
    .index("by_api_key_id_and_timestamp", ["apiKeyId", "timestamp"])
    .index("by_api_key_id_and_status_and_timestamp", ["apiKeyId", "status", "timestamp"]),

  /** One row per user action (idempotency key: activityKey). */
  userActivity: defineTable({
    userId: v.id("llmmeterUsers"),
    /** The API key involved, if any. */
    apiKeyId: v.optional(v.id("apiKeys")),
    activityType: v.string(),
    metadata: v.optional(vJsonObject),
    timestamp: v.number(),
    activityKey: v.string(),
    /** Set by ingest until the fold (internal/fold) counts the row; the by_unfolded index is the fold's pending list. */
    unfolded: v.optional(v.literal(true)),
  })
    .index("by_unfolded", ["unfolded"])
    .index("by_activity_key", ["activityKey"])
    .index("by_user_id_and_timestamp", ["userId", "timestamp"])
    .index("by_timestamp", ["timestamp"]),

  /**
   * Pre-aggregated counters per (scope, subject, period, periodStart, shard),
   * written only by the Go fold (llmmeter:foldApply) and the rebuild. The fold
   * writes shard 0 only; rows written before it may have shards 1–7, so
   * readers still merge shards. See lib/aggregates.ts.
   */
  usageAggregates: defineTable({
    userId: v.optional(v.id("llmmeterUsers")),
    period: vPeriod,
    periodKey: v.string(),
    totalRequests: v.number(),
    successfulRequests: v.number(),
    failedRequests: v.number(),
    totalTokens: v.number(),
    promptTokens: v.number(),
    completionTokens: v.number(),
    /** Derived: totalCostNanoUsd / 1e9. */
    totalCost: v.number(),
    /** Derived: totalProcessingTime / totalRequests (0 without requests). */
    averageProcessingTime: v.number(),
    /** Derived: models.length. */
    uniqueModels: v.number(),
    conversationsStarted: v.number(),
    filesUploaded: v.number(),
    lastUpdated: v.number(),
    scope: vScope,
    model: v.optional(v.string()),
    periodStart: v.number(),
    shard: v.number(),
    cachedTokens: v.number(),
    reasoningTokens: v.number(),
    totalCostNanoUsd: v.number(),
    totalProcessingTime: v.number(),
    /** Distinct model ids seen, capped at 64 (first come). */
    models: v.array(v.string()),
    /** Counts per processing-time bucket, bounds in lib/aggregates.ts. */
    latencyBuckets: v.array(v.number()),
    /** Fine processing-time / TTFT bucket counts (FINE_BOUNDS); absent on rows stored before them. */
    latencyFine: v.optional(v.array(v.number())),
    ttftBuckets: v.optional(v.array(v.number())),
  })
    .index("by_scope_and_period_and_period_start", ["scope", "period", "periodStart"])
    .index("by_user_id_and_period_and_period_start", ["userId", "period", "periodStart"])
    .index("by_model_and_period_and_period_start", ["model", "period", "periodStart"])
    .index("by_scope_and_user_id_and_model_and_period_and_period_start_and_shard", [
      "scope",
      "userId",
      "model",
      "period",
      "periodStart",
      "shard",
    ]),

  /**
   * The fold's version: one document, version + 1 per llmmeter:foldApply. A
   * rebuild (llmmeter:jobUpsertAggregates with foldVersion) replaces summaries
   * only if no fold applied since it started reading. Only the single folder
   * writes it, so it is not contended by ingest.
   */
  foldState: defineTable({ version: v.number() }),

  /**
   * Period summaries (lib/summaries.ts), one document per stored period in
   * each table, replaced whole by the Go fold (rollup.Summarize) and the
   * rebuild, read by overview, topUsers and modelStats: O(periods) reads.
   * Split in two so a read pays only for what it uses: at 200 models a
   * models document is ~90 KB, a users document ~30 KB.
   */
  summaryModels: defineTable({
    period: vPeriod,
    periodStart: v.number(),
    periodKey: v.string(),
    /** One entry per model, sorted by model; the rollup row's counters, latencyBuckets opaque. */
    models: v.array(v.object({ model: v.string(), ...summaryCounters })),
  }).index("by_period_and_period_start", ["period", "periodStart"]),
  /**
   * A period's fine processing-time and TTFT counts per model, beside its
   * summaryModels document (written and read with it): packed
   * (lib/fineCodec.ts, ≤ 768 bytes a model), so 1,000 models with every
   * bucket non-zero and 128-character ids stay under Convex's 1 MiB document
   * limit whatever the counts, and the models document stays as small as it
   * was. Models without fine samples are left out.
   */
  summaryLatency: defineTable({
    period: vPeriod,
    periodStart: v.number(),
    periodKey: v.string(),
    models: v.array(v.object({ model: v.string(), fine: v.bytes() })),
  }).index("by_period_and_period_start", ["period", "periodStart"]),
  summaryUsers: defineTable({
    period: vPeriod,
    periodStart: v.number(),
    periodKey: v.string(),
    /** Users with a user row in the period. */
    activeUsers: v.number(),
    /** The union of the top 100 users by cost, tokens and requests, sorted by userId. */
    topUsers: v.array(
      v.object({ userId: v.id("llmmeterUsers"), requests: v.number(), totalTokens: v.number(), costNanoUsd: v.number() }),
    ),
  }).index("by_period_and_period_start", ["period", "periodStart"]),

  /**
   * Quotas. User quotas have userId; the system-wide monthly budget is the row
   * with quotaType "system_monthly_cost_usd" and no userId. For cost quotas
   * limitNanoUsd/usedNanoUsd are authoritative and limit/used are derived USD.
   */
  userQuotas: defineTable({
    userId: v.optional(v.id("llmmeterUsers")),
    quotaType: vQuotaType,
    limit: v.number(),
    used: v.number(),
    /** Start of the next period (ms); the current window is [start of the period before, resetDate). */
    resetDate: v.number(),
    isActive: v.boolean(),
    limitNanoUsd: v.optional(v.number()),
    usedNanoUsd: v.optional(v.number()),
    updatedAt: v.number(),
  })
    .index("by_user_id", ["userId"])
    .index("by_quota_type", ["quotaType"])
    .index("by_user_id_and_quota_type", ["userId", "quotaType"])
    .index("by_is_active_and_reset_date", ["isActive", "resetDate"]),

  /**
   * Open quota reservations (POST /quotas/reserve): one row per (request,
   * quota) in the quota's exact unit (requests, tokens, nano-USD). Counted by
   * reserve while expiresAt > now; deleted when the request's rows are
   * ingested, by /quotas/release, or opportunistically once expired.
   */
  quotaReservations: defineTable({
    requestId: v.string(),
    quotaId: v.id("userQuotas"),
    /** The user who reserved (also on system-budget reservations). */
    userId: v.optional(v.id("llmmeterUsers")),
    amount: v.number(),
    expiresAt: v.number(),
  })
    .index("by_request_id", ["requestId"])
    .index("by_quota_id_and_expires_at", ["quotaId", "expiresAt"]),

  /**
   * Allowance leases (POST /quotas/lease, issue 15): one row per (quota,
   * holder) in the quota's exact unit, the allowance a replica admits calls
   * from without a round trip. Counted with the reservations while
   * expiresAt > now; a replica that stops renewing loses it at expiresAt,
   * which the service sets minutes past the TTL it uses the lease for
   * (internal/quotalease Options.Hold: a crashed replica's unclaimed calls
   * stay covered while its restart delivers their rows).
   */
  quotaLeases: defineTable({
    quotaId: v.id("userQuotas"),
    holder: v.string(),
    amount: v.number(),
    expiresAt: v.number(),
  })
    .index("by_quota_id_and_expires_at", ["quotaId", "expiresAt"])
    // A restarted replica releases its predecessor's leases (POST
    // /quotas/lease/release-holder).
    .index("by_holder", ["holder"]),

  /**
   * A log of quota changes (setQuota, deleteQuota; lib/quotaChanges.ts):
   * the service polls it (POST /quotas/changes) to refresh a warm user's
   * lease within a second instead of at its next renewal. `userId` is ""
   * for the system budget. Each change sweeps a few older than a day.
   */
  quotaChanges: defineTable({
    userId: v.string(),
    at: v.number(),
  }).index("by_at", ["at"]),

  /**
   * The system budget's used counter, spread (issue 14; lib/budgetShards.ts):
   * ingest adds a batch's cost to the shard of the replica that sent it, so
   * batches from different replicas write different documents. The budget's
   * used amount is its own `usedNanoUsd` plus the shards of its window
   * (resetDate); a shard of an older window counts nothing.
   */
  budgetShards: defineTable({
    budgetId: v.id("userQuotas"),
    shard: v.number(),
    resetDate: v.number(),
    /** Signed: a cost confirmation may lower it below what ingest added. */
    usedNanoUsd: v.number(),
    updatedAt: v.number(),
  }).index("by_budget_id_and_shard", ["budgetId", "shard"]),

  /**
   * Which replica adds to which budget shard (lib/budgetShards.ts
   * claimShard): a leased claim, renewed by the replica's own batches, so
   * replicas get distinct shards while there are free ones rather than
   * colliding on a hash (two of 8 replicas share a hashed shard in about 1
   * set of 10). Expired claims are free, and deleted a few per claim.
   */
  budgetShardClaims: defineTable({
    replica: v.string(),
    shard: v.number(),
    expiresAt: v.number(),
  })
    .index("by_replica", ["replica"])
    .index("by_expires_at", ["expiresAt"]),

  systemAlerts: defineTable({
    alertType: v.string(),
    severity: vSeverity,
    message: v.string(),
    metadata: v.optional(vJsonObject),
    userId: v.optional(v.id("llmmeterUsers")),
    isRead: v.boolean(),
    isResolved: v.boolean(),
    createdAt: v.number(),
    resolvedAt: v.optional(v.number()),
    /** One open alert per condition and subject. */
    conditionKey: v.string(),
    lastNotifiedAt: v.optional(v.number()),
    /** The severities the alert reached, oldest first (absent: only its own, at createdAt). */
    history: v.optional(v.array(v.object({ severity: vSeverity, at: v.number() }))),
    /** An admin took it: no repeat notification until it escalates. */
    acknowledgedAt: v.optional(v.number()),
    /** No notification for its condition before this time. */
    silencedUntil: v.optional(v.number()),
    /** Resolved by an admin while its condition held: no new alert opens until it clears. */
    held: v.optional(v.boolean()),
  })
    .index("by_is_resolved_and_created_at", ["isResolved", "createdAt"])
    .index("by_held", ["held"])
    .index("by_condition_key_and_is_resolved", ["conditionKey", "isResolved"])
    .index("by_severity_and_created_at", ["severity", "createdAt"])
    .index("by_is_resolved_and_severity_and_created_at", ["isResolved", "severity", "createdAt"])
    .index("by_created_at", ["createdAt"]),

  apiKeys: defineTable({
    /** Lowercase hex SHA-256 of the key; the key itself is never stored. */
    keyHash: v.string(),
    prefix: v.string(),
    name: v.string(),
    userId: v.id("llmmeterUsers"),
    isAdmin: v.boolean(),
    /** A server's key that names the end user of each call (X-Llmmeter-User); absent on older keys. */
    isService: v.optional(v.boolean()),
    createdAt: v.number(),
    revokedAt: v.optional(v.number()),
    lastUsedAt: v.optional(v.number()),
  })
    .index("by_key_hash", ["keyHash"])
    .index("by_user_id", ["userId"])
    .index("by_created_at", ["createdAt"]),

  /**
   * The nonces of accepted signed requests (lib/signature.ts), each kept
   * until its signature's timestamp leaves the ±5 minute window, so that a
   * replayed request is refused (lib/nonces.ts). shard is the nonce's first
   * two hex digits: a request sweeps expired nonces of its own shard only.
   */
  signatureNonces: defineTable({
    nonce: v.string(),
    shard: v.string(),
    expiresAt: v.number(),
  })
    .index("by_nonce", ["nonce"])
    .index("by_shard_and_expires_at", ["shard", "expiresAt"]),

  jobLeases: defineTable({
    job: v.string(),
    holder: v.string(),
    expiresAt: v.number(),
  }).index("by_job", ["job"]),

  jobRuns: defineTable({
    job: v.string(),
    startedAt: v.number(),
    endedAt: v.number(),
    outcome: vJobOutcome,
    /** The window the run covered (ms); absent in runs recorded before, which kept it in counts. */
    windowFrom: v.optional(v.number()),
    windowTo: v.optional(v.number()),
    counts: vJsonObject,
    error: v.optional(v.string()),
  })
    .index("by_job_and_started_at", ["job", "startedAt"])
    .index("by_started_at", ["startedAt"]),

  reports: defineTable({
    kind: vReportKind,
    periodKey: v.string(),
    createdAt: v.number(),
    body: vJsonObject,
    csv: v.string(),
    /** Per webhook, replaced by each delivery of the report (absent: never delivered). */
    deliveries: v.optional(v.array(vReportDelivery)),
    /**
     * Until when (ms) a failed delivery of this report is retried: computed
     * by the Go jobs and recorded with the deliveries; absent when nothing
     * is left to retry. The report_retry job reads by_retry_until, so it
     * finds every such report, however many newer ones there are.
     */
    retryUntil: v.optional(v.number()),
  })
    .index("by_kind_and_created_at", ["kind", "createdAt"])
    .index("by_kind_and_period_key", ["kind", "periodKey"])
    .index("by_created_at", ["createdAt"])
    .index("by_retry_until", ["retryUntil"]),

  alertRules: defineTable({
    name: v.string(),
    kind: v.string(),
    threshold: v.number(),
    windowMinutes: v.optional(v.number()),
    severity: vSeverity,
    isEnabled: v.boolean(),
  }),

  notificationSettings: defineTable({
    webhookUrl: v.string(),
    kind: v.literal("slack"),
    isEnabled: v.boolean(),
    secretRef: v.optional(v.string()),
  }),

  forecasts: defineTable({
    createdAt: v.number(),
    scope: vScope,
    userId: v.optional(v.id("llmmeterUsers")),
    /** "2024-01" in the reporting time zone. */
    month: v.string(),
    method: v.string(),
    costNanoUsd: v.number(),
    costLowNanoUsd: v.number(),
    costHighNanoUsd: v.number(),
    tokens: v.number(),
    tokensLow: v.number(),
    tokensHigh: v.number(),
    backtestMape: v.optional(v.number()),
    /** Closed days of data the projection rests on (the Go job's); absent in runs stored before it was kept. */
    historyDays: v.optional(v.number()),
  }).index("by_created_at", ["createdAt"]),

  systemHealth: defineTable({
    checkedAt: v.number(),
    openrouterOk: v.boolean(),
    keyRemainingNanoUsd: v.optional(v.number()),
    storeOk: v.boolean(),
    outboxDepth: v.number(),
    jobLagMs: v.number(),
    details: vJsonObject,
  }).index("by_checked_at", ["checkedAt"]),
};
