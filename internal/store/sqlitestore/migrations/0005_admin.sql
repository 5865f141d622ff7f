-- Indexes of the admin functions (admin:*), so that every filter combination
-- of llmmeter:requestLogs and llmmeter:alerts is one index range, as in
-- convex/schema.ts.

CREATE INDEX requestLogs_by_user_id_and_status_and_timestamp ON requestLogs(userId, status, timestamp);
CREATE INDEX requestLogs_by_model_and_status_and_timestamp ON requestLogs(model, status, timestamp);
CREATE INDEX requestLogs_by_user_id_and_model_and_timestamp ON requestLogs(userId, model, timestamp);
CREATE INDEX requestLogs_by_user_id_and_model_and_status_and_timestamp ON requestLogs(userId, model, status, timestamp);
CREATE INDEX systemAlerts_by_severity_and_created_at ON systemAlerts(severity, createdAt);
CREATE INDEX systemAlerts_by_is_resolved_and_severity_and_created_at ON systemAlerts(isResolved, severity, createdAt);
