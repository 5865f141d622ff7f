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

-- The fold's version: every apply adds one. A rebuild replaces summaries
-- only if no fold applied since it started reading (compare-and-set), so
-- a rebuild never overwrites what a fold added meanwhile.
CREATE TABLE foldState (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO foldState (id, version) VALUES (1, 0);
