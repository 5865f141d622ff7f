-- The request explorer (issue 16 §4): search by generation id and the API
-- key and conversation filters, each one index range as on Convex
-- (packages/convex/src/adminRequestLogs.ts has the plan).
CREATE INDEX requestLogs_by_generation_id ON requestLogs(generationId);
CREATE INDEX requestLogs_by_conversation_id_and_timestamp ON requestLogs(conversationId, timestamp);
CREATE INDEX requestLogs_by_api_key_id_and_timestamp ON requestLogs(apiKeyId, timestamp);
CREATE INDEX requestLogs_by_api_key_id_and_status_and_timestamp ON requestLogs(apiKeyId, status, timestamp);
