-- The tables of jobs, alerts, reports, forecasts and health, mirroring
-- convex/schema.ts. JSON columns hold objects (counts, body, details).

ALTER TABLE users ADD COLUMN role TEXT;
ALTER TABLE systemAlerts ADD COLUMN lastNotifiedAt INTEGER;
CREATE INDEX systemAlerts_by_created_at ON systemAlerts(createdAt);
CREATE INDEX userQuotas_by_is_active_and_reset_date ON userQuotas(isActive, resetDate);

CREATE TABLE jobLeases (
  job       TEXT PRIMARY KEY,
  holder    TEXT NOT NULL,
  expiresAt INTEGER NOT NULL
);

CREATE TABLE jobRuns (
  id        TEXT PRIMARY KEY,
  job       TEXT NOT NULL,
  startedAt INTEGER NOT NULL,
  endedAt   INTEGER NOT NULL,
  outcome   TEXT NOT NULL,              -- success | failure | skipped
  counts    TEXT NOT NULL DEFAULT '{}',
  error     TEXT
);
CREATE INDEX jobRuns_by_job_and_started_at ON jobRuns(job, startedAt);
CREATE INDEX jobRuns_by_started_at ON jobRuns(startedAt);

CREATE TABLE reports (
  id        TEXT PRIMARY KEY,
  kind      TEXT NOT NULL,              -- daily | weekly
  periodKey TEXT NOT NULL,
  createdAt INTEGER NOT NULL,
  body      TEXT NOT NULL,
  csv       TEXT NOT NULL,
  UNIQUE (kind, periodKey)
);
CREATE INDEX reports_by_created_at ON reports(createdAt);

CREATE TABLE alertRules (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  kind          TEXT NOT NULL,
  threshold     REAL NOT NULL,
  windowMinutes INTEGER,
  severity      TEXT NOT NULL,
  isEnabled     INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE notificationSettings (
  id         TEXT PRIMARY KEY,
  webhookUrl TEXT NOT NULL,
  kind       TEXT NOT NULL DEFAULT 'slack',
  isEnabled  INTEGER NOT NULL DEFAULT 1,
  secretRef  TEXT
);

CREATE TABLE forecasts (
  id              TEXT PRIMARY KEY,
  createdAt       INTEGER NOT NULL,
  scope           TEXT NOT NULL,
  userId          TEXT,
  month           TEXT NOT NULL,
  method          TEXT NOT NULL,
  costNanoUsd     INTEGER NOT NULL,
  costLowNanoUsd  INTEGER NOT NULL,
  costHighNanoUsd INTEGER NOT NULL,
  tokens          INTEGER NOT NULL,
  tokensLow       INTEGER NOT NULL,
  tokensHigh      INTEGER NOT NULL,
  backtestMape    REAL
);
CREATE INDEX forecasts_by_created_at ON forecasts(createdAt);

CREATE TABLE systemHealth (
  id                  TEXT PRIMARY KEY,
  checkedAt           INTEGER NOT NULL,
  openrouterOk        INTEGER NOT NULL,
  keyRemainingNanoUsd INTEGER,
  storeOk             INTEGER NOT NULL,
  outboxDepth         INTEGER NOT NULL,
  jobLagMs            INTEGER NOT NULL,
  details             TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX systemHealth_by_checked_at ON systemHealth(checkedAt);
