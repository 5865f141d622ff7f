package outbox

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestDeliveryFollowsTheOutboxClock (issue 11 §10): the resolve loop asks
// which pending entries are due, and schedules a failed one's next attempt,
// by the outbox's clock, not by time.Now. The clock runs a day ahead, so
// an entry due by it is not due by the wall clock: before the fix it was
// never resolved, and its retry was scheduled a day in the clock's past.
func TestDeliveryFollowsTheOutboxClock(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	o.now = func() time.Time { return time.Now().Add(24 * time.Hour) }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o.PutInFlight("p1", logBatch("p1"), o.now().Add(-time.Minute))
	d := &Delivery{Outbox: o, Sink: &fakeSink{}, Resolver: resolveAfter{1 << 30}, Log: zerolog.Nop(),
		ResolveEvery: 5 * time.Millisecond, MinBackoff: time.Hour, MaxBackoff: time.Hour}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	farFuture := time.Now().Add(1000 * time.Hour)
	for {
		es, err := o.List(ctx, Pending, 10, farFuture)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 1 && es[0].Attempts >= 1 {
			// The retry is at least half an hour after the clock's now.
			if min := o.now().Add(29 * time.Minute).UnixMilli(); es[0].NextAttemptAt < min {
				t.Fatalf("next attempt at %d, before the clock's now + 29m (%d)", es[0].NextAttemptAt, min)
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pending entry due by the outbox clock was never resolved: %+v", es)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestDeleteCountsOnlyWhatItRemoved (issue 11 §10): a failed delete leaves
// the depth counter alone, and deleting an entry twice counts it once.
// Before the fix the counter went down by len(ids) whatever happened.
func TestDeleteCountsOnlyWhatItRemoved(t *testing.T) {
	ctx := context.Background()
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	for _, k := range []string{"a", "b", "c"} {
		if err := o.Put(ctx, k, Ready, logBatch(k)); err != nil {
			t.Fatal(err)
		}
	}
	es, err := o.ReadyBatch(ctx, 10)
	if err != nil || len(es) != 3 || o.Depth() != 3 {
		t.Fatalf("entries %d depth %d err %v", len(es), o.Depth(), err)
	}
	// Deleted twice: counted once.
	for range 2 {
		if err := o.Delete(ctx, []int64{es[0].ID}); err != nil {
			t.Fatal(err)
		}
	}
	if o.Depth() != 2 {
		t.Fatalf("depth %d after deleting one entry twice, want 2", o.Depth())
	}
	// The database is gone: the delete fails and the count stays.
	o.Close()
	if err := o.Delete(ctx, []int64{es[1].ID, es[2].ID}); err == nil {
		t.Fatal("delete on a closed outbox succeeded")
	}
	if o.Depth() != 2 {
		t.Fatalf("depth %d after a failed delete, want 2", o.Depth())
	}
}
