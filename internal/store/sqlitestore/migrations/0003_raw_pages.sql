-- Keyset pages of raw rows in (timestamp, key) order for the jobs: with the
-- key in the index, a page is one index range instead of a sort of the
-- whole remaining window.
CREATE INDEX usageTracking_by_timestamp_and_generation_id ON usageTracking(timestamp, generationId);
CREATE INDEX requestLogs_by_timestamp_and_request_id ON requestLogs(timestamp, requestId);
CREATE INDEX userActivity_by_timestamp_and_activity_key ON userActivity(timestamp, activityKey);
