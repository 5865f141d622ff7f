package sqlitestore

import (
	"context"
	"fmt"
	"testing"

	"llmmeter/internal/store"
)

// TestIngestFoldsABatchInOneApply: an ingest folds a whole delivery batch
// (2,001 rows, as the outbox ships them) in its own transaction, one
// apply (one fold version step) rather than ten, leaves no row pending,
// and the aggregates it writes count every row once.
func TestIngestFoldsABatchInOneApply(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	const n = 2001
	var b store.Batch
	for i := range n {
		b.Usage = append(b.Usage, usage(fmt.Sprintf("g%05d", i), 10))
	}
	if n > ingestFoldLimit {
		t.Fatalf("the batch (%d rows) is larger than the fold page (%d)", n, ingestFoldLimit)
	}
	v0, err := s.FoldVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, b); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.FoldVersion(ctx); v != v0+1 {
		t.Fatalf("%d fold applies for one batch, want 1", v-v0)
	}
	var cost, pending int64
	if err := s.db.R.QueryRowContext(ctx, `SELECT totalCostNanoUsd FROM usageAggregates WHERE scope = 'system' AND period = 'daily'`).Scan(&cost); err != nil {
		t.Fatal(err)
	}
	if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM usageTracking WHERE folded = 0`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if cost != 10*n || pending != 0 {
		t.Fatalf("daily system cost %d and %d rows unfolded, want %d and 0", cost, pending, 10*n)
	}
}
