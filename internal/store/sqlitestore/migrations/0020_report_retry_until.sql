-- The report_retry job (jobs/reportretry.go) finds the reports with a
-- delivery still to retry by their retry deadline, which the jobs compute
-- and record with the deliveries (RecordReportDelivery): an index range,
-- however many newer reports there are (it used to scan the newest 40).
-- NULL when nothing is left to retry, so the partial index holds only the
-- few reports in a retry window. Reports recorded before have none; the
-- job reads those once per process the old way.
ALTER TABLE reports ADD COLUMN retryUntil INTEGER;
CREATE INDEX reports_by_retry_until ON reports(retryUntil, id) WHERE retryUntil IS NOT NULL;
