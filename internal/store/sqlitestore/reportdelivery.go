package sqlitestore

import (
	"context"
	"encoding/json"
	"fmt"

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
