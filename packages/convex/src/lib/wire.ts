/**
 * Request bodies of the signed HTTP actions. Each is a Convex validator used
 * both as the `args` of the internal function behind the route and, through
 * lib/shape.ts, to reject bad payloads with a message naming the field.
 * Ids arrive as strings and are resolved by the internal functions, so an
 * invalid id yields a row-named 400 instead of a generic validator error.
 */
import { v, type Infer } from "convex/values";
import { intIn, matching, nonNegInt, opt, smallObject, str, text } from "./shape";
import {
  vCostStatus,
  vJobOutcome,
  vPeriod,
  vReportKind,
  vRequestStatus,
  vRowTable,
  vScope,
  vSeverity,
} from "./validators";

/** Rows per /ingest request, all kinds together (see README "Ingest bound"). */
export const MAX_INGEST_ROWS = 100;
/** Largest accepted request body. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

// 2000-01-01 .. 2100-01-01: anything else is a unit bug (seconds, µs) on the client.
const timestamp = intIn(946_684_800_000, 4_102_444_800_000);
const idString = str(64);
/** The chat app's conversation_id / message_id: the gateway takes up to 128 characters (internal/gateway/chat.go). */
const chatId = str(128);
/** An end user's id as a service key names it (X-Llmmeter-User; internal/gateway/enduser.go). */
export const endUserId = matching(/^[A-Za-z0-9_:.@|-]{1,128}$/, "1 to 128 characters of [A-Za-z0-9_:.@|-]");
const key = str(256);
const tokens = nonNegInt();
const durationMs = nonNegInt(86_400_000);

export const usageRow = v.object({
  generationId: key,
  requestId: key,
  userId: idString,
  apiKeyId: opt(idString),
  conversationId: opt(chatId),
  messageId: opt(chatId),
  model: str(128),
  provider: opt(str(128)),
  promptTokens: tokens,
  completionTokens: tokens,
  totalTokens: tokens,
  cachedTokens: tokens,
  reasoningTokens: tokens,
  costNanoUsd: nonNegInt(),
  costStatus: vCostStatus,
  cancelled: v.boolean(),
  finishReason: opt(str(64)),
  timestamp,
  processingTime: durationMs,
  isByok: v.boolean(),
  stream: v.boolean(),
});
export type UsageRow = Infer<typeof usageRow>;

export const requestLogRow = v.object({
  requestId: key,
  userId: opt(idString),
  apiKeyId: opt(idString),
  conversationId: opt(chatId),
  messageId: opt(chatId),
  requestType: str(64),
  method: str(16),
  endpoint: str(256),
  model: opt(str(128)),
  generationId: opt(key),
  status: vRequestStatus,
  statusCode: intIn(0, 999),
  errorType: opt(str(64)),
  errorMessage: opt(text(2048)),
  requestSize: nonNegInt(),
  responseSize: nonNegInt(),
  processingTime: durationMs,
  timeToFirstToken: opt(durationMs),
  userAgent: opt(text(512)),
  ipAddress: opt(str(64)),
  timestamp,
});
export type RequestLogRow = Infer<typeof requestLogRow>;

export const activityRow = v.object({
  activityKey: key,
  userId: idString,
  apiKeyId: opt(idString),
  activityType: str(64),
  metadata: opt(smallObject(4096)),
  timestamp,
});
export type ActivityRow = Infer<typeof activityRow>;

export const ingestBody = v.object({
  usage: opt(v.array(usageRow)),
  requestLogs: opt(v.array(requestLogRow)),
  activity: opt(v.array(activityRow)),
  /** The sending replica: picks its shard of the system budget (lib/budgetShards.ts). */
  replica: opt(str(128)),
});
export type IngestBody = Infer<typeof ingestBody>;

// ---- users and API keys ----------------------------------------------------

export const usersEnsureBody = v.object({
  clerkUserId: opt(str(256)),
  externalId: opt(str(256)),
  email: opt(str(320)),
  name: opt(str(256)),
});
export const usersGetBody = v.object({ userId: idString });
/** A page of the search-key backfill (users.ts backfillUserSearchKeys). */
export const usersSearchKeysBackfillBody = v.object({
  /** The previous page's cursor; absent for the first page. */
  cursor: opt(str(4096)),
});

const sha256Hex = matching(/^[0-9a-f]{64}$/, "64 lowercase hex characters (SHA-256)");
export const apiKeyLookupBody = v.object({ keyHash: sha256Hex });
export const apiKeyCreateBody = v.object({
  userId: idString,
  keyHash: sha256Hex,
  prefix: str(32),
  name: str(128),
  isAdmin: v.boolean(),
  isService: opt(v.boolean()),
  /** Create only if no key exists (the bootstrap admin key); else {id: null}. */
  onlyFirst: opt(v.boolean()),
});
export const apiKeyListBody = v.object({ userId: opt(idString) });
export const apiKeyRevokeBody = v.object({ id: idString });

export const quotasGetBody = v.object({ userId: idString });

/** POST /quotas/changes: the quota changes after `since` (ms). */
export const quotaChangesBody = v.object({ since: nonNegInt() });

// ---- jobs ------------------------------------------------------------------

export const MAX_JOB_PAGE = 1000;

export const jobRowsBody = v.object({
  table: vRowTable,
  from: nonNegInt(),
  to: nonNegInt(),
  cursor: opt(v.string()),
  limit: intIn(1, MAX_JOB_PAGE),
});

/** The additive counters of rollup.Counters, as aggregate rows and summary model entries carry them. */
const counterFields = {
  totalRequests: nonNegInt(),
  successfulRequests: nonNegInt(),
  failedRequests: nonNegInt(),
  promptTokens: nonNegInt(),
  completionTokens: nonNegInt(),
  totalTokens: nonNegInt(),
  cachedTokens: nonNegInt(),
  reasoningTokens: nonNegInt(),
  totalCostNanoUsd: nonNegInt(),
  totalProcessingTime: nonNegInt(),
  conversationsStarted: nonNegInt(),
  filesUploaded: nonNegInt(),
  latencyBuckets: v.array(nonNegInt()),
  /** Fine buckets (FINE_BUCKETS counts each); optional: older folds omit them. */
  latencyFine: opt(v.array(nonNegInt())),
  ttftBuckets: opt(v.array(nonNegInt())),
};

export const aggregateUpsertRow = v.object({
  scope: vScope,
  userId: opt(idString),
  model: opt(str(128)),
  period: vPeriod,
  periodKey: str(16),
  periodStart: nonNegInt(),
  shard: intIn(0, 7),
  ...counterFields,
  models: v.array(str(128)),
});
export type AggregateUpsertRow = Infer<typeof aggregateUpsertRow>;

/** A usage confirmation's aggregate delta (rollup.Confirm): its usage counters are signed, as a confirmed cost may be below the estimate. */
const signed = intIn(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
export const aggregateDeltaRow = v.object({
  ...aggregateUpsertRow.fields,
  promptTokens: signed,
  completionTokens: signed,
  totalTokens: signed,
  cachedTokens: signed,
  reasoningTokens: signed,
  totalCostNanoUsd: signed,
});

/** One period's summary as the Go fold computes it (rollup.Summary). */
export const summaryRow = v.object({
  period: vPeriod,
  periodStart: nonNegInt(),
  periodKey: str(16),
  activeUsers: nonNegInt(),
  models: v.array(
    v.object({ model: str(128), ...counterFields }),
  ),
  topUsers: v.array(
    v.object({ userId: idString, requests: nonNegInt(), totalTokens: nonNegInt(), costNanoUsd: nonNegInt() }),
  ),
});
export type SummaryRow = Infer<typeof summaryRow>;
export const MAX_UPSERT_ROWS = 500;
/** foldVersion: replace only if the fold version still equals it (the rebuild's compare-and-set). */
export const aggregatesUpsertBody = v.object({ rows: v.array(aggregateUpsertRow), foldVersion: opt(nonNegInt()) });

export const aggregatesListBody = v.object({
  scope: vScope,
  period: vPeriod,
  from: nonNegInt(),
  to: nonNegInt(),
  cursor: opt(v.string()),
  limit: intIn(1, MAX_JOB_PAGE),
});

export const quotaResetBody = v.object({
  quotaId: idString,
  expectedResetDate: nonNegInt(),
  nextResetDate: nonNegInt(),
});
export const quotasDueBody = v.object({
  before: nonNegInt(),
  limit: intIn(1, MAX_JOB_PAGE),
  /** The previous page's cursor; absent for the first page. */
  cursor: opt(str(4096)),
});

export const alertOpenBody = v.object({
  conditionKey: str(256),
  alertType: str(64),
  severity: vSeverity,
  message: str(2048),
  metadata: opt(smallObject(8192)),
  userId: opt(idString),
  /** The job's time (default: now). */
  at: opt(nonNegInt()),
});
export const alertEscalateBody = v.object({
  alertId: idString,
  alertType: str(64),
  severity: vSeverity,
  message: str(2048),
  metadata: opt(smallObject(8192)),
  at: opt(nonNegInt()),
});
export const alertResolveBody = v.object({ conditionKey: str(256), at: opt(nonNegInt()) });
export const alertNotifiedBody = v.object({ alertId: idString, at: nonNegInt() });

export const reportStoreBody = v.object({
  kind: vReportKind,
  periodKey: str(16),
  body: smallObject(256 * 1024),
  csv: text(512 * 1024),
});

export const forecastRow = v.object({
  scope: vScope,
  userId: opt(idString),
  month: matching(/^\d{4}-\d{2}$/, "month as YYYY-MM"),
  method: str(64),
  costNanoUsd: nonNegInt(),
  costLowNanoUsd: nonNegInt(),
  costHighNanoUsd: nonNegInt(),
  tokens: nonNegInt(),
  tokensLow: nonNegInt(),
  tokensHigh: nonNegInt(),
  backtestMape: opt(v.number()),
  historyDays: opt(nonNegInt()),
});
export const MAX_FORECAST_ROWS = 200;
export const forecastStoreBody = v.object({ createdAt: nonNegInt(), rows: v.array(forecastRow) });

export const healthStoreBody = v.object({
  checkedAt: nonNegInt(),
  openrouterOk: v.boolean(),
  keyRemainingNanoUsd: opt(nonNegInt()),
  storeOk: v.boolean(),
  outboxDepth: nonNegInt(),
  jobLagMs: nonNegInt(),
  details: smallObject(16 * 1024),
});

const ttlMs = intIn(1000, 3_600_000);
export const leaseAcquireBody = v.object({ job: str(128), holder: str(256), ttlMs });
export const leaseRenewBody = v.object({ job: str(128), holder: str(256), ttlMs });
export const leaseReleaseBody = v.object({ job: str(128), holder: str(256) });

/** POST /quotas/reserve: estimates are upper bounds; costNanoUsd 0 = unknown. */
export const quotaReserveBody = v.object({
  requestId: key,
  userId: idString,
  tokens: nonNegInt(),
  costNanoUsd: nonNegInt(),
  ttlMs,
});
export const quotaReleaseBody = v.object({ requestId: key });

/** Amounts in each quota unit (store.Amounts in Go). */
const amounts = v.object({ requests: nonNegInt(), tokens: nonNegInt(), costNanoUsd: nonNegInt() });
/** Claims per /quotas/lease request (store.MaxClaims in Go). */
export const MAX_LEASE_CLAIMS = 256;
/**
 * POST /quotas/lease (store.LeaseInput in Go): one holder's allowance for a
 * user's quotas, or with no userId the system budget.
 */
export const quotaLeaseBody = v.object({
  holder: str(128),
  userId: opt(idString),
  claims: v.array(v.object({ requestId: key, amounts })),
  return: amounts,
  want: amounts,
  need: amounts,
  ttlMs,
  claimTtlMs: ttlMs,
});
export type QuotaLeaseArgs = Infer<typeof quotaLeaseBody>;

/** POST /quotas/lease/release-holder: the leases a replica's predecessor left. */
export const leaseReleaseHolderBody = v.object({ holder: str(128) });

export const runRecordBody = v.object({
  job: str(128),
  startedAt: nonNegInt(),
  endedAt: nonNegInt(),
  outcome: vJobOutcome,
  windowFrom: opt(nonNegInt()),
  windowTo: opt(nonNegInt()),
  counts: smallObject(8192),
  error: opt(text(4096)),
});
