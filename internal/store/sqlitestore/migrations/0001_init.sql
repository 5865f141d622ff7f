-- The seed's six tables with the seed's field names, plus users and apiKeys.
-- Money: costNanoUsd is the exact integer (1e-9 USD) every sum uses;
-- costInUSD and costInCredits are the seed's display columns, derived from it.

CREATE TABLE users (
  id          TEXT PRIMARY KEY,
  externalId  TEXT UNIQUE,
  clerkUserId TEXT UNIQUE,
  email       TEXT,
  name        TEXT,
  createdAt   INTEGER NOT NULL
);

CREATE TABLE apiKeys (
  id        TEXT PRIMARY KEY,
  userId    TEXT NOT NULL REFERENCES users(id),
  keyHash   TEXT NOT NULL UNIQUE,
  prefix    TEXT NOT NULL,
  name      TEXT NOT NULL DEFAULT '',
  isAdmin   INTEGER NOT NULL DEFAULT 0,
  createdAt INTEGER NOT NULL,
  revokedAt INTEGER
);
CREATE INDEX apiKeys_by_user_id ON apiKeys(userId);

CREATE TABLE usageTracking (
  generationId     TEXT PRIMARY KEY,
  requestId        TEXT NOT NULL,
  userId           TEXT NOT NULL,
  conversationId   TEXT,
  messageId        TEXT,
  model            TEXT NOT NULL,
  provider         TEXT,
  promptTokens     INTEGER NOT NULL,
  completionTokens INTEGER NOT NULL,
  totalTokens      INTEGER NOT NULL,
  cachedTokens     INTEGER NOT NULL DEFAULT 0,
  reasoningTokens  INTEGER NOT NULL DEFAULT 0,
  costNanoUsd      INTEGER NOT NULL,
  costInCredits    REAL NOT NULL,
  costInUSD        REAL NOT NULL,
  costStatus       TEXT NOT NULL,
  cancelled        INTEGER NOT NULL DEFAULT 0,
  finishReason     TEXT,
  timestamp        INTEGER NOT NULL,
  processingTime   INTEGER NOT NULL,
  isByok           INTEGER NOT NULL DEFAULT 0,
  stream           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX usageTracking_by_user_id_and_timestamp ON usageTracking(userId, timestamp);
CREATE INDEX usageTracking_by_timestamp ON usageTracking(timestamp);
CREATE INDEX usageTracking_by_model_and_timestamp ON usageTracking(model, timestamp);
CREATE INDEX usageTracking_by_cost_status_and_timestamp ON usageTracking(costStatus, timestamp);

CREATE TABLE requestLogs (
  requestId        TEXT PRIMARY KEY,
  userId           TEXT,
  requestType      TEXT NOT NULL,
  method           TEXT NOT NULL,
  endpoint         TEXT NOT NULL,
  model            TEXT,
  generationId     TEXT,
  status           TEXT NOT NULL,
  statusCode       INTEGER NOT NULL,
  errorType        TEXT,
  errorMessage     TEXT,
  requestSize      INTEGER NOT NULL,
  responseSize     INTEGER NOT NULL,
  processingTime   INTEGER NOT NULL,
  timeToFirstToken INTEGER,
  userAgent        TEXT,
  ipAddress        TEXT,
  timestamp        INTEGER NOT NULL
);
CREATE INDEX requestLogs_by_timestamp ON requestLogs(timestamp);
CREATE INDEX requestLogs_by_status_and_timestamp ON requestLogs(status, timestamp);
CREATE INDEX requestLogs_by_user_id_and_timestamp ON requestLogs(userId, timestamp);
CREATE INDEX requestLogs_by_model_and_timestamp ON requestLogs(model, timestamp);

CREATE TABLE userActivity (
  activityKey  TEXT PRIMARY KEY,
  userId       TEXT NOT NULL,
  activityType TEXT NOT NULL,
  metadata     TEXT,
  timestamp    INTEGER NOT NULL
);
CREATE INDEX userActivity_by_user_id_and_timestamp ON userActivity(userId, timestamp);

-- One row per (scope, subject, period, periodStart); the embedded engine has
-- no write contention, so it keeps no shards. models and latencyBuckets are
-- JSON arrays (distinct model ids; counts per processing-time bucket).
CREATE TABLE usageAggregates (
  scope                 TEXT NOT NULL,            -- system | user | model
  userId                TEXT NOT NULL DEFAULT '',
  model                 TEXT NOT NULL DEFAULT '',
  period                TEXT NOT NULL,            -- hourly | daily | weekly | monthly
  periodKey             TEXT NOT NULL,
  periodStart           INTEGER NOT NULL,
  totalRequests         INTEGER NOT NULL DEFAULT 0,
  successfulRequests    INTEGER NOT NULL DEFAULT 0,
  failedRequests        INTEGER NOT NULL DEFAULT 0,
  totalTokens           INTEGER NOT NULL DEFAULT 0,
  promptTokens          INTEGER NOT NULL DEFAULT 0,
  completionTokens      INTEGER NOT NULL DEFAULT 0,
  cachedTokens          INTEGER NOT NULL DEFAULT 0,
  reasoningTokens       INTEGER NOT NULL DEFAULT 0,
  totalCostNanoUsd      INTEGER NOT NULL DEFAULT 0,
  totalCost             REAL NOT NULL DEFAULT 0,
  totalProcessingTime   INTEGER NOT NULL DEFAULT 0,
  averageProcessingTime REAL NOT NULL DEFAULT 0,
  uniqueModels          INTEGER NOT NULL DEFAULT 0,
  conversationsStarted  INTEGER NOT NULL DEFAULT 0,
  filesUploaded         INTEGER NOT NULL DEFAULT 0,
  models                TEXT NOT NULL DEFAULT '[]',
  latencyBuckets        TEXT NOT NULL DEFAULT '[0,0,0,0,0,0,0,0,0,0,0]',
  lastUpdated           INTEGER NOT NULL,
  PRIMARY KEY (scope, userId, model, period, periodStart)
);
CREATE INDEX usageAggregates_by_scope_and_period_and_start ON usageAggregates(scope, period, periodStart);
CREATE INDEX usageAggregates_by_user_id_and_period_and_start ON usageAggregates(userId, period, periodStart);
CREATE INDEX usageAggregates_by_model_and_period_and_start ON usageAggregates(model, period, periodStart);

CREATE TABLE userQuotas (
  id           TEXT PRIMARY KEY,
  userId       TEXT NOT NULL DEFAULT '',          -- '' is the system-wide budget
  quotaType    TEXT NOT NULL,
  "limit"      REAL NOT NULL,
  used         REAL NOT NULL DEFAULT 0,
  limitNanoUsd INTEGER,
  usedNanoUsd  INTEGER,
  resetDate    INTEGER NOT NULL,
  isActive     INTEGER NOT NULL DEFAULT 1,
  updatedAt    INTEGER NOT NULL,
  UNIQUE (userId, quotaType)
);

CREATE TABLE systemAlerts (
  id           TEXT PRIMARY KEY,
  alertType    TEXT NOT NULL,
  severity     TEXT NOT NULL,
  message      TEXT NOT NULL,
  metadata     TEXT,
  userId       TEXT,
  isRead       INTEGER NOT NULL DEFAULT 0,
  isResolved   INTEGER NOT NULL DEFAULT 0,
  createdAt    INTEGER NOT NULL,
  resolvedAt   INTEGER,
  conditionKey TEXT
);
CREATE INDEX systemAlerts_by_is_resolved_and_created_at ON systemAlerts(isResolved, createdAt);
CREATE INDEX systemAlerts_by_condition_key ON systemAlerts(conditionKey, isResolved);
