package jobs_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
	"llmmeter/jobs"
)

// TestAlertsReadEveryQuota (issue 14): the alerts job read the first 1,000
// quotas only, so the quotas beyond them never alerted and their open
// alerts were resolved as if their condition had cleared. With 3,000
// quotas (1,000 users × 3) and the monthly token quotas of the last ten
// users over their limit — after the first 1,000 in the listing's order on
// both engines (daily quotas reset first) — every one of the ten alerts,
// and a second run resolves none of them.
func TestAlertsReadEveryQuota(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		const n = 1000
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("pages-%04d", i)
		}
		ids := make([]string, n)
		quotas := make([]string, n) // the monthly token quota of each user
		day := time.Now().Add(24 * time.Hour).UnixMilli()
		month := time.Now().Add(40 * 24 * time.Hour).UnixMilli()
		// Users by 8 workers (the Convex backend answers one call at a time,
		// but the round trips overlap); quotas in order, daily ones first.
		var wg sync.WaitGroup
		errs := make([]error, n)
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < n; i += 8 {
					u, _, err := e.st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: names[i], Name: names[i]})
					ids[i], errs[i] = u.ID, err
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			e.setQuota(t, ids[i], jobs.QuotaDailyRequests, 1000, day)
		}
		for i := range n {
			quotas[i] = e.setQuota(t, ids[i], jobs.QuotaMonthlyTokens, 10, month)
			e.setQuota(t, ids[i], jobs.QuotaMonthlyCostUSD, 1000, month)
		}
		all, err := jobsAllQuotas(e.st)
		if err != nil || len(all) != 3*n {
			t.Fatalf("listed %d quotas (%v), want %d", len(all), err, 3*n)
		}

		at := time.Date(time.Now().Year()+2, 6, 10, 9, 0, 0, 0, e.loc)
		g := &gen{}
		var b store.Batch
		for i := n - 10; i < n; i++ {
			u, l := g.request(at, ids[i], "openai/gpt-4o", true, 300) // 15+ tokens > the limit of 10
			b.Usage, b.RequestLogs = append(b.Usage, u), append(b.RequestLogs, l)
		}
		e.ingest(t, b)

		cfg := jobs.DefaultConfig()
		cfg.QuotaThresholds = []int{80, 100}
		clk := &clock{}
		job := &jobs.Alerts{Store: e.st, Cal: e.cal, Cfg: cfg, Key: &fakeKey{remaining: 50 * money.NanosPerUSD}, Outbox: &fakeOutbox{}, Notifier: &recorder{}}
		s := newScheduler(t, e.st, e.loc, clk, "a")
		s.Add(job, "* * * * *")
		var first map[string]jobs.Alert
		for run, when := range []time.Time{at.Add(time.Minute), at.Add(2 * time.Minute)} {
			clk.Set(when)
			if _, err := s.RunDue(ctx, jobs.JobAlerts); err != nil {
				t.Fatal(err)
			}
			open := openKeys(t, e.st)
			for i := n - 10; i < n; i++ {
				a := open["quota:"+quotas[i]]
				if a.ID == "" || a.Severity != jobs.SeverityCritical {
					t.Fatalf("run %d: the quota of user %d has no critical alert: %+v", run+1, i, a)
				}
				if run == 1 && a.ID != first["quota:"+quotas[i]].ID {
					t.Fatalf("run 2: the alert of user %d was resolved and opened again", i)
				}
			}
			if got := len(open); got != 10 {
				t.Fatalf("run %d: %d open alerts, want the 10 quota alerts", run+1, got)
			}
			first = open
		}
	})
}

// jobsAllQuotas lists every active quota page by page, as the alerts job does.
func jobsAllQuotas(st jobs.Store) ([]jobs.Quota, error) {
	var out []jobs.Quota
	cursor := ""
	for range 100 {
		page, err := st.DueQuotas(ctx, 4_102_444_800_000, cursor, 1000)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Quotas...)
		if cursor = page.Next; cursor == "" {
			return out, nil
		}
	}
	return nil, fmt.Errorf("more than 100 pages")
}
