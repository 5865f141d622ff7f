-- A log of quota changes (setQuota, deleteQuota), polled by the service's
-- lease manager so a quota set elsewhere (another replica, the CLI) applies
-- to a warm user within a second instead of at the lease's next renewal.
CREATE TABLE quotaChanges (
  id INTEGER PRIMARY KEY,
  userId TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX quotaChanges_by_at ON quotaChanges(at);
