-- The chat app's conversation and message ids on request logs (issue 13 §4),
-- as usage rows have them, so a conversation's requests can be found.
ALTER TABLE requestLogs ADD COLUMN conversationId TEXT;
ALTER TABLE requestLogs ADD COLUMN messageId TEXT;
