-- Append-only ingest (issue 14): ingest stores rows with folded = 0 and the
-- fold (internal/fold) adds them to usageAggregates and sets folded = 1 in
-- one transaction. Rows stored before this migration were counted at
-- ingest, so they start folded. The partial indexes are the fold's pending
-- index: they hold only the rows still to fold.

ALTER TABLE usageTracking ADD COLUMN folded INTEGER NOT NULL DEFAULT 1;
ALTER TABLE requestLogs ADD COLUMN folded INTEGER NOT NULL DEFAULT 1;
ALTER TABLE userActivity ADD COLUMN folded INTEGER NOT NULL DEFAULT 1;
CREATE INDEX usageTracking_unfolded ON usageTracking(folded) WHERE folded = 0;
CREATE INDEX requestLogs_unfolded ON requestLogs(folded) WHERE folded = 0;
CREATE INDEX userActivity_unfolded ON userActivity(folded) WHERE folded = 0;
