-- Ingest cost (issue 15): every index is written on every insert, and these
-- three serve no read of the embedded engine. The admin reads and the jobs
-- reach usage rows by generation id (the primary key), by user and time
-- (usageTracking_by_user_id_and_timestamp), by time and generation id (the
-- raw pages, usageTracking_by_timestamp_and_generation_id, of which
-- by_timestamp was a prefix) and by the fold's pending index; nothing
-- filters usage rows by model or cost status alone. (Convex keeps its own
-- indexes of the same names for its own reads.) requestLogs keeps all of
-- its indexes: the request explorer uses each one.
DROP INDEX IF EXISTS usageTracking_by_timestamp;
DROP INDEX IF EXISTS usageTracking_by_model_and_timestamp;
DROP INDEX IF EXISTS usageTracking_by_cost_status_and_timestamp;
