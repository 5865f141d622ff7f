package jobs_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/outbox"
	"llmmeter/internal/periods"
	"llmmeter/internal/store"
	"llmmeter/jobs"
	"llmmeter/openrouter"
)

func quotaByID(t *testing.T, st jobs.Store, id string) jobs.Quota {
	t.Helper()
	page, err := st.DueQuotas(ctx, 4_102_444_800_000, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range page.Quotas {
		if q.ID == id {
			return q
		}
	}
	t.Fatalf("quota %s not found", id)
	return jobs.Quota{}
}

// TestQuotaReset: each quota is reset exactly once at its boundary in the
// reporting time zone (SQLite: the 23-hour DST day and the year end in New
// York; Convex: the boundaries its setQuota chose), whether the job runs
// late, twice, or on a second replica; a reset re-arms the quota's alerts.
func TestQuotaReset(t *testing.T) {
	loc := nyc(t)
	y := time.Now().Year() + 2
	spring := time.Date(y, 3, 8, 0, 0, 0, 0, loc)
	for spring.Weekday() != time.Sunday {
		spring = spring.AddDate(0, 0, 1)
	}
	cases := []struct {
		quotaType string
		limit     float64
		boundary  int64 // SQLite only
	}{
		{jobs.QuotaDailyRequests, 10, spring.AddDate(0, 0, 1).UnixMilli()},               // after the 23-hour day
		{jobs.QuotaMonthlyTokens, 1000, time.Date(y, 1, 1, 0, 0, 0, 0, loc).UnixMilli()}, // year end
	}
	for _, c := range cases {
		t.Run(c.quotaType, func(t *testing.T) {
			eachEngine(t, func(t *testing.T, e *engine) {
				ids := users(t, e, "alice")
				id := e.setQuota(t, ids[0], c.quotaType, c.limit, c.boundary)
				b := quotaByID(t, e.st, id).ResetDate
				p := jobs.QuotaPeriod(c.quotaType)
				if want := e.cal.Of(p, b).Start; b != want {
					t.Fatalf("resetDate %d is not a %s boundary", b, p)
				}
				clk := &clock{}
				job := named{&jobs.QuotaReset{Store: e.st, Cal: e.cal}, "quota-" + c.quotaType}
				s := newScheduler(t, e.st, e.loc, clk, "a")
				s.Add(job, "*/5 * * * *")
				clk.Set(time.UnixMilli(b).Add(-time.Minute))
				if runs, err := s.RunDue(ctx, job.name); err != nil || runs[0].Counts["reset"] != 0 {
					t.Fatalf("before the boundary: %+v %v", runs, err)
				}
				alertKey := "quota:" + id
				if _, _, err := e.st.OpenAlert(ctx, jobs.Alert{ConditionKey: alertKey, AlertType: "quota_threshold", Severity: jobs.SeverityInfo, Message: "80%", UserID: ids[0]}); err != nil {
					t.Fatal(err)
				}
				// Late: the job runs 7 minutes after the boundary, catching up two windows.
				clk.Set(time.UnixMilli(b).Add(7 * time.Minute))
				runs, err := s.RunDue(ctx, job.name)
				if err != nil {
					t.Fatal(err)
				}
				var resets int64
				for _, r := range runs {
					resets += r.Counts["reset"]
				}
				if resets != 1 {
					t.Fatalf("resets %d over %d windows, want 1", resets, len(runs))
				}
				q := quotaByID(t, e.st, id)
				if want := e.cal.Next(p, b); q.ResetDate != want || q.Used != 0 {
					t.Fatalf("after reset: resetDate %s used %v, want %s and 0", time.UnixMilli(q.ResetDate).In(e.loc), q.Used, time.UnixMilli(want).In(e.loc))
				}
				// Twice, and from another replica: nothing more.
				s2 := newScheduler(t, e.second(t), e.loc, clk, "b")
				s2.Add(job, "*/5 * * * *")
				if r, err := s2.RunOnce(ctx, job.name); err != nil || r.Counts["reset"] != 0 {
					t.Fatalf("second replica: %+v %v", r, err)
				}
				if ok, err := e.st.ResetQuota(ctx, id, b, e.cal.Next(p, b), clk.Now()); ok || err != nil {
					t.Fatalf("stale compare-and-set: %v %v", ok, err)
				}
				open, _ := e.st.OpenAlerts(ctx, 100)
				for _, a := range open {
					if a.ConditionKey == alertKey {
						t.Fatalf("alert %s still open after the reset", alertKey)
					}
				}
			})
		})
	}
}

// fakes for the alert inputs
type fakeKey struct {
	mu        sync.Mutex
	remaining money.Nanos
	err       error
}

func (f *fakeKey) Key(context.Context) (*openrouter.KeyInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	r := f.remaining
	return &openrouter.KeyInfo{LimitRemaining: &r}, nil
}

type fakeOutbox struct {
	mu sync.Mutex
	s  outbox.Stats
}

func (f *fakeOutbox) Stats(context.Context) (outbox.Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s, nil
}

type recorder struct {
	mu   sync.Mutex
	sent map[string][]string // conditionKey → alert ids notified
}

func (r *recorder) Notify(_ context.Context, a jobs.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sent == nil {
		r.sent = map[string][]string{}
	}
	r.sent[a.ConditionKey] = append(r.sent[a.ConditionKey], a.ID)
	return nil
}

func (r *recorder) count(key string) int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.sent[key]) }

func openKeys(t *testing.T, st jobs.Store) map[string]jobs.Alert {
	t.Helper()
	open, err := st.OpenAlerts(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]jobs.Alert{}
	for _, a := range open {
		m[a.ConditionKey] = a
	}
	return m
}

// TestAlerts: a quota's alert opens at the first threshold and escalates
// in place (one row, its history growing) as further thresholds are
// crossed, each escalation notified at once; it is notified again only
// after the repeat interval, resolves when the day's usage starts over and
// opens a new row at the next crossing; error rate, p95 latency, key
// balance, delivery backlog and job failures open and resolve.
func TestAlerts(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		ids := users(t, e, "alice")
		qid := e.setQuota(t, ids[0], jobs.QuotaDailyRequests, 10, time.Now().Add(24*time.Hour).UnixMilli())
		cfg := jobs.DefaultConfig()
		cfg.QuotaThresholds = []int{80, 90, 100}
		cfg.ErrorRateMinRequests = 10
		cfg.JobFailureRuns = 1
		key, box, rec := &fakeKey{remaining: 50 * money.NanosPerUSD}, &fakeOutbox{}, &recorder{}
		clk := &clock{}
		job := &jobs.Alerts{Store: e.st, Cal: e.cal, Cfg: cfg, Key: key, Outbox: box, Notifier: rec, JobNames: []string{"rollup"}}
		s := newScheduler(t, e.st, e.loc, clk, "a")
		s.Add(job, "* * * * *")
		run := func(at time.Time) {
			t.Helper()
			clk.Set(at)
			if _, err := s.RunDue(ctx, jobs.JobAlerts); err != nil {
				t.Fatal(err)
			}
		}
		g := &gen{}
		requests := func(at time.Time, n int, ok bool, ms int64) {
			var b store.Batch
			for i := range n {
				u, l := g.request(at.Add(time.Duration(i)*time.Second), ids[0], "openai/gpt-4o", ok, ms)
				b.Usage, b.RequestLogs = append(b.Usage, u), append(b.RequestLogs, l)
			}
			e.ingest(t, b)
		}
		y := time.Now().Year() + 2
		day := time.Date(y, 6, 10, 0, 0, 0, 0, e.loc)
		k := "quota:" + qid

		requests(day.Add(10*time.Hour), 8, true, 300)
		at80 := day.Add(10*time.Hour + time.Minute)
		run(at80)
		first := openKeys(t, e.st)[k]
		if first.ID == "" || first.Severity != jobs.SeverityInfo || rec.count(k) != 1 || len(openKeys(t, e.st)) != 1 {
			t.Fatalf("80%% crossing: open %v, notified %v", openKeys(t, e.st), rec.sent)
		}
		if want := "80% of the daily request quota used (8 requests of 10 requests)"; first.Message != want {
			t.Errorf("message %q, want %q", first.Message, want)
		}
		run(day.Add(10*time.Hour + 2*time.Minute))
		if rec.count(k) != 1 || len(openKeys(t, e.st)) != 1 {
			t.Fatalf("re-evaluation within the cooldown: %v %v", openKeys(t, e.st), rec.sent)
		}
		// 90 % and 100 %: the same row escalates, each step notified at once.
		requests(day.Add(10*time.Hour+3*time.Minute), 1, true, 300)
		at90 := day.Add(10*time.Hour + 4*time.Minute)
		run(at90)
		requests(day.Add(10*time.Hour+5*time.Minute), 1, true, 300)
		at100 := day.Add(10*time.Hour + 6*time.Minute)
		run(at100)
		run(day.Add(10*time.Hour + 7*time.Minute))
		got := openKeys(t, e.st)[k]
		wantHistory := []jobs.Escalation{{Severity: jobs.SeverityInfo, At: at80.UnixMilli()},
			{Severity: jobs.SeverityWarning, At: at90.UnixMilli()}, {Severity: jobs.SeverityCritical, At: at100.UnixMilli()}}
		if got.ID != first.ID || got.Severity != jobs.SeverityCritical || !slices.Equal(got.History, wantHistory) || rec.count(k) != 3 {
			t.Fatalf("escalation: %+v (first %s), notified %v", got, first.ID, rec.sent)
		}
		if len(slices.Compact(slices.Clone(rec.sent[k]))) != 1 {
			t.Fatalf("escalations notified as other alerts: %v", rec.sent[k])
		}
		run(day.Add(15 * time.Hour)) // past the 4h repeat interval
		if rec.count(k) != 4 {
			t.Fatalf("repeat after the cooldown: %v", rec.sent)
		}
		// A new day: the count starts over, the alert resolves.
		run(day.AddDate(0, 0, 1).Add(10 * time.Minute))
		if open := openKeys(t, e.st); open[k].ID != "" {
			t.Fatalf("not resolved on the new day: %v", open)
		}
		// Re-armed: the next crossing is a new alert.
		requests(day.AddDate(0, 0, 1).Add(time.Hour), 8, true, 300)
		run(day.AddDate(0, 0, 1).Add(time.Hour + time.Minute))
		second := openKeys(t, e.st)[k]
		if second.ID == "" || second.ID == first.ID || rec.count(k) != 5 || len(second.History) != 1 {
			t.Fatalf("re-armed crossing: first %q second %+v notified %v", first.ID, second, rec.sent)
		}

		// System conditions.
		at := day.AddDate(0, 0, 2).Add(9 * time.Hour)
		requests(at, 10, false, 40_000)
		requests(at.Add(time.Minute), 10, true, 40_000)
		key.mu.Lock()
		key.remaining = money.NanosPerUSD
		key.mu.Unlock()
		box.mu.Lock()
		box.s = outbox.Stats{Ready: 5000, OldestMs: 60_000}
		box.mu.Unlock()
		if err := e.st.RecordRun(ctx, jobs.Run{Job: "rollup", StartedAt: at.UnixMilli(), EndedAt: at.UnixMilli(), Outcome: jobs.OutcomeFailure, Counts: jobs.Counts{}, Error: "boom"}); err != nil {
			t.Fatal(err)
		}
		run(at.Add(5 * time.Minute))
		open := openKeys(t, e.st)
		for _, k := range []string{"errors:system", "latency:p95", "balance:openrouter", "backlog:outbox", "job:rollup"} {
			if open[k].ID == "" || rec.count(k) != 1 {
				t.Errorf("%s: open %v notified %d", k, open[k], rec.count(k))
			}
		}
		key.mu.Lock()
		key.remaining = 100 * money.NanosPerUSD
		key.mu.Unlock()
		box.mu.Lock()
		box.s = outbox.Stats{}
		box.mu.Unlock()
		e.st.RecordRun(ctx, jobs.Run{Job: "rollup", StartedAt: at.Add(time.Hour).UnixMilli(), EndedAt: at.Add(time.Hour).UnixMilli(), Outcome: jobs.OutcomeSuccess, Counts: jobs.Counts{}})
		run(at.Add(time.Hour)) // the bad requests left the 15-minute window
		open = openKeys(t, e.st)
		for _, k := range []string{"errors:system", "latency:p95", "balance:openrouter", "backlog:outbox", "job:rollup"} {
			if open[k].ID != "" {
				t.Errorf("%s still open", k)
			}
		}
		// A balance that cannot be read is neither opened nor resolved: the
		// outage is reported by its own alert, and the run succeeds.
		key.mu.Lock()
		key.remaining, key.err = 0, fmt.Errorf("openrouter down")
		key.mu.Unlock()
		clk.Set(at.Add(2 * time.Hour))
		if _, err := s.RunDue(ctx, jobs.JobAlerts); err != nil {
			t.Fatalf("unreadable balance: %v", err)
		}
		if open := openKeys(t, e.st); open["balance:openrouter"].ID != "" || open["openrouter:reachable"].ID == "" {
			t.Fatalf("balance alert opened without a balance, or the outage not reported: %v", open)
		}
		_ = periods.Daily
	})
}
