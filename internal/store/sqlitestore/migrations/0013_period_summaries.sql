-- Period summaries (issue 14's read model): one row per stored period,
-- written only by the fold and the rebuild (internal/rollup.Summarize), read
-- by llmmeter:overview (activeUsers), topUsers and modelStats. models and
-- topUsers are JSON arrays in rollup.Summary's wire shape.
CREATE TABLE periodSummaries (
  period      TEXT NOT NULL,
  periodStart INTEGER NOT NULL,
  periodKey   TEXT NOT NULL,
  activeUsers INTEGER NOT NULL,
  models      TEXT NOT NULL,
  topUsers    TEXT NOT NULL,
  PRIMARY KEY (period, periodStart)
);
