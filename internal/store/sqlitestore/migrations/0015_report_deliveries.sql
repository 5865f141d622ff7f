-- Where each report was delivered (issue 16 §6): a JSON array of
-- {target, status, attempts, at, error}, one per webhook, replaced by each
-- delivery of the report.
ALTER TABLE reports ADD COLUMN deliveries TEXT NOT NULL DEFAULT '[]';
