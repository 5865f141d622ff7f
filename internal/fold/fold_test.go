package fold_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"llmmeter/internal/fold"
	"llmmeter/internal/money"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// unfoldedActivity is a fresh SQLite engine (closed with the test) holding
// n activity rows of one user and type that nothing has folded yet: the
// engine's own fold-on-ingest is off so that the Folder under test does it.
func unfoldedActivity(t *testing.T, n int, activityType string) (*sqlitestore.Store, store.Batch) {
	t.Helper()
	st, user := engine(t)
	var b store.Batch
	for i := range n {
		b.Activity = append(b.Activity, store.Activity{ActivityKey: string(rune('a' + i)), UserID: user, ActivityType: activityType, Timestamp: 1_800_000_000_000})
	}
	if _, err := st.Ingest(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return st, b
}

// Compute names every row it folds and merges the deltas per key: one
// row per (scope, subject, period), in the calendar's time zone.
func TestComputeKeysAndDeltas(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	cal := periods.For(tokyo)
	ts := time.Date(2026, 1, 1, 0, 30, 0, 0, tokyo).UnixMilli() // Dec 31 in UTC, Jan 1 in Tokyo
	p := fold.Pending{
		Usage: []store.Usage{
			{GenerationID: "g1", UserID: "u1", Model: "m/a", TotalTokens: 10, Cost: 7, Timestamp: ts},
			{GenerationID: "g2", UserID: "u2", Model: "m/a", TotalTokens: 5, Cost: 3, Timestamp: ts},
		},
		RequestLogs: []store.RequestLog{{RequestID: "r1", UserID: "u1", Model: "m/a", Status: store.StatusSuccess, ProcessingTime: 90, Timestamp: ts}},
		Activity:    []store.Activity{{ActivityKey: "a1", UserID: "u3", ActivityType: "file_uploaded", Timestamp: ts}},
	}
	a := fold.Compute(cal, p)
	if a.Rows() != 4 || len(a.Usage) != 2 || a.RequestLogs[0] != "r1" || a.Activity[0] != "a1" {
		t.Fatalf("keys %+v", a)
	}
	// 4 periods × (system + model m/a + users u1, u2, u3) keys.
	if len(a.Aggregates) != 4*5 {
		t.Fatalf("%d aggregate rows, want 20", len(a.Aggregates))
	}
	for _, r := range a.Aggregates {
		if r.Shard != 0 {
			t.Fatalf("row %+v has a shard", r.Key)
		}
		if r.Period == periods.Daily && r.PeriodKey != "2026-01-01" {
			t.Fatalf("daily key %q, want Tokyo's 2026-01-01", r.PeriodKey)
		}
		if r.Scope == "system" && (r.TotalTokens != 15 || r.TotalCostNanoUsd != 10 || r.TotalRequests != 1 || r.FilesUploaded != 1) {
			t.Fatalf("system row %+v", r)
		}
	}
	if empty := fold.Compute(cal, fold.Pending{}); empty.Rows() != 0 || len(empty.Aggregates) != 0 || empty.Usage == nil {
		t.Fatalf("empty apply %+v: want empty, non-nil key lists (the wire wants arrays)", empty)
	}
}

// flaky is a fold.Store over a real engine whose first applies lose to a
// concurrent folder: the rows are folded by "another" folder in between.
type flaky struct {
	*sqlitestore.Store
	steal int
}

func (f *flaky) ApplyFold(ctx context.Context, a fold.Apply) error {
	if f.steal > 0 {
		f.steal--
		if err := f.Store.ApplyFold(ctx, a); err != nil {
			return err
		}
	}
	return f.Store.ApplyFold(ctx, a)
}

// A folder that loses the compare-and-set re-reads and goes on; what it
// lost was folded by the other, so every row counts once.
func TestFolderRetriesAfterConflict(t *testing.T) {
	ctx := context.Background()
	st, b := unfoldedActivity(t, 5, rollup.ActivityConversationStarted)
	f := fold.Folder{Store: &flaky{Store: st, steal: 1}, Cal: periods.For(time.UTC), Limit: 2}
	res, err := f.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The first page (2 rows) went to the other folder; this one folded the other 3.
	if res.Conflicts != 1 || res.Rows != 3 {
		t.Fatalf("result %+v, want 1 conflict and 3 rows", res)
	}
	if v, err := st.FoldVersion(ctx); err != nil || v != 3 {
		t.Fatalf("fold version %d, %v: want 3 applies", v, err)
	}
	// A folder that never wins (its reads are always stale) gives up with
	// an error instead of spinning.
	loser := fold.Folder{Store: &stale{Store: st, rows: b}, Cal: periods.For(time.UTC), MaxApplies: 3}
	res, err = loser.Run(ctx)
	if !errors.Is(err, fold.ErrConflict) || res.Conflicts != 4 || res.Rows != 0 {
		t.Fatalf("always losing: %+v, %v; want 4 conflicts and fold.ErrConflict", res, err)
	}
}

// stale always reads the same rows, folded long ago. It refuses to be read
// more than 10 times, so that a folder that would spin fails at once.
type stale struct {
	*sqlitestore.Store
	rows  store.Batch
	reads int
}

func (s *stale) PendingRows(context.Context, int) (fold.Pending, error) {
	if s.reads++; s.reads > 10 {
		return fold.Pending{}, errors.New("stale: still reading after 10 lost rounds")
	}
	return fold.Pending{Activity: s.rows.Activity}, nil
}

// MaxApplies bounds one run exactly, and a zero Limit means DefaultLimit.
func TestFolderBounds(t *testing.T) {
	ctx := context.Background()
	st, _ := unfoldedActivity(t, 5, rollup.ActivityFileUploaded)
	bounded := fold.Folder{Store: st, Cal: periods.For(time.UTC), Limit: 1, MaxApplies: 2}
	if res, err := bounded.Run(ctx); err != nil || res.Applies != 2 || res.Rows != 2 {
		t.Fatalf("bounded run %+v, %v: want exactly 2 applies of 1 row", res, err)
	}
	all := fold.Folder{Store: st, Cal: periods.For(time.UTC)}
	if res, err := all.Run(ctx); err != nil || res.Applies != 1 || res.Rows != 3 {
		t.Fatalf("default run %+v, %v: want the 3 rows left in one apply", res, err)
	}
}

// Compute files a row at a period's first millisecond in that period and
// one at the millisecond before in the previous one, in the calendar's
// zone, across a 25-hour DST day (New York, 2024-11-03), and sums each
// key's counters exactly.
func TestComputeAtPeriodEdges(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cal := periods.For(ny)
	dayStart := time.Date(2024, 11, 3, 0, 0, 0, 0, ny).UnixMilli() // 04:00Z (EDT)
	dayEnd := time.Date(2024, 11, 4, 0, 0, 0, 0, ny).UnixMilli()   // 05:00Z (EST): 25 hours later
	if dayEnd-dayStart != 25*3_600_000 {
		t.Fatalf("test setup: the day has %d ms", dayEnd-dayStart)
	}
	use := func(id string, ts, tokens int64, cost money.Nanos) store.Usage {
		return store.Usage{GenerationID: id, UserID: "u1", Model: "m/a", TotalTokens: tokens, Cost: cost, Timestamp: ts}
	}
	p := fold.Pending{Usage: []store.Usage{
		use("before", dayStart-1, 100, 5),   // Saturday 2024-11-02 23:59:59.999
		use("first", dayStart, 11, 7),       // Sunday 00:00:00.000
		use("last", dayEnd-1, 1, 13),        // Sunday 23:59:59.999 EST
		use("monday", dayEnd, 1_000, 1_000), // Monday: the next ISO week
	}}
	a := fold.Compute(cal, p)
	type total struct {
		start, tokens, cost int64
	}
	got := map[string]total{}
	for _, r := range a.Aggregates {
		if r.Scope != rollup.ScopeSystem {
			continue
		}
		k := string(r.Period) + " " + r.PeriodKey
		if _, dup := got[k]; dup {
			t.Fatalf("two system rows for %s", k)
		}
		got[k] = total{r.PeriodStart, r.TotalTokens, r.TotalCostNanoUsd}
	}
	at := func(y int, m time.Month, d, h int) int64 { return time.Date(y, m, d, h, 0, 0, 0, ny).UnixMilli() }
	want := map[string]total{
		"hourly 2024-11-02T23": {at(2024, 11, 2, 23), 100, 5},
		"hourly 2024-11-03T00": {dayStart, 11, 7},
		"hourly 2024-11-03T23": {at(2024, 11, 3, 23), 1, 13},
		"hourly 2024-11-04T00": {dayEnd, 1_000, 1_000},
		"daily 2024-11-02":     {at(2024, 11, 2, 0), 100, 5},
		"daily 2024-11-03":     {dayStart, 11 + 1, 7 + 13},
		"daily 2024-11-04":     {dayEnd, 1_000, 1_000},
		"weekly 2024-W44":      {at(2024, 10, 28, 0), 100 + 11 + 1, 5 + 7 + 13},
		"weekly 2024-W45":      {dayEnd, 1_000, 1_000},
		"monthly 2024-11":      {at(2024, 11, 1, 0), 100 + 11 + 1 + 1_000, 5 + 7 + 13 + 1_000},
	}
	if len(got) != len(want) {
		t.Fatalf("system rows %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %+v, want %+v", k, got[k], w)
		}
	}
}
