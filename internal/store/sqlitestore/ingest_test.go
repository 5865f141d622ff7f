package sqlitestore

import (
	"context"
	"fmt"
	"testing"

	"llmmeter/internal/store"
)

// TestIngestMultiRowInsertCounts: rows go in with multi-row INSERTs of
// insertChunk rows. A batch spanning several statements, holding keys
// already stored and a key repeated within the batch (on both sides of a
// statement boundary), stores each new key once, counts the rest as
// duplicates, and adds each stored row to the aggregates once.
func TestIngestMultiRowInsertCounts(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	// Every third row of the first 2.5 statements' worth is stored first.
	n := 500
	var first store.Batch
	for i := 0; i < n; i += 3 {
		first.Usage = append(first.Usage, usage(fmt.Sprintf("g%04d", i), 10))
	}
	if _, err := s.Ingest(ctx, first); err != nil {
		t.Fatal(err)
	}
	var b store.Batch
	for i := range n {
		b.Usage = append(b.Usage, usage(fmt.Sprintf("g%04d", i), 10))
	}
	// Repeats: one within the first statement, one across a boundary
	// (its twin is in the first statement, the repeat in the third), and
	// one of a row stored earlier.
	b.Usage = append(b.Usage[:5], append([]store.Usage{usage("g0001", 10)}, b.Usage[5:]...)...)
	b.Usage = append(b.Usage, usage("g0004", 10), usage("g0003", 10))
	res, err := s.Ingest(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	stored := len(first.Usage)
	wantNew := n - stored
	if res.Inserted.Usage != wantNew || res.Duplicates.Usage != len(b.Usage)-wantNew {
		t.Fatalf("inserted %d, duplicates %d; want %d and %d", res.Inserted.Usage, res.Duplicates.Usage, wantNew, len(b.Usage)-wantNew)
	}
	if got := s.count(t, "usageTracking"); got != n {
		t.Fatalf("usage rows = %d, want %d", got, n)
	}
	// The live aggregates saw each row once (all on one day): n rows at 10 nano-USD.
	var cost int64
	if err := s.db.R.QueryRow(`SELECT totalCostNanoUsd FROM usageAggregates WHERE scope = 'system' AND period = 'daily'`).Scan(&cost); err != nil {
		t.Fatal(err)
	}
	if cost != int64(10*n) {
		t.Fatalf("daily system cost = %d, want %d", cost, 10*n)
	}
}

// TestIngestCommitsFsync: an ingest's commit fsyncs (one per batch), since
// the outbox deletes the batch's entries right after without an fsync of its
// own; a refused batch commits nothing.
func TestIngestCommitsFsync(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	before := s.db.FullCommits()
	if _, err := s.Ingest(ctx, store.Batch{Usage: []store.Usage{usage("f1", 10), usage("f2", 10)}}); err != nil {
		t.Fatal(err)
	}
	if n := s.db.FullCommits() - before; n != 1 {
		t.Fatalf("%d fsynced commits for one batch, want 1", n)
	}
	bad := usage("f3", 10)
	bad.UserID = ""
	if _, err := s.Ingest(ctx, store.Batch{Usage: []store.Usage{bad}}); err == nil {
		t.Fatal("a usage row without a user was accepted")
	}
	if n := s.db.FullCommits() - before; n != 1 {
		t.Fatalf("%d fsynced commits after a refused batch, want still 1", n)
	}
}
