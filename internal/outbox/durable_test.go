package outbox

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestOnlyWaitedCommitsFsync: the commit a Put waits for (a call's [DONE]
// or plain body) fsyncs the WAL, so what a client was told survives a power
// loss; in-flight entries and deletes after delivery, which nobody waits on,
// commit without one (NORMAL survives a crash or kill; the next fsync makes
// them durable too, and a lost delete only means a second, idempotent
// delivery). The connections' own level stays NORMAL.
func TestOnlyWaitedCommitsFsync(t *testing.T) {
	ctx := context.Background()
	o := openAt(t, filepath.Join(t.TempDir(), "outbox.db"))
	var w, r int
	if err := o.db.W.QueryRow(`PRAGMA synchronous`).Scan(&w); err != nil {
		t.Fatal(err)
	}
	if err := o.db.R.QueryRow(`PRAGMA synchronous`).Scan(&r); err != nil {
		t.Fatal(err)
	}
	if w != 1 || r != 1 { // 1 is NORMAL
		t.Fatalf("PRAGMA synchronous = %d (writer), %d (reader); want 1 (NORMAL) outside waited commits", w, r)
	}

	for _, k := range []string{"a", "b", "c"} {
		o.PutInFlight(k, logBatch(k), time.Now().Add(time.Hour))
	}
	o.PutAsync(Item{Key: "d", State: Ready, Batch: logBatch("d")})
	waitFor(t, func() bool { s, err := o.Stats(ctx); return err == nil && s.Pending == 3 && s.Ready == 1 })
	if n := o.DurableCommits(); n != 0 {
		t.Fatalf("%d fsynced commits for entries nobody waited on, want 0", n)
	}

	if err := o.Put(ctx, "a", Ready, logBatch("a")); err != nil {
		t.Fatal(err)
	}
	if n := o.DurableCommits(); n != 1 {
		t.Fatalf("%d fsynced commits after one Put, want 1", n)
	}
	es, err := o.ReadyBatch(ctx, 10)
	if err != nil || len(es) != 2 {
		t.Fatalf("ready %d, %v; want a and d", len(es), err)
	}
	if err := o.Delete(ctx, []int64{es[0].ID, es[1].ID}); err != nil {
		t.Fatal(err)
	}
	if n := o.DurableCommits(); n != 1 {
		t.Fatalf("%d fsynced commits after a delete, want still 1", n)
	}
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 2 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
