package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"llmmeter/internal/store"
)

// RecordReportDelivery replaces the deliveries and the retry deadline
// (retryUntil, ms; 0: none) of the report of kind and periodKey;
// store.ErrNotFound if there is no such report.
func (s *Store) RecordReportDelivery(ctx context.Context, kind, periodKey string, d []store.ReportDelivery, retryUntil int64) error {
	if d == nil {
		d = []store.ReportDelivery{}
	}
	if retryUntil < 0 {
		return fmt.Errorf("%w: retryUntil %d", store.ErrInvalid, retryUntil)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	res, err := s.db.W.ExecContext(ctx, `UPDATE reports SET deliveries = ?, retryUntil = ? WHERE kind = ? AND periodKey = ?`,
		string(b), nullMs(retryUntil), kind, periodKey)
	if err != nil {
		return fmt.Errorf("sqlitestore: record report delivery: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlitestore: record report delivery: %w: report %s %s", store.ErrNotFound, kind, periodKey)
	}
	return nil
}

// ReportDeliveries reads the report of kind and periodKey with its
// deliveries and retry deadline; store.ErrNotFound if there is none.
func (s *Store) ReportDeliveries(ctx context.Context, kind, periodKey string) (store.UndeliveredReport, error) {
	u, err := scanReportDeliveries(s.db.R.QueryRowContext(ctx, `SELECT kind, periodKey, createdAt, body, deliveries, COALESCE(retryUntil, 0)
		FROM reports WHERE kind = ? AND periodKey = ?`, kind, periodKey))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("sqlitestore: report %s %s: %w", kind, periodKey, store.ErrNotFound)
	}
	return u, err
}

func scanReportDeliveries(row interface{ Scan(...any) error }) (store.UndeliveredReport, error) {
	var (
		u                store.UndeliveredReport
		body, deliveries string
	)
	if err := row.Scan(&u.Kind, &u.PeriodKey, &u.CreatedAt, &body, &deliveries, &u.RetryUntil); err != nil {
		return u, err
	}
	if err := json.Unmarshal([]byte(deliveries), &u.Deliveries); err != nil {
		return u, fmt.Errorf("sqlitestore: report %s %s: deliveries: %w", u.Kind, u.PeriodKey, err)
	}
	if err := json.Unmarshal([]byte(body), &u.Body); err != nil {
		return u, fmt.Errorf("sqlitestore: report %s %s: body: %w", u.Kind, u.PeriodKey, err)
	}
	return u, nil
}

// dueReportsSQL reads one page of the retry-deadline index (migration
// 0020) from a (deadline, id) on.
const dueReportsSQL = `SELECT id, kind, periodKey, retryUntil FROM reports
	WHERE retryUntil >= ? AND (retryUntil > ? OR (retryUntil = ? AND id > ?))
	ORDER BY retryUntil, id LIMIT ?`

// DueReportDeliveries lists a page of the reports whose retry deadline is
// at or after since, earliest first (ties by id), from the index of
// migration 0020; the cursor is the last row's "deadline/id".
func (s *Store) DueReportDeliveries(ctx context.Context, since int64, cursor string, limit int) (store.ReportKeyPage, error) {
	if limit < 1 || limit > 1000 {
		return store.ReportKeyPage{}, fmt.Errorf("%w: limit %d (1 to 1000)", store.ErrInvalid, limit)
	}
	afterAt, afterID := since-1, ""
	if cursor != "" {
		at, id, ok := strings.Cut(cursor, "/")
		n, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil {
			return store.ReportKeyPage{}, fmt.Errorf("%w: report cursor %q", store.ErrInvalid, cursor)
		}
		afterAt, afterID = n, id
	}
	rows, err := s.db.R.QueryContext(ctx, dueReportsSQL, since, afterAt, afterAt, afterID, limit)
	if err != nil {
		return store.ReportKeyPage{}, fmt.Errorf("sqlitestore: due report deliveries: %w", err)
	}
	defer rows.Close()
	page := store.ReportKeyPage{Reports: []store.ReportKey{}}
	var lastID string
	for rows.Next() {
		var k store.ReportKey
		if err := rows.Scan(&lastID, &k.Kind, &k.PeriodKey, &k.RetryUntil); err != nil {
			return store.ReportKeyPage{}, err
		}
		page.Reports = append(page.Reports, k)
	}
	if err := rows.Err(); err != nil {
		return store.ReportKeyPage{}, err
	}
	if n := len(page.Reports); n == limit {
		page.Next = strconv.FormatInt(page.Reports[n-1].RetryUntil, 10) + "/" + lastID
	}
	return page, nil
}

// UndeliveredReports lists the reports among the newest limit (by
// createdAt) that have a failed delivery, newest first.
func (s *Store) UndeliveredReports(ctx context.Context, limit int) ([]store.UndeliveredReport, error) {
	rs, err := s.db.R.QueryContext(ctx, `SELECT kind, periodKey, createdAt, body, deliveries, COALESCE(retryUntil, 0) FROM reports
		ORDER BY createdAt DESC, rowid DESC LIMIT ?`, min(max(limit, 1), 100))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: undelivered reports: %w", err)
	}
	defer rs.Close()
	out := []store.UndeliveredReport{}
	for rs.Next() {
		u, err := scanReportDeliveries(rs)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(u.Deliveries, func(d store.ReportDelivery) bool { return d.Status == store.DeliveryFailed }) {
			out = append(out, u)
		}
	}
	return out, rs.Err()
}
