-- Reservations of calls in flight against quotas (strict mode). amount is
-- in the quota's unit: requests, tokens, or nano-USD for cost quotas.
CREATE TABLE quotaReservations (
  requestId TEXT NOT NULL,
  quotaId   TEXT NOT NULL,
  userId    TEXT NOT NULL DEFAULT '',
  amount    INTEGER NOT NULL,
  expiresAt INTEGER NOT NULL,
  PRIMARY KEY (requestId, quotaId)
);
CREATE INDEX quotaReservations_by_quota_id_and_expires_at ON quotaReservations(quotaId, expiresAt);

-- The running total of a quota's open reservations, kept in step with the
-- rows above, so that admitting a call does not sum them every time.
ALTER TABLE userQuotas ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0;
