package jobs_test

import (
	"encoding/json"
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

// TestReportRetryFindsEveryDueReport: a catch-up stores 45 daily reports at
// once, all refused by a webhook. report_retry sends every one of them
// again. Before, it read the newest 40 reports only, so the 5 oldest,
// inside their 24-hour window all the same, were never retried.
func TestReportRetryFindsEveryDueReport(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		var refused atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			refused.Add(1)
			w.WriteHeader(http.StatusNotFound)
		}))
		defer srv.Close()
		clk := &clock{}
		send := &jobs.ReportSender{Store: e.st, Now: clk.Now, Log: zerolog.Nop(),
			Hooks: &jobs.Webhooks{URLs: []string{srv.URL + "/down"}, MaxRetries: 0, Client: &http.Client{Timeout: 30 * time.Second}}}
		day := time.Date(time.Now().Year()+7, 5, 20, 0, 15, 0, 0, e.loc)
		clk.Set(day)
		// The window of a catch-up after 45 days down.
		counts, err := (&jobs.Reports{Store: e.st, Cal: e.cal, Period: periods.Daily, Send: send}).
			Run(ctx, jobs.Window{From: day.AddDate(0, 0, -45), To: day})
		n := refused.Load()
		if err == nil || counts["reports"] != 45 || n != 45 {
			t.Fatalf("catch-up: counts %v, failed %v, %d refused; want 45 reports, each refused once", counts, err != nil, n)
		}
		clk.Set(day.Add(5 * time.Minute))
		counts, err = (&jobs.ReportRetry{Send: send}).Run(ctx, jobs.Window{})
		if got := refused.Load() - n; err == nil || got != 45 || counts["retried"] != 45 {
			t.Fatalf("retry: %d sent, counts %v, failed %v; want all 45 reports retried", got, counts, err != nil)
		}
	})
}

// blockingHook is a webhook server: /ok takes every report, /down refuses
// while refusing is set; once armed, the next request to /down is held
// until release is closed (it is then taken), and arrived is closed when
// it comes. It counts what each path took.
type blockingHook struct {
	srv      *httptest.Server
	refusing atomic.Bool
	armed    atomic.Bool
	arrived  chan struct{}
	release  chan struct{}
	mu       sync.Mutex
	taken    map[string]int
}

func newBlockingHook(t *testing.T) *blockingHook {
	h := &blockingHook{taken: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			if h.armed.CompareAndSwap(true, false) {
				close(h.arrived)
				select {
				case <-h.release:
				case <-time.After(2 * time.Minute): // a test that failed first
				}
			} else if h.refusing.Load() {
				w.WriteHeader(http.StatusNotFound)
				return
			}
		}
		h.mu.Lock()
		h.taken[r.URL.Path]++
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// arm holds the next request to /down.
func (h *blockingHook) arm() {
	h.arrived, h.release = make(chan struct{}), make(chan struct{})
	h.armed.Store(true)
}

func (h *blockingHook) count(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.taken[path]
}

// TestReportRerunAndRetryExclusive: an operator's rerun of the report job
// and report_retry hold different job leases, so both can run at once.
// Each holds the report's delivery lease while it sends, so the other
// leaves the report alone: a webhook gets the report once, and the
// deliveries recorded are the sender's. Before, both sent the report to the
// webhook that had refused it (it took it twice), in either order.
func TestReportRerunAndRetryExclusive(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		h := newBlockingHook(t)
		t.Cleanup(func() { // a test that failed with a request held
			if h.release != nil {
				select {
				case <-h.release:
				default:
					close(h.release)
				}
			}
		})
		clk := &clock{}
		send := &jobs.ReportSender{Store: e.st, Now: clk.Now, Log: zerolog.Nop(),
			Hooks: &jobs.Webhooks{URLs: []string{h.srv.URL + "/ok", h.srv.URL + "/down"}, MaxRetries: 0, Client: &http.Client{Timeout: 5 * time.Minute}}}
		s := newScheduler(t, e.st, e.loc, clk, "r")
		for job, spec := range map[jobs.Job]string{&jobs.Reports{Store: e.st, Cal: e.cal, Period: periods.Daily, Send: send}: "15 0 * * *", &jobs.ReportRetry{Send: send}: "*/5 * * * *"} {
			if err := s.Add(job, spec); err != nil {
				t.Fatal(err)
			}
		}
		downT := hookTarget(h.srv.URL + "/down")
		delivery := func(key string) jobs.ReportDelivery {
			t.Helper()
			var list []storedReport
			if err := json.Unmarshal(e.admin(t, "query", "llmmeter:reports", map[string]any{"limit": 10}), &list); err != nil {
				t.Fatal(err)
			}
			for _, r := range list {
				for _, d := range r.Deliveries {
					if r.PeriodKey == key && d.Target == downT {
						return d
					}
				}
			}
			t.Fatalf("no delivery of %s to %s in %+v", key, downT, list)
			return jobs.ReportDelivery{}
		}
		waitArrived := func() {
			t.Helper()
			select {
			case <-h.arrived:
			case <-time.After(2 * time.Minute):
				t.Fatal("the held request to /down never came")
			}
		}
		type result struct {
			runs []jobs.Run
			err  error
		}

		// 1. report_retry is sending the refused report when the operator
		// reruns the report job: the rerun stores the report and sends it
		// nowhere.
		day := time.Date(time.Now().Year()+6, 9, 8, 0, 15, 0, 0, e.loc)
		key := day.AddDate(0, 0, -1).Format("2006-01-02")
		h.refusing.Store(true)
		clk.Set(day)
		if _, err := s.RunDue(ctx, jobs.JobReportDaily); err == nil {
			t.Fatal("the report run did not fail with /down refusing")
		}
		h.refusing.Store(false)
		h.arm()
		clk.Set(day.Add(5 * time.Minute))
		retried := make(chan result, 1)
		go func() { runs, err := s.RunDue(ctx, jobs.JobReportRetry); retried <- result{runs, err} }()
		waitArrived()
		clk.Set(day.Add(6 * time.Minute)) // inside the retry's lease
		run, err := s.RunOnce(ctx, jobs.JobReportDaily)
		if err == nil || run.Counts["busy"] != 1 || h.count("/down") != 0 || h.count("/ok") != 1 {
			t.Fatalf("rerun beside the retry: run %+v, err %v; /down took %d, /ok %d: want it busy, sending nothing", run, err, h.count("/down"), h.count("/ok"))
		}
		close(h.release)
		if r := <-retried; r.err != nil || len(r.runs) != 1 || r.runs[0].Counts["retried"] != 1 {
			t.Fatalf("retry: %+v %v", r.runs, r.err)
		}
		if d := delivery(key); h.count("/down") != 1 || d.Status != "delivered" || d.Attempts != 2 {
			t.Fatalf("/down took the report %d times (want once); delivery %+v", h.count("/down"), d)
		}

		// 2. The other way round: the operator's rerun is sending the
		// refused report when report_retry runs: the retry leaves it.
		day2 := day.AddDate(0, 0, 1)
		key2 := day.Format("2006-01-02")
		h.refusing.Store(true)
		clk.Set(day2)
		if _, err := s.RunDue(ctx, jobs.JobReportDaily); err == nil {
			t.Fatal("the report run did not fail with /down refusing")
		}
		h.refusing.Store(false)
		h.arm()
		clk.Set(day2.Add(4 * time.Minute))
		rerun := make(chan error, 1)
		go func() { _, err := s.RunOnce(ctx, jobs.JobReportDaily); rerun <- err }()
		waitArrived()
		clk.Set(day2.Add(5 * time.Minute)) // the retry is due, inside the rerun's lease
		runs, err := s.RunDue(ctx, jobs.JobReportRetry)
		if err != nil || len(runs) != 1 || runs[0].Counts["busy"] != 1 || h.count("/down") != 1 {
			t.Fatalf("retry beside the rerun: runs %+v, err %v; /down took %d: want it busy, sending nothing", runs, err, h.count("/down"))
		}
		close(h.release)
		if err := <-rerun; err != nil {
			t.Fatalf("rerun: %v", err)
		}
		if d := delivery(key2); h.count("/down") != 2 || d.Status != "delivered" || d.At != day2.Add(5*time.Minute).UnixMilli() {
			t.Fatalf("/down took %d reports in all (want 2); delivery %+v, want the rerun's", h.count("/down"), d)
		}
	})
}

// TestReportRetryReadsReportsWithoutDeadline: a report whose failed
// delivery was recorded before retry deadlines existed (none stored) is
// found by the first run of a process the way every run found reports
// before (the newest ones), retried, and recorded with no deadline left.
func TestReportRetryReadsReportsWithoutDeadline(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		var taken atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { taken.Add(1) }))
		defer srv.Close()
		clk := &clock{}
		send := &jobs.ReportSender{Store: e.st, Now: clk.Now, Log: zerolog.Nop(),
			Hooks: &jobs.Webhooks{URLs: []string{srv.URL + "/down"}, MaxRetries: 0, Client: &http.Client{Timeout: 30 * time.Second}}}
		day := time.Date(time.Now().Year()+5, 2, 3, 0, 15, 0, 0, e.loc)
		if _, err := e.st.StoreReport(ctx, jobs.Report{Kind: "daily", PeriodKey: "2020-01-01", Body: map[string]any{}, CreatedAt: day.UnixMilli()}); err != nil {
			t.Fatal(err)
		}
		first := day.UnixMilli()
		old := []jobs.ReportDelivery{{Target: hookTarget(srv.URL + "/down"), Status: "failed", Attempts: 1, At: first, FirstAt: first, Error: "HTTP 404"}}
		if err := e.st.RecordReportDelivery(ctx, "daily", "2020-01-01", old, 0); err != nil {
			t.Fatal(err)
		}
		clk.Set(day.Add(10 * time.Minute))
		counts, err := (&jobs.ReportRetry{Send: send}).Run(ctx, jobs.Window{})
		if err != nil || taken.Load() != 1 || counts["retried"] != 1 {
			t.Fatalf("retry: counts %v, err %v, %d taken", counts, err, taken.Load())
		}
		rep, err := e.st.ReportDeliveries(ctx, "daily", "2020-01-01")
		if err != nil || rep.RetryUntil != 0 || rep.Deliveries[0].Status != "delivered" {
			t.Fatalf("after the retry: %+v %v", rep, err)
		}
	})
}
