-- Alerts that escalate in place and can be acknowledged and silenced, as
-- in convex/schema.ts: history is the JSON list of {severity, at} the row
-- reached; held = 1 marks a row an admin resolved while its condition
-- still held, which keeps a new row from opening until the condition
-- clears (jobs.AlertChange).

ALTER TABLE systemAlerts ADD COLUMN history TEXT;
ALTER TABLE systemAlerts ADD COLUMN acknowledgedAt INTEGER;
ALTER TABLE systemAlerts ADD COLUMN silencedUntil INTEGER;
ALTER TABLE systemAlerts ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
CREATE INDEX systemAlerts_by_held ON systemAlerts(held) WHERE held = 1;
CREATE INDEX systemAlerts_by_condition_key_and_created_at ON systemAlerts(conditionKey, createdAt);
