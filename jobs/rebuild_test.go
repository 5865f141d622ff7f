package jobs_test

import (
	"errors"
	"testing"
	"time"

	"llmmeter/internal/fold"
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

// TestRebuild corrupts the summaries of periods across hour, day, ISO-week,
// month and year boundaries and both DST changes of New York, on both
// engines, and rebuilds them: they must equal the raw rows exactly again
// (and a key the raw rows do not support is zeroed).
func TestRebuild(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		loc := e.loc
		ids := users(t, e, "alice", "bob")
		g := &gen{}
		type scenario struct {
			name       string
			start, end time.Time
		}
		local := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, loc) }
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
		foldAll(t, e.st, e)
		rb := &jobs.Rebuild{Store: e.st, Cal: e.cal}
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				from, to := sc.start.Add(-2*time.Hour).UnixMilli(), sc.end.Add(2*time.Hour).UnixMilli()
				corrupt(t, e, from, to)
				counts, err := rb.Window(ctx, from, to)
				if err != nil {
					t.Fatal(err)
				}
				if counts["zeroed"] == 0 || counts["conflicts"] != 0 {
					t.Fatalf("counts %v: want the ghost row zeroed, no conflicts", counts)
				}
				checkAggregates(t, e, expectedAggs(e.cal, all), sc.start.Add(-time.Hour).UnixMilli(), to)
				// A second pass changes nothing (idempotent replace).
				if _, err := rb.Window(ctx, from, to); err != nil {
					t.Fatal(err)
				}
				checkAggregates(t, e, expectedAggs(e.cal, all), sc.start.Add(-time.Hour).UnixMilli(), to)
			})
		}
	})
}

// A rebuild while ingest goes on: a row not folded yet is left to the
// fold (counted once, by the fold), and a replace computed before a fold
// applied is refused (the fold's delta is never overwritten).
func TestRebuildWhileIngesting(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		unfoldedIngest(e)
		ids := users(t, e, "ana")
		g := &gen{}
		t0 := time.Date(2027, 5, 4, 10, 0, 0, 0, e.loc)
		u1, l1 := g.request(t0, ids[0], "m/a", true, 120)
		first := store.Batch{Usage: []store.Usage{u1}, RequestLogs: []store.RequestLog{l1}}
		e.ingest(t, first)
		foldAll(t, e.st, e)
		u2, l2 := g.request(t0.Add(time.Minute), ids[0], "m/a", false, 300)
		e.ingest(t, store.Batch{Usage: []store.Usage{u2}, RequestLogs: []store.RequestLog{l2}}) // pending
		rb := &jobs.Rebuild{Store: e.st, Cal: e.cal}
		from, to := e.cal.Of(periods.Monthly, t0.UnixMilli()).Start, e.cal.Next(periods.Monthly, t0.UnixMilli())
		counts, err := rb.Recompute(ctx, periods.Hourly, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if counts["pendingRows"] != 2 {
			t.Fatalf("counts %v: want the 2 pending rows left to the fold", counts)
		}
		hourFrom, hourTo := t0.Add(-time.Hour).UnixMilli(), t0.Add(time.Hour).UnixMilli()
		checkHourly(t, e, expectedAggs(e.cal, first), hourFrom, hourTo)
		foldAll(t, e.st, e)
		both := store.Batch{Usage: []store.Usage{u1, u2}, RequestLogs: []store.RequestLog{l1, l2}}
		checkAggregates(t, e, expectedAggs(e.cal, both), hourFrom, hourTo)

		// A replace with a stale fold version is refused and writes nothing.
		v, err := e.st.FoldVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		u3, l3 := g.request(t0.Add(2*time.Minute), ids[0], "m/b", true, 50)
		e.ingest(t, store.Batch{Usage: []store.Usage{u3}, RequestLogs: []store.RequestLog{l3}})
		foldAll(t, e.st, e)
		h := e.cal.Of(periods.Hourly, t0.UnixMilli())
		zero := &rollup.Row{Key: rollup.Key{Scope: rollup.ScopeSystem, Period: periods.Hourly, PeriodStart: h.Start}, PeriodKey: h.Key, Models: []string{}}
		if err := e.st.ReplaceAggregates(ctx, []*rollup.Row{zero}, v); !errors.Is(err, fold.ErrConflict) {
			t.Fatalf("stale replace: %v, want fold.ErrConflict", err)
		}
		all := store.Batch{Usage: []store.Usage{u1, u2, u3}, RequestLogs: []store.RequestLog{l1, l2, l3}}
		checkAggregates(t, e, expectedAggs(e.cal, all), hourFrom, hourTo)
	})
}

// checkHourly is checkAggregates restricted to the hourly rows: the
// rebuild above covered only hourly periods.
func checkHourly(t *testing.T, e *engine, want map[aggKey]rollup.Row, from, to int64) {
	t.Helper()
	for k := range want {
		if k.period != periods.Hourly {
			delete(want, k)
		}
	}
	rows, err := e.st.Aggregates(ctx, rollup.ScopeSystem, periods.Hourly, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var got rollup.Counters
	for _, r := range rows {
		got.Add(r.Counters)
	}
	var exp rollup.Counters
	for k, w := range want {
		if k.scope == rollup.ScopeSystem {
			exp.Add(w.Counters)
		}
	}
	if got != exp {
		t.Fatalf("%s: hourly system after rebuild\n got  %+v\n want %+v", e.name, got, exp)
	}
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
	v, err := e.st.FoldVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.ReplaceAggregates(ctx, bad, v); err != nil {
		t.Fatal(err)
	}
}
