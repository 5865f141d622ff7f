package jobs_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/periods"
	"llmmeter/jobs"
)

// hookTarget is how a delivery names webhook u: scheme and host, and the
// first 8 hex digits of the SHA-256 of the URL.
func hookTarget(u string) string {
	sum := sha256.Sum256([]byte(u))
	host := u[:strings.Index(u[len("http://"):], "/")+len("http://")]
	return host + "/<secret>#" + hex.EncodeToString(sum[:4])
}

// TestReportRetry: two webhooks on one host; one refuses (404) the daily
// report. The report_retry job sends that report again to the one that
// refused it, and only to it, after a wait that doubles (5, 5, 10 minutes),
// until it takes it; the other never gets it twice. The next day's report
// is refused for good: it is tried until 24 hours after its first try,
// then given up, which fails that run and names the report; later runs
// try it no more. Before, a refused report was never sent again unless an
// operator re-ran the job, which sent it again to every webhook.
func TestReportRetry(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		var mu sync.Mutex
		got := map[string][]string{} // path → bodies taken
		var refusing atomic.Bool
		refused := map[string]int{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			if r.URL.Path == "/down" && refusing.Load() {
				refused[r.URL.Path]++
				w.WriteHeader(http.StatusNotFound)
				return
			}
			got[r.URL.Path] = append(got[r.URL.Path], string(b))
		}))
		defer srv.Close()
		seen := func() (ok, down, refusedN int) {
			mu.Lock()
			defer mu.Unlock()
			return len(got["/ok"]), len(got["/down"]), refused["/down"]
		}
		clk := &clock{}
		send := &jobs.ReportSender{Store: e.st, Now: clk.Now, Log: zerolog.Nop(),
			Hooks: &jobs.Webhooks{URLs: []string{srv.URL + "/ok", srv.URL + "/down"}, MaxRetries: 0, Client: &http.Client{Timeout: 30 * time.Second}}}
		s := newScheduler(t, e.st, e.loc, clk, "r")
		for job, spec := range map[jobs.Job]string{&jobs.Reports{Store: e.st, Cal: e.cal, Period: periods.Daily, Send: send}: "15 0 * * *", &jobs.ReportRetry{Send: send}: "*/5 * * * *"} {
			if err := s.Add(job, spec); err != nil {
				t.Fatal(err)
			}
		}
		deliveries := func(key string) map[string]jobs.ReportDelivery {
			t.Helper()
			var list []storedReport
			if err := json.Unmarshal(e.admin(t, "query", "llmmeter:reports", map[string]any{"limit": 10}), &list); err != nil {
				t.Fatal(err)
			}
			out := map[string]jobs.ReportDelivery{}
			for _, r := range list {
				if r.PeriodKey == key {
					for _, d := range r.Deliveries {
						out[d.Target] = d
					}
				}
			}
			return out
		}
		okT, downT := hookTarget(srv.URL+"/ok"), hookTarget(srv.URL+"/down")
		retry := func(at time.Time, wantFail bool) jobs.Run {
			t.Helper()
			clk.Set(at)
			runs, err := s.RunDue(ctx, jobs.JobReportRetry)
			if len(runs) != 1 || (err != nil) != wantFail || (runs[0].Outcome == jobs.OutcomeFailure) != wantFail {
				t.Fatalf("retry at %s: runs %+v, err %v; want one run, failed %v", at, runs, err, wantFail)
			}
			return runs[0]
		}

		// Day 0: /down refuses the report of the day before.
		refusing.Store(true)
		day := time.Date(time.Now().Year()+8, 3, 2, 0, 15, 0, 0, e.loc)
		key0 := day.AddDate(0, 0, -1).Format("2006-01-02")
		clk.Set(day)
		if _, err := s.RunDue(ctx, jobs.JobReportDaily); err == nil {
			t.Fatal("the report run did not fail with a webhook refusing")
		}
		if ok, down, ref := seen(); ok != 1 || down != 0 || ref != 1 {
			t.Fatalf("after the report run: ok %d, down %d taken, %d refused", ok, down, ref)
		}
		if d := deliveries(key0); d[okT].Status != "delivered" || d[downT].Status != "failed" || d[downT].FirstAt != day.UnixMilli() {
			t.Fatalf("deliveries %+v; want %s delivered, %s failed first at %d", d, okT, downT, day.UnixMilli())
		}
		// Retried at +5 and +10 minutes (waits of 5, 5), not at +15 (the
		// wait is now 10), then at +20 minutes, when it takes it.
		for _, c := range []struct {
			after   time.Duration
			refused int
		}{{5, 2}, {10, 3}, {15, 3}} {
			r := retry(day.Add(c.after*time.Minute), true)
			if _, _, ref := seen(); ref != c.refused || !strings.Contains(r.Error, "report daily "+key0) {
				t.Fatalf("+%dm: %d refused, want %d; run error %q", c.after, ref, c.refused, r.Error)
			}
		}
		refusing.Store(false)
		retry(day.Add(20*time.Minute), false)
		retry(day.Add(25*time.Minute), false)
		ok, down, _ := seen()
		if ok != 1 || down != 1 {
			t.Fatalf("ok got the report %d times, down %d: want once each", ok, down)
		}
		mu.Lock()
		same := got["/ok"][0] == got["/down"][0]
		mu.Unlock()
		d := deliveries(key0)
		if !same || d[downT] != (jobs.ReportDelivery{Target: downT, Status: "delivered", Attempts: 4, At: day.Add(20 * time.Minute).UnixMilli(), FirstAt: day.UnixMilli()}) ||
			d[okT].Status != "delivered" || d[okT].Attempts != 1 {
			t.Fatalf("same body %v; deliveries %+v", same, d)
		}

		// Day 1: refused for good. Tried during 24 hours, then given up.
		refusing.Store(true)
		day1 := day.AddDate(0, 0, 1)
		key1 := day.Format("2006-01-02")
		clk.Set(day1)
		s.RunDue(ctx, jobs.JobReportDaily)
		retry(day1.Add(5*time.Minute), true)
		_, _, before := seen()
		r := retry(day1.Add(24*time.Hour+time.Minute), true)
		if _, _, ref := seen(); ref != before || !strings.Contains(r.Error, "report daily "+key1+": gave up: ") || r.Counts["gaveUp"] != 1 {
			t.Fatalf("past 24h: %d refused (was %d); run %+v: want no try, and the report given up", ref, before, r)
		}
		if d := deliveries(key1)[downT]; d.Status != "failed" || !strings.HasPrefix(d.Error, "gave up: webhook ") || d.Attempts != 2 {
			t.Fatalf("given-up delivery %+v", d)
		}
		refusing.Store(false)
		retry(day1.Add(24*time.Hour+10*time.Minute), false)
		if ok, down, _ := seen(); ok != 2 || down != 1 {
			t.Fatalf("after giving up: ok got %d reports, down %d: want 2 and 1", ok, down)
		}
	})
}

// TestReportRerunSendsOnlyToWebhooksWithout: an operator's rerun of the
// report job ("jobs run report_daily") sends the report again only to the
// webhook that refused it, and a second rerun to none; the deliveries of
// the webhook that took it stay as recorded. Before, each rerun sent it to
// every webhook again.
func TestReportRerunSendsOnlyToWebhooksWithout(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		var mu sync.Mutex
		taken := map[string]int{}
		var refusing atomic.Bool
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/down" && refusing.Load() {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			mu.Lock()
			taken[r.URL.Path]++
			mu.Unlock()
		}))
		defer srv.Close()
		clk := &clock{}
		send := &jobs.ReportSender{Store: e.st, Now: clk.Now, Log: zerolog.Nop(),
			Hooks: &jobs.Webhooks{URLs: []string{srv.URL + "/ok", srv.URL + "/down"}, MaxRetries: 0, Client: &http.Client{Timeout: 30 * time.Second}}}
		s := newScheduler(t, e.st, e.loc, clk, "r")
		if err := s.Add(&jobs.Reports{Store: e.st, Cal: e.cal, Period: periods.Daily, Send: send}, "15 0 * * *"); err != nil {
			t.Fatal(err)
		}
		day := time.Date(time.Now().Year()+9, 6, 3, 0, 15, 0, 0, e.loc)
		refusing.Store(true)
		clk.Set(day)
		if _, err := s.RunDue(ctx, jobs.JobReportDaily); err == nil {
			t.Fatal("the run did not fail with a webhook refusing")
		}
		refusing.Store(false)
		for i, want := range []int64{1, 2} { // already delivered: ok, then ok and down
			clk.Set(day.Add(time.Duration(i+1) * time.Hour))
			run, err := s.RunOnce(ctx, jobs.JobReportDaily)
			mu.Lock()
			ok, down := taken["/ok"], taken["/down"]
			mu.Unlock()
			if err != nil || ok != 1 || down != 1 || run.Counts["alreadyDelivered"] != want {
				t.Fatalf("rerun %d: run %+v err %v; ok took %d, down %d: want 1 each", i, run, err, ok, down)
			}
		}
		var list []storedReport
		if err := json.Unmarshal(e.admin(t, "query", "llmmeter:reports", map[string]any{"limit": 10}), &list); err != nil || len(list) != 1 {
			t.Fatalf("reports %v %v", list, err)
		}
		for _, d := range list[0].Deliveries {
			if want := day.UnixMilli(); d.Target == hookTarget(srv.URL+"/ok") && (d.At != want || d.Attempts != 1) {
				t.Errorf("ok's delivery %+v: want it as recorded at %d", d, want)
			}
			if d.Status != "delivered" {
				t.Errorf("delivery %+v", d)
			}
		}
	})
}
