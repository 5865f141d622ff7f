-- Fine processing-time and time-to-first-token buckets (issue 16 §5), JSON
-- arrays of rollup.NumFine counts; '[]' on rows stored before reads as zeros.
ALTER TABLE usageAggregates ADD COLUMN latencyFine TEXT NOT NULL DEFAULT '[]';
ALTER TABLE usageAggregates ADD COLUMN ttftBuckets TEXT NOT NULL DEFAULT '[]';
