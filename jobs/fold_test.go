package jobs_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"llmmeter/internal/fold"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
	"llmmeter/jobs"
)

// unfoldedIngest makes the engine leave rows to the fold (the embedded
// engine otherwise folds right after each ingest, the test harness after
// each Convex ingest).
func unfoldedIngest(e *engine) {
	e.noFold = true
	if s, ok := e.st.(*sqlitestore.Store); ok {
		s.SetFoldOnIngest(false)
	}
}

// foldAll folds everything pending through st.
func foldAll(t *testing.T, st jobs.Store, e *engine) {
	t.Helper()
	f := fold.Folder{Store: st, Cal: e.cal}
	if _, err := f.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// A folder whose rows were folded by another between its read and its
// apply loses the compare-and-set: ErrConflict, nothing written, and the
// rows counted once.
func TestFoldStaleFolderLosesCompareAndSet(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		unfoldedIngest(e)
		ids := users(t, e, "ana", "bo")
		g := &gen{}
		t0 := time.Date(2026, 3, 7, 23, 30, 0, 0, e.loc) // the weekly, daily and hourly periods all change at midnight
		var all store.Batch
		for i := range 6 {
			u, l := g.request(t0.Add(time.Duration(i)*11*time.Minute), ids[i%2], []string{"m/a", "m/b"}[i%2], i%3 != 0, int64(90*i+40))
			all.Usage, all.RequestLogs = append(all.Usage, u), append(all.RequestLogs, l)
		}
		all.Activity = append(all.Activity, g.activity(t0, ids[0], "conversation_started"))
		e.ingest(t, all)

		stale, err := e.st.PendingRows(ctx, fold.DefaultLimit)
		if err != nil {
			t.Fatal(err)
		}
		if stale.Len() != 13 {
			t.Fatalf("pending rows = %d, want 13", stale.Len())
		}
		other := fold.Folder{Store: e.second(t), Cal: e.cal}
		if res, err := other.Run(ctx); err != nil || res.Rows != 13 || res.Applies != 1 {
			t.Fatalf("other folder: %+v, %v", res, err)
		}
		if err := e.st.ApplyFold(ctx, fold.Compute(e.cal, stale)); !errors.Is(err, fold.ErrConflict) {
			t.Fatalf("stale apply: %v, want fold.ErrConflict", err)
		}
		// A partly stale apply (one row folded, one not) is refused whole.
		extraU, extraL := g.request(t0.Add(time.Hour), ids[1], "m/a", true, 10)
		e.ingest(t, store.Batch{Usage: []store.Usage{extraU}, RequestLogs: []store.RequestLog{extraL}})
		mixed := fold.Pending{Usage: []store.Usage{all.Usage[0], extraU}}
		if err := e.st.ApplyFold(ctx, fold.Compute(e.cal, mixed)); !errors.Is(err, fold.ErrConflict) {
			t.Fatalf("partly stale apply: %v, want fold.ErrConflict", err)
		}
		f := fold.Folder{Store: e.st, Cal: e.cal}
		if res, err := f.Run(ctx); err != nil || res.Rows != 2 {
			t.Fatalf("fold the rest: %+v, %v", res, err)
		}
		all.Usage, all.RequestLogs = append(all.Usage, extraU), append(all.RequestLogs, extraL)
		from, to := t0.Add(-48*time.Hour).UnixMilli(), t0.Add(48*time.Hour).UnixMilli()
		checkAggregates(t, e, expectedAggs(e.cal, all), from, to)
	})
}

// Ingests interleaved with two folders on two handles (two replicas):
// nothing skipped, nothing counted twice, whatever the interleaving.
func TestFoldTwoFoldersInterleavedWithIngest(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		unfoldedIngest(e)
		ids := users(t, e, "ana", "bo", "cy")
		g := &gen{}
		t0 := time.Date(2026, 11, 1, 0, 40, 0, 0, e.loc) // the DST change of New York
		var all store.Batch
		done := make(chan struct{})
		var wg sync.WaitGroup
		results := make([]fold.Result, 2)
		errs := make([]error, 2)
		for i, st := range []jobs.Store{e.st, e.second(t)} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A small page, so that folds interleave with ingests.
				f := fold.Folder{Store: st, Cal: e.cal, Limit: 7}
				for {
					select {
					case <-done:
						return
					default:
					}
					res, err := f.Run(ctx)
					results[i].Rows += res.Rows
					results[i].Conflicts += res.Conflicts
					if err != nil {
						errs[i] = err
						return
					}
				}
			}()
		}
		const batches = 12
		for b := range batches {
			var bt store.Batch
			for i := range 5 {
				at := t0.Add(time.Duration(b*5+i) * 3 * time.Minute)
				u, l := g.request(at, ids[(b+i)%3], []string{"m/a", "m/b", "m/c"}[i%3], (b+i)%4 != 0, int64(50*i+100*b))
				bt.Usage, bt.RequestLogs = append(bt.Usage, u), append(bt.RequestLogs, l)
			}
			bt.Activity = append(bt.Activity, g.activity(t0.Add(time.Duration(b)*time.Minute), ids[b%3], "file_uploaded"))
			e.ingest(t, bt)
			all.Usage = append(all.Usage, bt.Usage...)
			all.RequestLogs = append(all.RequestLogs, bt.RequestLogs...)
			all.Activity = append(all.Activity, bt.Activity...)
		}
		close(done)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("folder %d: %v", i, err)
			}
		}
		// Whatever is left (the folders may stop before the last ingest).
		final := fold.Folder{Store: e.st, Cal: e.cal}
		last, err := final.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total := results[0].Rows + results[1].Rows + last.Rows
		want := int64(len(all.Usage) + len(all.RequestLogs) + len(all.Activity))
		if total != want {
			t.Fatalf("rows folded %d (folders %+v %+v, last %+v), want %d", total, results[0], results[1], last, want)
		}
		t.Logf("%s: folder rows %d/%d, conflicts %d/%d, last %d", e.name, results[0].Rows, results[1].Rows,
			results[0].Conflicts, results[1].Conflicts, last.Rows)
		if p, err := e.st.PendingRows(ctx, 10); err != nil || p.Len() != 0 {
			t.Fatalf("pending after folding: %d rows, %v", p.Len(), err)
		}
		from, to := t0.Add(-8*24*time.Hour).UnixMilli(), t0.Add(40*24*time.Hour).UnixMilli()
		checkAggregates(t, e, expectedAggs(e.cal, all), from, to)
	})
}

// The fold is a job of the service on its "@every 2s" schedule, under its
// lease, and a run folds whatever is pending.
func TestFoldJobRunsOnItsSchedule(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		unfoldedIngest(e)
		ids := users(t, e, "ana")
		g := &gen{}
		clk := &clock{}
		clk.Set(time.Date(2027, 2, 3, 4, 5, 6, 0, e.loc))
		cfg := jobs.DefaultConfig()
		cfg.Holder = "replica-1"
		svc, err := jobs.New(cfg, jobs.Deps{Store: e.st, Location: e.loc, Notifier: &recorder{}, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		u, l := g.request(clk.Now().Add(-time.Second), ids[0], "m/a", true, 80)
		b := store.Batch{Usage: []store.Usage{u}, RequestLogs: []store.RequestLog{l}}
		e.ingest(t, b)
		runs, err := svc.RunDue(ctx, jobs.JobFold)
		if err != nil || len(runs) != 1 || runs[0].Counts["rows"] != 2 || runs[0].Outcome != jobs.OutcomeSuccess {
			t.Fatalf("runs %+v, %v: want one run folding 2 rows", runs, err)
		}
		// Two seconds later the next run finds nothing to do.
		clk.Add(2 * time.Second)
		if runs, err = svc.RunDue(ctx, jobs.JobFold); err != nil || len(runs) != 1 || runs[0].Counts["rows"] != 0 {
			t.Fatalf("second run %+v, %v", runs, err)
		}
		checkAggregates(t, e, expectedAggs(e.cal, b), clk.Now().Add(-time.Hour).UnixMilli(), clk.Now().Add(time.Hour).UnixMilli())
	})
}
