package fold_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"llmmeter/internal/fold"
	"llmmeter/internal/money"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// month is noon UTC on the 15th of month m of 2026: rows of different
// months share no hour, day, week or month, so each adds 4 periods.
func month(m time.Month) int64 { return time.Date(2026, m, 15, 12, 0, 0, 0, time.UTC).UnixMilli() }

// counts is the number of rows of each kind in p.
func counts(p fold.Pending) [3]int { return [3]int{len(p.Usage), len(p.RequestLogs), len(p.Activity)} }

// LimitPeriods keeps the longest prefix (usage, then request logs, then
// activity) whose rows touch at most max periods: a page that reaches the
// bound exactly is kept whole, the first row beyond it ends the page even
// if later rows would fit, a row adding no new period always fits while
// the bound holds, and the first row is kept however many it touches.
func TestLimitPeriods(t *testing.T) {
	cal := periods.For(time.UTC)
	u := func(ts int64) store.Usage { return store.Usage{GenerationID: "g", Timestamp: ts} }
	l := func(ts int64) store.RequestLog { return store.RequestLog{RequestID: "r", Timestamp: ts} }
	a := func(ts int64) store.Activity { return store.Activity{ActivityKey: "a", Timestamp: ts} }
	jan, mar, may, jul := month(time.January), month(time.March), month(time.May), month(time.July)
	for _, c := range []struct {
		name string
		p    fold.Pending
		max  int
		want [3]int
	}{
		// 3 months × 4 periods = 12: exactly the bound, all kept; the
		// repeated January row adds nothing and fits too.
		{"exactly at the bound", fold.Pending{Usage: []store.Usage{u(jan), u(mar)}, RequestLogs: []store.RequestLog{l(jan), l(may)}, Activity: []store.Activity{a(may)}}, 12, [3]int{2, 2, 1}},
		// A fourth month would make 16: the page ends before it, and the
		// January row after it is not taken (a prefix, not a selection).
		{"cut in activity", fold.Pending{Usage: []store.Usage{u(jan), u(mar)}, RequestLogs: []store.RequestLog{l(may)}, Activity: []store.Activity{a(may), a(jul), a(jan)}}, 12, [3]int{2, 1, 1}},
		{"cut in request logs", fold.Pending{Usage: []store.Usage{u(jan), u(mar), u(may)}, RequestLogs: []store.RequestLog{l(jan), l(jul), l(jan)}, Activity: []store.Activity{a(jan)}}, 12, [3]int{3, 1, 0}},
		{"cut in usage", fold.Pending{Usage: []store.Usage{u(jan), u(mar), u(may), u(jul), u(jan)}, RequestLogs: []store.RequestLog{l(jan)}}, 12, [3]int{3, 0, 0}},
		// The first row's 4 periods pass a bound of 8 by nothing: one more month fits.
		{"two months in 8", fold.Pending{Usage: []store.Usage{u(jan), u(mar), u(may)}}, 8, [3]int{2, 0, 0}},
		{"one period short", fold.Pending{Usage: []store.Usage{u(jan), u(mar)}}, 7, [3]int{1, 0, 0}},
		// A bound below one row's 4 periods still keeps that row (else
		// nothing would ever fold), and nothing after it.
		{"first row beyond a small bound", fold.Pending{Usage: []store.Usage{u(jan), u(jan)}, Activity: []store.Activity{a(jan)}}, 1, [3]int{1, 0, 0}},
		{"first row is an activity", fold.Pending{Activity: []store.Activity{a(jul), a(jan)}}, 2, [3]int{0, 0, 1}},
		{"empty", fold.Pending{}, 12, [3]int{0, 0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := fold.LimitPeriods(cal, c.p, c.max)
			if counts(got) != c.want {
				t.Fatalf("kept %v (usage, request logs, activity), want %v", counts(got), c.want)
			}
			// What is kept is the front of each kind, in order.
			for i := range got.Usage {
				if got.Usage[i] != c.p.Usage[i] {
					t.Fatalf("usage %d is %+v, want %+v", i, got.Usage[i], c.p.Usage[i])
				}
			}
			for i := range got.RequestLogs {
				if got.RequestLogs[i] != c.p.RequestLogs[i] {
					t.Fatalf("request log %d is %+v, want %+v", i, got.RequestLogs[i], c.p.RequestLogs[i])
				}
			}
		})
	}
}

// engine is a fresh SQLite engine (closed with the test) that does not
// fold on ingest, and one user of it.
func engine(t *testing.T) (*sqlitestore.Store, string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "fold.db"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.SetFoldOnIngest(false)
	u, _, err := st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return st, u.ID
}

// pending is how many rows st has not folded yet.
func pending(t *testing.T, st fold.Store) int {
	t.Helper()
	p, err := st.PendingRows(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return p.Len()
}

// A backfill wider than MaxPeriods is folded in one run, a few periods an
// apply: a page cut short by the period bound is not the last page.
func TestFolderFoldsAWideBackfill(t *testing.T) {
	ctx := context.Background()
	st, user := engine(t)
	var b store.Batch
	for i, m := range []time.Month{time.January, time.March, time.May, time.July, time.September} {
		b.Activity = append(b.Activity, store.Activity{ActivityKey: string(rune('a' + i)), UserID: user, ActivityType: rollup.ActivityFileUploaded, Timestamp: month(m)})
	}
	if _, err := st.Ingest(ctx, b); err != nil {
		t.Fatal(err)
	}
	res, err := (&fold.Folder{Store: st, Cal: periods.For(time.UTC)}).Run(ctx)
	// 5 months × 4 periods: 12 (3 months), then 8.
	if err != nil || res.Applies != 2 || res.Rows != 5 || res.Conflicts != 0 {
		t.Fatalf("run %+v, %v: want 5 rows in 2 applies", res, err)
	}
	if n := pending(t, st); n != 0 {
		t.Fatalf("%d rows left unfolded", n)
	}
}

// convexBound is an engine held to Convex's bound (2^53 − 1): it hides
// the embedded engine's fold.Bounded.
type convexBound struct{ fold.Store }

// A sum the engine cannot hold exactly stops the run with ErrBeyondBound
// and leaves its rows pending; the embedded engine, which holds int64,
// folds the same rows.
func TestFolderStopsAtTheEngineBound(t *testing.T) {
	ctx := context.Background()
	st, user := engine(t)
	half := money.Nanos(1 << 52) // two of them sum to 2^53, one past the bound
	var b store.Batch
	for _, id := range []string{"g1", "g2"} {
		b.Usage = append(b.Usage, store.Usage{GenerationID: id, RequestID: id, UserID: user, Model: "m/a", Cost: half,
			CostStatus: store.CostReported, Timestamp: month(time.March)})
	}
	if _, err := st.Ingest(ctx, b); err != nil {
		t.Fatal(err)
	}
	res, err := (&fold.Folder{Store: convexBound{st}, Cal: periods.For(time.UTC)}).Run(ctx)
	if !errors.Is(err, fold.ErrBeyondBound) || res != (fold.Result{}) {
		t.Fatalf("run at Convex's bound: %+v, %v; want fold.ErrBeyondBound and nothing folded", res, err)
	}
	if n := pending(t, st); n != 2 {
		t.Fatalf("%d rows pending after the refusal, want both", n)
	}
	res, err = (&fold.Folder{Store: st, Cal: periods.For(time.UTC)}).Run(ctx)
	if err != nil || res.Rows != 2 {
		t.Fatalf("run at SQLite's bound: %+v, %v; want both rows folded", res, err)
	}
	if n := pending(t, st); n != 0 {
		t.Fatalf("%d rows pending after the fold", n)
	}
}
