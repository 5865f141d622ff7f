package convexstore

import (
	"context"
	"fmt"

	"llmmeter/internal/store"
)

// RecordReportDelivery calls /jobs/reports/delivered (a 404 when the
// report is not stored); retryUntil 0 is sent as absent (nothing to retry).
func (s *Store) RecordReportDelivery(ctx context.Context, kind, periodKey string, d []store.ReportDelivery, retryUntil int64) error {
	if d == nil {
		d = []store.ReportDelivery{}
	}
	if retryUntil < 0 {
		return fmt.Errorf("%w: retryUntil %d", store.ErrInvalid, retryUntil)
	}
	body := map[string]any{"kind": kind, "periodKey": periodKey, "deliveries": d}
	if retryUntil > 0 {
		body["retryUntil"] = retryUntil
	}
	return s.call(ctx, "/jobs/reports/delivered", body, nil)
}

// ReportDeliveries calls /jobs/reports/get.
func (s *Store) ReportDeliveries(ctx context.Context, kind, periodKey string) (store.UndeliveredReport, error) {
	var out struct {
		Report *store.UndeliveredReport `json:"report"`
	}
	if err := s.call(ctx, "/jobs/reports/get", map[string]any{"kind": kind, "periodKey": periodKey}, &out); err != nil {
		return store.UndeliveredReport{}, err
	}
	if out.Report == nil {
		return store.UndeliveredReport{}, fmt.Errorf("convexstore: report %s %s: %w", kind, periodKey, store.ErrNotFound)
	}
	return *out.Report, nil
}

// DueReportDeliveries calls /jobs/reports/due.
func (s *Store) DueReportDeliveries(ctx context.Context, since int64, cursor string, limit int) (store.ReportKeyPage, error) {
	if limit < 1 || limit > 1000 {
		return store.ReportKeyPage{}, fmt.Errorf("%w: limit %d (1 to 1000)", store.ErrInvalid, limit)
	}
	body := map[string]any{"since": max(since, 0), "limit": limit}
	if cursor != "" {
		body["cursor"] = cursor
	}
	var out struct {
		Reports []store.ReportKey `json:"reports"`
		Cursor  *string           `json:"cursor"`
	}
	if err := s.call(ctx, "/jobs/reports/due", body, &out); err != nil {
		return store.ReportKeyPage{}, err
	}
	page := store.ReportKeyPage{Reports: out.Reports}
	if page.Reports == nil {
		page.Reports = []store.ReportKey{}
	}
	if out.Cursor != nil {
		page.Next = *out.Cursor
	}
	return page, nil
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
