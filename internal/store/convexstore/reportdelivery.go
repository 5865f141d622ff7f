package convexstore

import (
	"context"

	"llmmeter/internal/store"
)

// RecordReportDelivery calls /jobs/reports/delivered (a 404 when the
// report is not stored).
func (s *Store) RecordReportDelivery(ctx context.Context, kind, periodKey string, d []store.ReportDelivery) error {
	if d == nil {
		d = []store.ReportDelivery{}
	}
	return s.call(ctx, "/jobs/reports/delivered", map[string]any{"kind": kind, "periodKey": periodKey, "deliveries": d}, nil)
}

// UndeliveredReports calls /jobs/reports/undelivered.
func (s *Store) UndeliveredReports(ctx context.Context, limit int) ([]store.UndeliveredReport, error) {
	var out struct {
		Reports []store.UndeliveredReport `json:"reports"`
	}
	if err := s.call(ctx, "/jobs/reports/undelivered", map[string]any{"limit": min(max(limit, 1), 100)}, &out); err != nil {
		return nil, err
	}
	return out.Reports, nil
}
