package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// The admin functions of alerts (convex/admin.ts and convex/lib/alerts.ts).

// maxSilence is how far ahead an alert can be silenced.
const maxSilence = 90 * 24 * time.Hour

// alertCountCap bounds admin:openAlertCount's reads, as in Convex.
const alertCountCap = 100

type escalation struct {
	Severity string `json:"severity"`
	At       int64  `json:"at"`
}

type alertView struct {
	ID             string       `json:"id"`
	AlertType      string       `json:"alertType"`
	Severity       string       `json:"severity"`
	Message        string       `json:"message"`
	Metadata       any          `json:"metadata"`
	UserID         any          `json:"userId"`
	UserName       any          `json:"userName"`
	IsRead         bool         `json:"isRead"`
	IsResolved     bool         `json:"isResolved"`
	CreatedAt      int64        `json:"createdAt"`
	ResolvedAt     any          `json:"resolvedAt"`
	ConditionKey   string       `json:"conditionKey"`
	LastNotifiedAt any          `json:"lastNotifiedAt"`
	History        []escalation `json:"history"`
	AcknowledgedAt any          `json:"acknowledgedAt"`
	SilencedUntil  any          `json:"silencedUntil"`
}

// alerts lists alerts by severity (critical first), then newest first.
func alerts(ctx context.Context, s *Store, q querier, a args) (any, error) {
	limit, err := limitOf(a, 50, 200)
	if err != nil {
		return nil, err
	}
	var (
		conds []string
		vals  []any
	)
	if st, ok := a.str("status"); ok {
		conds, vals = append(conds, "a.isResolved = ?"), append(vals, boolInt(st == "resolved"))
	}
	if sev, ok := a.str("severity"); ok {
		conds, vals = append(conds, "a.severity = ?"), append(vals, sev)
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	rs, err := q.QueryContext(ctx, `SELECT a.id, a.alertType, a.severity, a.message, a.metadata, a.userId, COALESCE(u.name, u.email),
		a.isRead, a.isResolved, a.createdAt, a.resolvedAt, COALESCE(a.conditionKey, ''), a.lastNotifiedAt, a.history, a.acknowledgedAt,
		a.silencedUntil FROM systemAlerts a LEFT JOIN users u ON u.id = a.userId `+where+`
		ORDER BY CASE a.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, a.createdAt DESC, a.rowid DESC LIMIT ?`,
		append(vals, limit)...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []alertView{}
	for rs.Next() {
		var (
			v                               alertView
			meta, user, name, history       sql.NullString
			resolved, notified, ack, silent sql.NullInt64
		)
		if err := rs.Scan(&v.ID, &v.AlertType, &v.Severity, &v.Message, &meta, &user, &name, &v.IsRead, &v.IsResolved, &v.CreatedAt,
			&resolved, &v.ConditionKey, &notified, &history, &ack, &silent); err != nil {
			return nil, err
		}
		v.Metadata, v.UserID, v.UserName, v.ResolvedAt = jsonOrNull(meta), strOrNull(user), strOrNull(name), intOrNull(resolved)
		v.LastNotifiedAt, v.AcknowledgedAt, v.SilencedUntil = intOrNull(notified), intOrNull(ack), intOrNull(silent)
		v.History = []escalation{{Severity: v.Severity, At: v.CreatedAt}}
		if history.Valid && history.String != "" {
			if err := json.Unmarshal([]byte(history.String), &v.History); err != nil {
				return nil, err
			}
		}
		out = append(out, v)
	}
	return out, rs.Err()
}

// openAlertCount counts open alerts for the navigation badge, reading at
// most alertCountCap+1 rows per count (capped: there are more).
func openAlertCount(ctx context.Context, s *Store, q querier, a args) (any, error) {
	count := func(where string) (int, error) {
		var n int
		err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM systemAlerts WHERE isResolved = 0 `+where+` LIMIT ?)`,
			alertCountCap+1).Scan(&n)
		return n, err
	}
	open, err := count("")
	if err != nil {
		return nil, err
	}
	critical, err := count("AND severity = 'critical'")
	if err != nil {
		return nil, err
	}
	return map[string]any{"open": min(open, alertCountCap), "critical": min(critical, alertCountCap), "capped": open > alertCountCap}, nil
}

func alertID(ctx context.Context, q querier, a args) (string, bool, error) {
	raw, _ := a.str("alertId")
	id, err := idOf("systemAlerts", raw, "alertId")
	if err != nil {
		return "", false, err
	}
	var resolved bool
	err = q.QueryRowContext(ctx, `SELECT isResolved FROM systemAlerts WHERE id = ?`, id).Scan(&resolved)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, notFound("alertId: no such alert")
	}
	return id, resolved, err
}

func markAlertRead(ctx context.Context, s *Store, q querier, a args) (any, error) {
	id, _, err := alertID(ctx, q, a)
	if err != nil {
		return nil, err
	}
	if _, err := q.ExecContext(ctx, `UPDATE systemAlerts SET isRead = 1 WHERE id = ?`, id); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true}, nil
}

// resolveAlert closes an open alert by hand. Its condition held at the
// last evaluation (else the job had resolved it), so the row is held: the
// job opens no new row for the condition until it has cleared.
func resolveAlert(ctx context.Context, s *Store, q querier, a args) (any, error) {
	id, resolved, err := alertID(ctx, q, a)
	if err != nil {
		return nil, err
	}
	if resolved {
		return map[string]any{"resolved": false}, nil
	}
	if _, err := q.ExecContext(ctx, `UPDATE systemAlerts SET isResolved = 1, resolvedAt = ?, held = 1 WHERE id = ?`, s.nowMs(), id); err != nil {
		return nil, err
	}
	return map[string]any{"resolved": true}, nil
}

// acknowledgeAlert: someone took the alert; it is not notified again
// until it escalates. {acknowledged: false} if resolved or acknowledged.
func acknowledgeAlert(ctx context.Context, s *Store, q querier, a args) (any, error) {
	id, resolved, err := alertID(ctx, q, a)
	if err != nil {
		return nil, err
	}
	if resolved {
		return map[string]any{"acknowledged": false}, nil
	}
	r, err := q.ExecContext(ctx, `UPDATE systemAlerts SET acknowledgedAt = ?, isRead = 1 WHERE id = ? AND acknowledgedAt IS NULL`, s.nowMs(), id)
	if err != nil {
		return nil, err
	}
	n, _ := r.RowsAffected()
	return map[string]any{"acknowledged": n > 0}, nil
}

// silenceAlert: no notification for the alert's condition for forMs from
// now, or before until (ms); until 0 lifts the silence. Exactly one of the
// two. The portal sends forMs, so the instant comes from this clock, not the
// browser's; until stays for callers that name an instant.
func silenceAlert(ctx context.Context, s *Store, q querier, a args) (any, error) {
	now := s.nowMs()
	until, hasUntil := a.num("until")
	forMs, hasFor := a.num("forMs")
	if hasUntil == hasFor {
		return nil, badRequest("expected either until or forMs")
	}
	if hasFor {
		if !isSafeInt(forMs) || forMs < 1 || forMs > float64(maxSilence.Milliseconds()) {
			return nil, badRequest("forMs: expected integer in [1, %d]", maxSilence.Milliseconds())
		}
		until = float64(now) + forMs
	}
	if !isSafeInt(until) || (until != 0 && (int64(until) <= now || int64(until) > now+maxSilence.Milliseconds())) {
		return nil, badRequest("until: expected 0 or a time within the next 90 days")
	}
	id, _, err := alertID(ctx, q, a)
	if err != nil {
		return nil, err
	}
	if _, err := q.ExecContext(ctx, `UPDATE systemAlerts SET silencedUntil = ? WHERE id = ?`, nullInt(int64(until)), id); err != nil {
		return nil, err
	}
	return map[string]any{"silencedUntil": nullInt(int64(until))}, nil
}
