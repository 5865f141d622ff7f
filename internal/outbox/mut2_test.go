package outbox

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestQueuedPutsShareCommitsOfAtMost512: Puts that queue while a commit is
// under way are committed together, sharing one fsync, in groups of at most
// 512 callers. The writer's only connection is held so that 513 Puts queue
// behind an in-flight entry's commit: they take exactly two fsynced commits
// (512, then 1), not one each and not one for all.
func TestQueuedPutsShareCommitsOfAtMost512(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	ctx := context.Background()
	conn, err := o.db.W.Conn(ctx) // the writer's only connection: commits wait for it
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close() // should the test fail early: Close waits for the committer
	o.PutInFlight("first", logBatch("first"), time.Now())
	// Past its gathering: the committer waits for the connection.
	waitUntil(t, "the committer to wait for the writer", func() bool { return o.db.W.Stats().WaitCount > 0 })
	const n = 513
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- o.Put(ctx, fmt.Sprint("k", i), Ready, logBatch(fmt.Sprint("k", i)))
		}()
	}
	waitUntil(t, "every Put to queue", func() bool { return len(o.puts) == n })
	conn.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := o.DurableCommits(); got != 2 {
		t.Fatalf("%d fsynced commits for %d queued Puts, want 2 (512 + 1)", got, n)
	}
	if st, err := o.Stats(ctx); err != nil || st.Ready != n || st.Pending != 1 {
		t.Fatalf("stats %+v, %v; want %d ready and the in-flight entry", st, err, n)
	}
}

// TestFinishNudgesOnlyWhenStalled: Finish pushes the committer only while
// entries are stalled in memory; an outbox that commits fine is drained
// without an extra fsynced commit.
func TestFinishNudgesOnlyWhenStalled(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	ctx := context.Background()
	if err := o.Put(ctx, "r", Ready, logBatch("r")); err != nil {
		t.Fatal(err)
	}
	before := o.DurableCommits()
	sink := &fakeSink{}
	d := &Delivery{Outbox: o, Sink: sink, Log: zerolog.Nop(), MinBackoff: 10 * time.Millisecond}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	left, err := d.Finish(fctx)
	if err != nil || left != (Stats{}) || sink.got["r"] != 1 {
		t.Fatalf("left %+v, %v, delivered %v; want r delivered and nothing left", left, err, sink.got)
	}
	if got := o.DurableCommits(); got != before {
		t.Fatalf("%d fsynced commits during Finish, want none", got-before)
	}
}

// TestFinishReportsAnUnreadablePendingEntry: a pending entry Finish cannot
// read (its stored rows do not decode) is an error Finish returns while
// its context is alive, not an entry "left" for the next start.
func TestFinishReportsAnUnreadablePendingEntry(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	ctx := context.Background()
	if err := o.Put(ctx, "p", Pending, logBatch("p")); err != nil {
		t.Fatal(err)
	}
	if _, err := o.db.W.Exec(`UPDATE outbox SET body = 'not json' WHERE key = 'p'`); err != nil {
		t.Fatal(err)
	}
	d := &Delivery{Outbox: o, Sink: &fakeSink{}, Resolver: failingResolver{}, Log: zerolog.Nop(), MinBackoff: 10 * time.Millisecond}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	left, err := d.Finish(fctx)
	if err == nil || fctx.Err() != nil {
		t.Fatalf("Finish = %+v, %v (context ended: %v); want the decode error at once", left, err, fctx.Err())
	}
}
