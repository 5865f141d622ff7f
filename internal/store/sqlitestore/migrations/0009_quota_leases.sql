-- Allowance leases (issue 15): one row per (quota, holder), the allowance
-- a replica holds to admit calls without a store round trip. Counted with
-- the reservations by both Lease and Reserve while expiresAt > now; a
-- replica that dies stops renewing, and its row expires.
CREATE TABLE quotaLeases (
  quotaId   TEXT NOT NULL,
  holder    TEXT NOT NULL,
  userId    TEXT NOT NULL DEFAULT '',
  amount    INTEGER NOT NULL CHECK (typeof(amount) = 'integer' AND amount BETWEEN 0 AND 9007199254740991),
  expiresAt INTEGER NOT NULL CHECK (typeof(expiresAt) = 'integer'),
  PRIMARY KEY (quotaId, holder)
);
