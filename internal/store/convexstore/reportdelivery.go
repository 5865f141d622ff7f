package convexstore

import (
	"context"

	"llmmeter/jobs"
)

// RecordReportDelivery calls /jobs/reports/delivered (a 404 when the
// report is not stored).
func (s *Store) RecordReportDelivery(ctx context.Context, kind, periodKey string, d []jobs.ReportDelivery) error {
	if d == nil {
		d = []jobs.ReportDelivery{}
	}
	return s.call(ctx, "/jobs/reports/delivered", map[string]any{"kind": kind, "periodKey": periodKey, "deliveries": d}, nil)
}
