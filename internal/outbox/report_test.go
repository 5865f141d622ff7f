package outbox

import (
	"context"
	"errors"
	"llmmeter/internal/logtest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/store"
)

// messages counts the log lines whose message is msg.
func messages(l *logtest.Buffer, msg string) int { return l.Count(`"message":"` + msg + `"`) }

// clocked opens an outbox whose clock the test moves.
func clocked(t *testing.T) (*Outbox, func(time.Duration)) {
	t.Helper()
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	t.Cleanup(func() { o.Close() })
	var now atomic.Int64
	now.Store(time.UnixMilli(1_700_000_000_000).UnixNano())
	o.now = func() time.Time { return time.Unix(0, now.Load()) }
	return o, func(d time.Duration) { now.Add(int64(d)) }
}

// TestBacklogWarning: "outbox backlog" is a warning about ready entries the
// store has not taken, or dead ones, at most once a minute. Pending entries
// wait for the generation record by design. Before the fix a pending entry
// older than five seconds logged the backlog every second.
func TestBacklogWarning(t *testing.T) {
	ctx := context.Background()
	o, advance := clocked(t)
	var log logtest.Buffer
	d := &Delivery{Outbox: o, Log: zerolog.New(&log)}
	warnings := func() int { return messages(&log, "outbox backlog") }

	if err := o.Put(ctx, "waiting", Pending, logBatch("waiting")); err != nil {
		t.Fatal(err)
	}
	advance(10 * time.Minute)
	d.report(ctx)
	if n := warnings(); n != 0 {
		t.Fatalf("%d warnings for a pending entry", n)
	}

	if err := o.Put(ctx, "stuck", Ready, logBatch("stuck")); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		after time.Duration
		want  int // warnings so far
	}{
		{4 * time.Second, 0},  // a ready entry younger than 5 s is the normal flow
		{2 * time.Second, 1},  // older: a backlog, warned
		{time.Second, 1},      // the next tick stays quiet ...
		{30 * time.Second, 1}, // ... for a minute
		{28 * time.Second, 1}, // 59 s after the first warning: still quiet
		{time.Second, 2},      // a minute after it: again
		{time.Second, 2},
	}
	for i, s := range steps {
		advance(s.after)
		d.report(ctx)
		if n := warnings(); n != s.want {
			t.Fatalf("step %d: %d warnings, want %d", i, n, s.want)
		}
	}
	if !strings.Contains(log.String(), `"level":"warn"`) || !strings.Contains(log.String(), `"oldest_ready_ms":`) {
		t.Fatalf("log %s", log.String())
	}
}

// TestBacklogWarningForDeadEntries: a dead entry waits for an operator; it
// is warned about even when nothing is ready.
func TestBacklogWarningForDeadEntries(t *testing.T) {
	ctx := context.Background()
	o, _ := clocked(t)
	var log logtest.Buffer
	d := &Delivery{Outbox: o, Log: zerolog.New(&log)}
	if err := o.Put(ctx, "bad", Ready, logBatch("bad")); err != nil {
		t.Fatal(err)
	}
	es, err := o.ReadyBatch(ctx, 10)
	if err != nil || len(es) != 1 {
		t.Fatal(es, err)
	}
	if err := o.Kill(ctx, es[0].ID, errors.New("invalid row")); err != nil {
		t.Fatal(err)
	}
	d.report(ctx)
	if n := messages(&log, "outbox backlog"); n != 1 || !strings.Contains(log.String(), `"dead":1`) {
		t.Fatalf("%d warnings: %s", n, log.String())
	}
}

// TestStatsOldestReady: the age of the oldest ready entry is reported apart
// from the pending ones.
func TestStatsOldestReady(t *testing.T) {
	ctx := context.Background()
	o, advance := clocked(t)
	o.Put(ctx, "p", Pending, logBatch("p"))
	advance(time.Minute)
	o.Put(ctx, "r", Ready, logBatch("r"))
	advance(3 * time.Second)
	st, err := o.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Ready != 1 || st.Pending != 1 || st.OldestReadyMs != 3000 || st.OldestMs != 63000 {
		t.Fatalf("%+v", st)
	}

	// A stream's final rows replace its in-flight entry: they are ready
	// from then on, however long the stream took (no false backlog).
	o.PutInFlight("long", logBatch("long"), time.Now().Add(time.Hour))
	advance(2 * time.Minute)
	if err := o.Put(ctx, "long", Ready, logBatch("long")); err != nil {
		t.Fatal(err)
	}
	advance(time.Second)
	if st, _ := o.Stats(ctx); st.Ready != 2 || st.OldestReadyMs != 124000 {
		t.Fatalf("%+v", st)
	}
	o.Delete(ctx, idsOf(t, o, "r"))
	if st, _ := o.Stats(ctx); st.Ready != 1 || st.OldestReadyMs != 1000 {
		t.Fatalf("a replaced in-flight entry counts as ready since %dms", st.OldestReadyMs)
	}
}

func idsOf(t *testing.T, o *Outbox, key string) []int64 {
	t.Helper()
	es, err := o.ReadyBatch(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, e := range es {
		if e.Key == key {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// TestPutAll stores every item in one commit, replacing entries by key, and
// wakes the delivery loop when one of them is ready.
func TestPutAll(t *testing.T) {
	ctx := context.Background()
	o, _ := clocked(t)
	o.PutInFlight("req", logBatch("req"), time.Now().Add(time.Hour))
	err := o.PutAll(ctx,
		Item{Key: "req", State: Ready, Batch: logBatch("req")},
		Item{Key: "req/usage", State: Pending, Batch: store.Batch{Usage: []store.Usage{{GenerationID: "g"}}}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-o.Notify():
	default:
		t.Fatal("no wake-up for a ready entry")
	}
	st, _ := o.Stats(ctx)
	if st.Ready != 1 || st.Pending != 1 {
		t.Fatalf("%+v: the in-flight entry was not replaced", st)
	}
	pending, _ := o.List(ctx, Pending, 10, time.Now())
	if len(pending) != 1 || pending[0].Key != "req/usage" || len(pending[0].Batch.Usage) != 1 {
		t.Fatalf("%+v", pending)
	}
	if err := o.PutAll(ctx); err != nil { // nothing to put is no error
		t.Fatal(err)
	}
}
