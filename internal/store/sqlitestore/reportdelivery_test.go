package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"llmmeter/internal/store"
)

// TestDueReportDeliveries: the reports whose recorded retry deadline is at
// or after since come back earliest first, every page, by a range of the
// deadline index (migration 0020), whatever the number of newer reports;
// a deadline recorded as 0 takes the report out of the range, and
// ReportDeliveries reads one report with its deliveries and deadline.
func TestDueReportDeliveries(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	failed := []store.ReportDelivery{{Target: "https://h/<secret>#1", Status: store.DeliveryFailed, Attempts: 1, At: 10, FirstAt: 10, Error: "HTTP 404"}}
	for i, until := range []int64{0, 300, 100, 200, 200, 50} {
		key := fmt.Sprintf("2030-01-%02d", i+1)
		if _, err := s.StoreReport(ctx, store.Report{Kind: "daily", PeriodKey: key, Body: map[string]any{"n": i}, CreatedAt: int64(1000 - i)}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordReportDelivery(ctx, "daily", key, failed, until); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := s.DueReportDeliveries(ctx, 100, cursor, 2)
		if err != nil || pages > 5 {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, k := range page.Reports {
			got = append(got, fmt.Sprintf("%s@%d", k.PeriodKey, k.RetryUntil))
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	// 50 is before since; 0 is none. Ties (200) in id order.
	want := []string{"2030-01-03@100", "2030-01-04@200", "2030-01-05@200", "2030-01-02@300"}
	if !reflect.DeepEqual(got, want) && !reflect.DeepEqual(got, []string{want[0], want[2], want[1], want[3]}) {
		t.Fatalf("due: %v, want %v", got, want)
	}
	// Nothing left to retry: out of the range.
	if err := s.RecordReportDelivery(ctx, "daily", "2030-01-02", failed, 0); err != nil {
		t.Fatal(err)
	}
	if page, err := s.DueReportDeliveries(ctx, 250, "", 10); err != nil || len(page.Reports) != 0 || page.Next != "" {
		t.Fatalf("after clearing: %+v %v", page, err)
	}
	rep, err := s.ReportDeliveries(ctx, "daily", "2030-01-04")
	if err != nil || rep.RetryUntil != 200 || !reflect.DeepEqual(rep.Deliveries, failed) || rep.Body["n"] != float64(3) {
		t.Fatalf("report: %+v %v", rep, err)
	}
	if _, err := s.ReportDeliveries(ctx, "daily", "2031-01-01"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing report: %v", err)
	}
	if _, err := s.DueReportDeliveries(ctx, 0, "x", 10); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad cursor: %v", err)
	}
	if plan := queryPlan(t, s, dueReportsSQL, 100, 150, 150, "rep_x", 10); plan != "SEARCH reports USING INDEX reports_by_retry_until (retryUntil>?)" {
		t.Fatalf("due reports' plan: %s", plan)
	}
}
