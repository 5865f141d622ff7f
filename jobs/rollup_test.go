package jobs_test

import (
	"testing"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
	"llmmeter/jobs"
)

// named gives a job another name (its own lease and run history).
type named struct {
	jobs.Job
	name string
}

func (n named) Name() string { return n.name }

func newScheduler(t *testing.T, st jobs.Store, loc *time.Location, clk *clock, holder string) *jobs.Scheduler {
	t.Helper()
	s, err := jobs.NewScheduler(st, jobs.SchedulerOptions{Holder: holder, LeaseTTL: time.Minute, MaxCatchUp: 48, Location: loc, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRollup drives the hourly roll-up across hour, day, ISO-week, month and
// year boundaries and both DST changes of New York, on both engines, after
// corrupting the aggregates of every period that closes: the roll-up must
// rebuild them to equal the raw rows exactly (and zero a key the raw rows
// do not support).
func TestRollup(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		loc := e.loc
		ids := users(t, e, "alice", "bob")
		g := &gen{}
		type scenario struct {
			name       string
			start, end time.Time
		}
		local := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, loc) }
		// Future dates: Convex prunes job runs older than 90 days by its own
		// clock, so the scenarios must not lie in the past.
		y := time.Now().Year() + 2
		monday := local(y, 1, 4, 0, 0)
		for monday.Weekday() != time.Monday {
			monday = monday.AddDate(0, 0, 1)
		}
		spring := local(y, 3, 8, 0, 10) // second Sunday of March
		for spring.Weekday() != time.Sunday {
			spring = spring.AddDate(0, 0, 1)
		}
		fall := time.Date(y, 11, 1, 4, 10, 0, 0, time.UTC) // first Sunday of November, 00:10 EDT
		for fall.Weekday() != time.Sunday {
			fall = fall.AddDate(0, 0, 1)
		}
		scenarios := []scenario{
			{"year", local(y-1, 12, 31, 22, 10), local(y, 1, 1, 1, 50)},
			{"isoweek", monday.Add(-110 * time.Minute), monday.Add(110 * time.Minute)},
			{"month", local(y, 3, 1, 0, 0).Add(-110 * time.Minute), local(y, 3, 1, 1, 50)},
			{"dst-spring", spring, spring.Add(3*time.Hour + 40*time.Minute)},
			{"dst-fall", fall, fall.Add(3*time.Hour + 40*time.Minute)},
		}
		var all store.Batch
		models := []string{"openai/gpt-4o", "anthropic/claude-3.5-sonnet"}
		for _, sc := range scenarios {
			i := 0
			for ts := sc.start; ts.Before(sc.end); ts = ts.Add(13 * time.Minute) {
				i++
				u, l := g.request(ts, ids[i%2], models[i%3%2], i%5 != 0, int64(80+i*97%3000))
				all.Usage = append(all.Usage, u)
				all.RequestLogs = append(all.RequestLogs, l)
				if i%4 == 0 {
					all.Activity = append(all.Activity, g.activity(ts, ids[i%2], rollup.ActivityConversationStarted))
				}
			}
		}
		e.ingest(t, all)
		clk := &clock{}
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				s := newScheduler(t, e.st, loc, clk, "replica-a")
				job := named{&jobs.Rollup{Store: e.st, Cal: e.cal, Delay: 5 * time.Minute}, "rollup-" + sc.name}
				if err := s.Add(job, "5 * * * *"); err != nil {
					t.Fatal(err)
				}
				seed := sc.start.Add(-2 * time.Hour)
				clk.Set(seed)
				if _, err := s.RunDue(ctx, job.name); err != nil {
					t.Fatal(err)
				}
				end := sc.end.Add(2 * time.Hour)
				corrupt(t, e, seed.UnixMilli(), end.UnixMilli()-(5*time.Minute).Milliseconds())
				clk.Set(end)
				runs, err := s.RunDue(ctx, job.name)
				if err != nil {
					t.Fatal(err)
				}
				if len(runs) < 4 {
					t.Fatalf("caught up %d windows, want one per hour: %+v", len(runs), runs)
				}
				for i := 1; i < len(runs); i++ {
					if runs[i].WindowFrom != runs[i-1].WindowTo {
						t.Fatalf("windows not contiguous: %+v then %+v", runs[i-1], runs[i])
					}
				}
				checkAggregates(t, e, expectedAggs(e.cal, all), sc.start.Add(-time.Hour).UnixMilli(), end.UnixMilli())
				// A second pass changes nothing (idempotent replace).
				if _, err := s.RunOnce(ctx, job.name); err != nil {
					t.Fatal(err)
				}
				checkAggregates(t, e, expectedAggs(e.cal, all), sc.start.Add(-time.Hour).UnixMilli(), end.UnixMilli())
			})
		}
	})
}

// corrupt damages the stored aggregates of every period that closes in
// (from, to] and adds a ghost model row there.
func corrupt(t *testing.T, e *engine, from, to int64) {
	t.Helper()
	var bad []*rollup.Row
	for _, scope := range []string{rollup.ScopeSystem, rollup.ScopeUser, rollup.ScopeModel} {
		for _, p := range periods.All {
			rows, err := e.st.Aggregates(ctx, scope, p, e.cal.Of(p, from).Start, to)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if end := e.cal.Next(p, r.PeriodStart); end <= from || end > to {
					continue
				}
				r := r
				r.TotalTokens += 999
				r.TotalCostNanoUsd += 7
				bad = append(bad, &r)
			}
		}
	}
	if len(bad) == 0 {
		t.Fatal("nothing to corrupt")
	}
	h := e.cal.Of(periods.Hourly, from+3*3600_000)
	bad = append(bad, &rollup.Row{Key: rollup.Key{Scope: rollup.ScopeModel, Model: "ghost/model", Period: periods.Hourly, PeriodStart: h.Start},
		PeriodKey: h.Key, Counters: rollup.Counters{TotalTokens: 5}, Models: []string{"ghost/model"}})
	if err := e.st.ReplaceAggregates(ctx, bad); err != nil {
		t.Fatal(err)
	}
}
