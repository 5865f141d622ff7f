-- Service keys (a server naming the end user of each call) and the key each
-- row came through, so that admins can see spend per key. NULL in rows
-- stored before, and in rows of calls made with a Clerk token.

ALTER TABLE apiKeys ADD COLUMN isService INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usageTracking ADD COLUMN apiKeyId TEXT;
ALTER TABLE requestLogs ADD COLUMN apiKeyId TEXT;
ALTER TABLE userActivity ADD COLUMN apiKeyId TEXT;
