package jobs_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/periods"
	"llmmeter/jobs"
)

// TestReportsGoOnPastADeadWebhook: one of two webhooks stops taking the
// daily report. Each day's report is still built, stored and sent once to
// the webhook that works, and each of those runs is a failure (so the
// job_failure alert sees them). Before, the failed window ran again at
// every tick before any later one: no report after the first failure was
// ever built, and the working webhook got the same stale report each day.
func TestReportsGoOnPastADeadWebhook(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		var good atomic.Int32
		var mu sync.Mutex
		distinct := map[string]bool{} // the bodies the working webhook got
		ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			distinct[string(b)] = true
			mu.Unlock()
			good.Add(1)
		}))
		defer ok.Close()
		var broken atomic.Bool
		flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if broken.Load() {
				w.WriteHeader(http.StatusNotFound)
			}
		}))
		defer flaky.Close()
		clk := &clock{}
		send := &jobs.ReportSender{Store: e.st, Now: clk.Now, Log: zerolog.Nop(),
			Hooks: &jobs.Webhooks{URLs: []string{ok.URL + "/a", flaky.URL + "/b"}, MaxRetries: 0, Client: &http.Client{Timeout: 30 * time.Second}}}
		s := newScheduler(t, e.st, e.loc, clk, "r")
		if err := s.Add(&jobs.Reports{Store: e.st, Cal: e.cal, Period: periods.Daily, Send: send}, "15 0 * * *"); err != nil {
			t.Fatal(err)
		}
		day := time.Date(time.Now().Year()+7, 5, 1, 0, 20, 0, 0, e.loc)
		for i := range 4 {
			broken.Store(i > 0)
			clk.Set(day.AddDate(0, 0, i))
			runs, err := s.RunDue(ctx, jobs.JobReportDaily)
			if len(runs) != 1 || (i == 0) != (err == nil) {
				t.Fatalf("day %d: runs %+v, err %v; want one run, failed from day 1", i, runs, err)
			}
			if i > 0 && runs[0].Outcome != jobs.OutcomeFailure {
				t.Fatalf("day %d: %+v, want a failure", i, runs[0])
			}
			mu.Lock()
			n := len(distinct)
			mu.Unlock()
			if got := good.Load(); got != int32(i+1) || n != i+1 {
				t.Fatalf("day %d: the working webhook got %d reports, %d distinct; want %d (one a day)", i, got, n, i+1)
			}
		}
		for i := range 4 {
			e.report(t, "daily", day.AddDate(0, 0, i-1).Format("2006-01-02"))
		}
	})
}
