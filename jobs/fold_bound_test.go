package jobs_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"llmmeter/internal/fold"
	"llmmeter/internal/money"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
	"llmmeter/jobs"
)

// boundUsage is a usage row of cost nanos for user at ts (no request log:
// only the cost sums matter here).
func boundUsage(id int, user string, ts time.Time, nanos int64) store.Usage {
	return store.Usage{GenerationID: fmt.Sprintf("gen-b%d", id), RequestID: fmt.Sprintf("req-b%d", id), UserID: user, Model: "m/a",
		PromptTokens: 1, CompletionTokens: 1, TotalTokens: 2, Cost: money.Nanos(nanos), CostStatus: store.CostReported, Timestamp: ts.UnixMilli()}
}

// monthlyCosts reads the monthly aggregates' and summary's cost sums of
// the month of ts: scope → sum, and the summary's model entry.
func monthlyCosts(t *testing.T, e *engine, ts time.Time) map[string]int64 {
	t.Helper()
	m := e.cal.Of(periods.Monthly, ts.UnixMilli())
	out := map[string]int64{}
	for _, scope := range []string{rollup.ScopeSystem, rollup.ScopeUser, rollup.ScopeModel} {
		rows, err := e.st.Aggregates(ctx, scope, periods.Monthly, m.Start, m.Start+1)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out[r.Scope] += r.TotalCostNanoUsd
		}
	}
	st, err := e.st.SummaryState(ctx, rollup.StateKeys{Periods: []rollup.PeriodRef{{Period: periods.Monthly, PeriodStart: m.Start}}, Users: []rollup.UserPeriod{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Summaries {
		for _, me := range s.Models {
			out["summary:"+me.Model] = me.TotalCostNanoUsd
		}
	}
	return out
}

// Sums at 2^53 − 1 nanos (about $9.007M in one month) are folded exactly,
// to the last nano, on both engines. One apply that would take a sum to
// 2^53 + 1 is refused by the fold on Convex (whose numbers are float64):
// the fold job fails with fold.ErrBeyondBound naming the period, nothing
// is stored and the row stays pending. The embedded engine (int64) folds it
// exactly.
func TestFoldSumBoundAtTheEdge(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		unfoldedIngest(e)
		ana := users(t, e, "ana")[0]
		ts := time.Date(2027, 2, 10, 12, 0, 0, 0, e.loc)
		e.ingest(t, store.Batch{Usage: []store.Usage{boundUsage(1, ana, ts, store.MaxAmount-1), boundUsage(2, ana, ts, 1)}})
		job := &jobs.Fold{Store: e.st, Cal: e.cal}
		if counts, err := job.Run(ctx, jobs.Window{}); err != nil || counts["rows"] != 2 {
			t.Fatalf("fold to the edge: %v, %v", counts, err)
		}
		edge := map[string]int64{"system": store.MaxAmount, "user": store.MaxAmount, "model": store.MaxAmount, "summary:m/a": store.MaxAmount}
		if got := monthlyCosts(t, e, ts); fmt.Sprint(got) != fmt.Sprint(edge) {
			t.Fatalf("monthly sums %v, want %v (2^53 − 1 exactly)", got, edge)
		}

		e.ingest(t, store.Batch{Usage: []store.Usage{boundUsage(3, ana, ts, 2)}})
		counts, err := job.Run(ctx, jobs.Window{})
		if e.name == "sqlite" {
			if err != nil || counts["rows"] != 1 {
				t.Fatalf("sqlite fold past 2^53: %v, %v; its sums are int64", counts, err)
			}
			past := int64(1<<53 + 1)
			want := map[string]int64{"system": past, "user": past, "model": past, "summary:m/a": past}
			if got := monthlyCosts(t, e, ts); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("sqlite monthly sums %v, want %v", got, want)
			}
			return
		}
		if !errors.Is(err, fold.ErrBeyondBound) || counts["rows"] != 0 {
			t.Fatalf("convex fold past 2^53 − 1: %v, %v; want fold.ErrBeyondBound and nothing folded", counts, err)
		}
		t.Logf("the fold job's error: %v", err)
		if got := monthlyCosts(t, e, ts); fmt.Sprint(got) != fmt.Sprint(edge) {
			t.Fatalf("after the refusal: monthly sums %v, want them unchanged at %v", got, edge)
		}
		if p, err := e.st.PendingRows(ctx, 10); err != nil || len(p.Usage) != 1 || p.Usage[0].GenerationID != "gen-b3" {
			t.Fatalf("pending after the refusal: %+v, %v; want the row still pending", p, err)
		}
	})
}

// The embedded engine's own bound is 2^63 − 1 nanos (SQLite's int64): a
// month summing to exactly that is folded exactly, and one nano more is
// refused, where SQLite would have turned the sum into a float.
func TestFoldSumBoundSQLiteInt64(t *testing.T) {
	e := sqliteEngine(t, nyc(t))
	unfoldedIngest(e)
	ana := users(t, e, "ana")[0]
	ts := time.Date(2027, 2, 10, 12, 0, 0, 0, e.loc)
	// 1024 × (2^53 − 1) + 1023 = 2^63 − 1.
	var b store.Batch
	for i := range 1024 {
		b.Usage = append(b.Usage, boundUsage(i, ana, ts, store.MaxAmount))
	}
	b.Usage = append(b.Usage, boundUsage(1024, ana, ts, 1023))
	e.ingest(t, b)
	job := &jobs.Fold{Store: e.st, Cal: e.cal}
	if counts, err := job.Run(ctx, jobs.Window{}); err != nil || counts["rows"] != 1025 {
		t.Fatalf("fold to 2^63 − 1: %v, %v", counts, err)
	}
	edge := map[string]int64{"system": math.MaxInt64, "user": math.MaxInt64, "model": math.MaxInt64, "summary:m/a": math.MaxInt64}
	if got := monthlyCosts(t, e, ts); fmt.Sprint(got) != fmt.Sprint(edge) {
		t.Fatalf("monthly sums %v, want %v", got, edge)
	}
	e.ingest(t, store.Batch{Usage: []store.Usage{boundUsage(1025, ana, ts, 1)}})
	if counts, err := job.Run(ctx, jobs.Window{}); !errors.Is(err, fold.ErrBeyondBound) || counts["rows"] != 0 {
		t.Fatalf("fold past 2^63 − 1: %v, %v; want fold.ErrBeyondBound", counts, err)
	}
	if got := monthlyCosts(t, e, ts); fmt.Sprint(got) != fmt.Sprint(edge) {
		t.Fatalf("after the refusal: %v, want %v", got, edge)
	}
}
