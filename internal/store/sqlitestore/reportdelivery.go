package sqlitestore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"llmmeter/internal/store"
)

// RecordReportDelivery replaces the deliveries of the report of kind and
// periodKey; store.ErrNotFound if there is no such report.
func (s *Store) RecordReportDelivery(ctx context.Context, kind, periodKey string, d []store.ReportDelivery) error {
	if d == nil {
		d = []store.ReportDelivery{}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	res, err := s.db.W.ExecContext(ctx, `UPDATE reports SET deliveries = ? WHERE kind = ? AND periodKey = ?`, string(b), kind, periodKey)
	if err != nil {
		return fmt.Errorf("sqlitestore: record report delivery: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlitestore: record report delivery: %w: report %s %s", store.ErrNotFound, kind, periodKey)
	}
	return nil
}

// UndeliveredReports lists the reports among the newest limit (by
// createdAt) that have a failed delivery, newest first.
func (s *Store) UndeliveredReports(ctx context.Context, limit int) ([]store.UndeliveredReport, error) {
	rs, err := s.db.R.QueryContext(ctx, `SELECT kind, periodKey, createdAt, body, deliveries FROM reports
		ORDER BY createdAt DESC, rowid DESC LIMIT ?`, min(max(limit, 1), 100))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: undelivered reports: %w", err)
	}
	defer rs.Close()
	out := []store.UndeliveredReport{}
	for rs.Next() {
		var (
			u                store.UndeliveredReport
			body, deliveries string
		)
		if err := rs.Scan(&u.Kind, &u.PeriodKey, &u.CreatedAt, &body, &deliveries); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(deliveries), &u.Deliveries); err != nil {
			return nil, fmt.Errorf("sqlitestore: report %s %s: deliveries: %w", u.Kind, u.PeriodKey, err)
		}
		if !slices.ContainsFunc(u.Deliveries, func(d store.ReportDelivery) bool { return d.Status == store.DeliveryFailed }) {
			continue
		}
		if err := json.Unmarshal([]byte(body), &u.Body); err != nil {
			return nil, fmt.Errorf("sqlitestore: report %s %s: body: %w", u.Kind, u.PeriodKey, err)
		}
		out = append(out, u)
	}
	return out, rs.Err()
}
