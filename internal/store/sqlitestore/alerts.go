package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"llmmeter/internal/store"
)

// The alert lifecycle of jobs.Store (the rule is jobs.AlertChange's). A
// live row is an open one (isResolved = 0) or a held one (held = 1).

const liveAlertColumns = `id, COALESCE(conditionKey,''), alertType, severity, message, COALESCE(metadata,''), COALESCE(userId,''),
	createdAt, COALESCE(lastNotifiedAt,0), COALESCE(history,''), COALESCE(acknowledgedAt,0), COALESCE(silencedUntil,0), isResolved`

func scanLiveAlert(sc interface{ Scan(...any) error }) (store.Alert, error) {
	var (
		a                  store.Alert
		sev, meta, history string
	)
	err := sc.Scan(&a.ID, &a.ConditionKey, &a.AlertType, &sev, &a.Message, &meta, &a.UserID, &a.CreatedAt, &a.LastNotifiedAt,
		&history, &a.AcknowledgedAt, &a.SilencedUntil, &a.IsResolved)
	if err != nil {
		return a, err
	}
	a.Severity = store.Severity(sev)
	if meta != "" {
		if err := json.Unmarshal([]byte(meta), &a.Metadata); err != nil {
			return a, fmt.Errorf("alert %s metadata: %w", a.ID, err)
		}
	}
	if history != "" {
		if err := json.Unmarshal([]byte(history), &a.History); err != nil {
			return a, fmt.Errorf("alert %s history: %w", a.ID, err)
		}
	} else {
		// A row from before escalation was recorded: it opened at its severity.
		a.History = []store.Escalation{{Severity: a.Severity, At: a.CreatedAt}}
	}
	return a, nil
}

// OpenAlert implements jobs.Store.
func (s *Store) OpenAlert(ctx context.Context, a store.Alert) (store.Alert, bool, error) {
	if a.CreatedAt == 0 {
		a.CreatedAt = s.nowMs()
	}
	created := false
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		open, err := scanLiveAlert(tx.QueryRowContext(ctx, `SELECT `+liveAlertColumns+` FROM systemAlerts
			WHERE conditionKey = ? AND isResolved = 0 LIMIT 1`, a.ConditionKey))
		if err == nil {
			a = open
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var silenced sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT silencedUntil FROM systemAlerts WHERE conditionKey = ? ORDER BY createdAt DESC LIMIT 1`,
			a.ConditionKey).Scan(&silenced)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE systemAlerts SET held = 0 WHERE conditionKey = ? AND held = 1`, a.ConditionKey); err != nil {
			return err
		}
		a.SilencedUntil = 0
		if silenced.Valid && silenced.Int64 > a.CreatedAt {
			a.SilencedUntil = silenced.Int64
		}
		a.History = []store.Escalation{{Severity: a.Severity, At: a.CreatedAt}}
		h, err := json.Marshal(a.History)
		if err != nil {
			return err
		}
		meta, err := metadataJSON(a.Metadata)
		if err != nil {
			return err
		}
		a.ID, a.LastNotifiedAt, a.AcknowledgedAt, a.IsResolved, created = newID("al_"), 0, 0, false, true
		_, err = tx.ExecContext(ctx, `INSERT INTO systemAlerts (id, alertType, severity, message, metadata, userId, isRead, isResolved,
			createdAt, conditionKey, history, silencedUntil) VALUES (?,?,?,?,?,?,0,0,?,?,?,?)`,
			a.ID, a.AlertType, string(a.Severity), a.Message, meta, nullStr(a.UserID), a.CreatedAt, a.ConditionKey, string(h), nullInt(a.SilencedUntil))
		return err
	})
	if err != nil {
		return store.Alert{}, false, fmt.Errorf("sqlitestore: open alert: %w", err)
	}
	return a, created, nil
}

// EscalateAlert implements jobs.Store.
func (s *Store) EscalateAlert(ctx context.Context, id string, a store.Alert) (bool, error) {
	ok := false
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		live, err := scanLiveAlert(tx.QueryRowContext(ctx, `SELECT `+liveAlertColumns+` FROM systemAlerts WHERE id = ? AND isResolved = 0`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		h, err := json.Marshal(append(live.History, store.Escalation{Severity: a.Severity, At: a.CreatedAt}))
		if err != nil {
			return err
		}
		meta, err := metadataJSON(a.Metadata)
		if err != nil {
			return err
		}
		ok = true
		_, err = tx.ExecContext(ctx, `UPDATE systemAlerts SET severity = ?, message = ?, metadata = ?, history = ?, isRead = 0,
			acknowledgedAt = NULL, lastNotifiedAt = NULL WHERE id = ?`, string(a.Severity), a.Message, meta, string(h), id)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlitestore: escalate alert: %w", err)
	}
	return ok, nil
}

func metadataJSON(m map[string]any) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// ResolveAlert implements jobs.Store: the condition cleared.
func (s *Store) ResolveAlert(ctx context.Context, conditionKey string, now time.Time) (int, error) {
	r, err := s.db.W.ExecContext(ctx, `UPDATE systemAlerts SET isResolved = 1, resolvedAt = COALESCE(resolvedAt, ?), held = 0
		WHERE conditionKey = ? AND (isResolved = 0 OR held = 1)`, now.UnixMilli(), conditionKey)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: resolve alert: %w", err)
	}
	n, _ := r.RowsAffected()
	return int(n), nil
}

// OpenAlerts implements jobs.Store: the live rows, newest first.
func (s *Store) OpenAlerts(ctx context.Context, limit int) ([]store.Alert, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+liveAlertColumns+` FROM systemAlerts WHERE isResolved = 0
		UNION ALL SELECT `+liveAlertColumns+` FROM systemAlerts WHERE held = 1 ORDER BY 8 DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open alerts: %w", err)
	}
	defer rows.Close()
	var out []store.Alert
	for rows.Next() {
		a, err := scanLiveAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: open alerts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AlertNotified implements jobs.Store.
func (s *Store) AlertNotified(ctx context.Context, id string, at time.Time) error {
	r, err := s.db.W.ExecContext(ctx, `UPDATE systemAlerts SET lastNotifiedAt = ? WHERE id = ?`, at.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("sqlitestore: alert notified: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}
