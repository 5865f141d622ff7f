package sqlitestore

import (
	"context"
	"database/sql"
	"testing"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
)

// A row stored before migration 0016 ('[]' fine columns) reads as zeros, and
// a later delta adds to it: the fine buckets hold only what came after, the
// coarse ones everything.
func TestFineBucketsOnRowsStoredBefore(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	const start = int64(1_705_276_800_000) // 2024-01-15T00:00Z
	row := func(ms, ttft int64) *rollup.Row {
		return &rollup.Row{Key: rollup.Key{Scope: rollup.ScopeSystem, Period: periods.Daily, PeriodStart: start}, PeriodKey: "2024-01-15",
			Counters: rollup.RequestDelta(store.RequestLog{Status: store.StatusSuccess, ProcessingTime: ms, TimeToFirstToken: ttft}), Models: []string{}}
	}
	apply := func(r *rollup.Row) {
		t.Helper()
		if err := s.db.Tx(ctx, func(tx *sql.Tx) error { return applyAggregates(ctx, tx, []*rollup.Row{r}, 1, false) }); err != nil {
			t.Fatal(err)
		}
	}
	apply(row(100, 0))
	if _, err := s.db.W.ExecContext(ctx, `UPDATE usageAggregates SET latencyFine = '[]', ttftBuckets = '[]'`); err != nil {
		t.Fatal(err)
	}
	apply(row(1000, 300))
	got, err := s.Aggregates(ctx, rollup.ScopeSystem, periods.Daily, start, start+1)
	if err != nil || len(got) != 1 {
		t.Fatalf("aggregates %v, %v", got, err)
	}
	c := got[0].Counters
	var fine, ttft [rollup.NumFine]int64
	fine[rollup.FineBucket(1000)], ttft[rollup.FineBucket(300)] = 1, 1
	if c.TotalRequests != 2 || c.LatencyBuckets[rollup.LatencyBucket(100)] != 1 || c.LatencyFine != fine || c.TTFTBuckets != ttft {
		t.Fatalf("counters %+v", c)
	}
}
