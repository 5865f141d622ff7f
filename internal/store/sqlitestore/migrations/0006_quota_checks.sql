-- Quota counters are integers in [0, 2^53 − 1] (store.MaxAmount): a
-- hostile estimate once stored reserved = 9.22e18 as a float (SQLite turns
-- an overflowing integer sum into a REAL), after which every read of the
-- row failed. The CHECKs make such a write fail instead (sqlitestore maps
-- the failure to store.ErrInvalid). SQLite adds CHECKs only by rebuilding a
-- table; rows that would break them are repaired on the way: bad
-- reservations are dropped (the call they guarded is over or expires), and
-- each quota's running total is recomputed from the reservations kept.

CREATE TABLE quotaReservations_new (
  requestId TEXT NOT NULL,
  quotaId   TEXT NOT NULL,
  userId    TEXT NOT NULL DEFAULT '',
  amount    INTEGER NOT NULL CHECK (typeof(amount) = 'integer' AND amount BETWEEN 0 AND 9007199254740991),
  expiresAt INTEGER NOT NULL CHECK (typeof(expiresAt) = 'integer'),
  PRIMARY KEY (requestId, quotaId)
);
INSERT INTO quotaReservations_new (requestId, quotaId, userId, amount, expiresAt)
  SELECT requestId, quotaId, userId, amount, expiresAt FROM quotaReservations
  WHERE typeof(amount) = 'integer' AND amount BETWEEN 0 AND 9007199254740991 AND typeof(expiresAt) = 'integer';
DROP TABLE quotaReservations;
ALTER TABLE quotaReservations_new RENAME TO quotaReservations;
CREATE INDEX quotaReservations_by_quota_id_and_expires_at ON quotaReservations(quotaId, expiresAt);

-- "limit" and used stay REAL (the seed's number columns; USD for cost
-- quotas, whose exact amounts are the *NanoUsd columns), but must be
-- numbers ≥ 0, and whole numbers for request and token quotas.
CREATE TABLE userQuotas_new (
  id           TEXT PRIMARY KEY,
  userId       TEXT NOT NULL DEFAULT '',
  quotaType    TEXT NOT NULL,
  "limit"      REAL NOT NULL CHECK (typeof("limit") IN ('integer', 'real') AND "limit" BETWEEN 0 AND 9007199254740991),
  used         REAL NOT NULL DEFAULT 0 CHECK (typeof(used) IN ('integer', 'real') AND used BETWEEN 0 AND 9007199254740991),
  limitNanoUsd INTEGER CHECK (limitNanoUsd IS NULL OR (typeof(limitNanoUsd) = 'integer' AND limitNanoUsd BETWEEN 0 AND 9007199254740991)),
  usedNanoUsd  INTEGER CHECK (usedNanoUsd IS NULL OR (typeof(usedNanoUsd) = 'integer' AND usedNanoUsd BETWEEN 0 AND 9007199254740991)),
  resetDate    INTEGER NOT NULL,
  isActive     INTEGER NOT NULL DEFAULT 1,
  updatedAt    INTEGER NOT NULL,
  reserved     INTEGER NOT NULL DEFAULT 0 CHECK (typeof(reserved) = 'integer' AND reserved BETWEEN 0 AND 9007199254740991),
  UNIQUE (userId, quotaType),
  CHECK (quotaType IN ('monthly_cost_usd', 'system_monthly_cost_usd')
         OR ("limit" = CAST("limit" AS INTEGER) AND used = CAST(used AS INTEGER)))
);
INSERT INTO userQuotas_new (id, userId, quotaType, "limit", used, limitNanoUsd, usedNanoUsd, resetDate, isActive, updatedAt, reserved)
  SELECT id, userId, quotaType,
    CASE WHEN quotaType IN ('monthly_cost_usd', 'system_monthly_cost_usd')
      THEN min(max(COALESCE(CAST("limit" AS REAL), 0), 0), 9007199254740991)
      ELSE min(max(COALESCE(CAST("limit" AS INTEGER), 0), 0), 9007199254740991) END,
    CASE WHEN quotaType IN ('monthly_cost_usd', 'system_monthly_cost_usd')
      THEN min(max(COALESCE(CAST(used AS REAL), 0), 0), 9007199254740991)
      ELSE min(max(COALESCE(CAST(used AS INTEGER), 0), 0), 9007199254740991) END,
    CASE WHEN limitNanoUsd IS NULL THEN NULL ELSE min(max(CAST(limitNanoUsd AS INTEGER), 0), 9007199254740991) END,
    CASE WHEN usedNanoUsd IS NULL THEN NULL ELSE min(max(CAST(usedNanoUsd AS INTEGER), 0), 9007199254740991) END,
    resetDate, isActive, updatedAt,
    -- total() is a float sum that cannot overflow, unlike sum().
    CAST(min((SELECT total(r.amount) FROM quotaReservations r WHERE r.quotaId = userQuotas.id), 9007199254740991) AS INTEGER)
  FROM userQuotas;
DROP TABLE userQuotas;
ALTER TABLE userQuotas_new RENAME TO userQuotas;
CREATE INDEX userQuotas_by_is_active_and_reset_date ON userQuotas(isActive, resetDate);
