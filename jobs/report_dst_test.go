package jobs_test

import (
	"testing"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/store"
	"llmmeter/jobs"
)

// TestDailyReportOnATickThatDoesNotExist: on a schedule whose time some
// day lacks, here "30 2 * * *" in New York, where 02:30 does not exist on
// the day clocks spring forward (robfig/cron then skips the day; it skips
// Australia/Lord_Howe's 00:15 the day after its half-hour shift too),
// every day still gets its report, with its rows. Before, a run reported
// only the day before its tick, so the day before the skipped tick had
// none.
func TestDailyReportOnATickThatDoesNotExist(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		// The spring-forward day of a year no other test uses.
		dst := time.Date(time.Now().Year()+5, 3, 1, 0, 0, 0, 0, e.loc)
		for dst.AddDate(0, 0, 1).Sub(dst) == 24*time.Hour {
			dst = dst.AddDate(0, 0, 1)
		}
		u, _, err := e.st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "dst-report", Name: "dst"})
		if err != nil {
			t.Fatal(err)
		}
		g := &gen{n: 40_000}
		var b store.Batch
		first := dst.AddDate(0, 0, -3)
		for d := first; d.Before(dst.AddDate(0, 0, 3)); d = d.AddDate(0, 0, 1) {
			r, l := g.request(d.Add(12*time.Hour), u.ID, "m/a", true, 100)
			b.Usage, b.RequestLogs = append(b.Usage, r), append(b.RequestLogs, l)
		}
		e.ingest(t, b)

		clk := &clock{}
		s := newScheduler(t, e.st, e.loc, clk, "r")
		if err := s.Add(&jobs.Reports{Store: e.st, Cal: e.cal, Period: periods.Daily}, "30 2 * * *"); err != nil {
			t.Fatal(err)
		}
		for d := first.AddDate(0, 0, 1); d.Before(dst.AddDate(0, 0, 4)); d = d.AddDate(0, 0, 1) {
			clk.Set(d.Add(4 * time.Hour))
			if _, err := s.RunDue(ctx, jobs.JobReportDaily); err != nil {
				t.Fatal(err)
			}
		}
		for d := first; d.Before(dst.AddDate(0, 0, 3)); d = d.AddDate(0, 0, 1) {
			body := e.report(t, "daily", d.Format("2006-01-02"))
			if n := body["totals"].(map[string]any)["requests"]; n != int64(1) && n != float64(1) {
				t.Errorf("report of %s: %v requests, want 1", d.Format("2006-01-02"), n)
			}
		}
	})
}
