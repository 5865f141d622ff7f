package outbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/store"
)

func openAt(t *testing.T, file string) *Outbox {
	t.Helper()
	o, err := Open(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func logBatch(key string) store.Batch {
	return store.Batch{RequestLogs: []store.RequestLog{{RequestID: key, RequestType: "t", Method: "POST", Endpoint: "/", Status: "success", StatusCode: 200}}}
}

// fakeSink records what it was given and can be told to fail.
type fakeSink struct {
	mu      sync.Mutex
	got     map[string]int
	calls   int
	failFor int                    // fail this many calls with a transient error
	poison  func(store.Batch) bool // refuse such batches as invalid
}

func (f *fakeSink) Ingest(_ context.Context, b store.Batch) (store.IngestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failFor > 0 {
		f.failFor--
		return store.IngestResult{}, errors.New("store unreachable")
	}
	if f.poison != nil && f.poison(b) {
		return store.IngestResult{}, fmt.Errorf("%w: bad row", store.ErrInvalid)
	}
	if f.got == nil {
		f.got = map[string]int{}
	}
	for _, l := range b.RequestLogs {
		f.got[l.RequestID]++
	}
	return store.IngestResult{}, nil
}

func TestPutIsDurableAcrossReopen(t *testing.T) {
	file := filepath.Join(t.TempDir(), "o.db")
	o := openAt(t, file)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := o.Put(ctx, fmt.Sprint("k", i), Ready, logBatch(fmt.Sprint("k", i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Replacing a key keeps one entry.
	if err := o.Put(ctx, "k0", Pending, logBatch("k0")); err != nil {
		t.Fatal(err)
	}
	o.Close()
	o = openAt(t, file)
	defer o.Close()
	st, err := o.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Ready != 199 || st.Pending != 1 {
		t.Fatalf("stats after reopen: %+v", st)
	}
}

func TestDeliveryShipsEachEntryOnceDespiteFailures(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	ctx := context.Background()
	for i := range 50 {
		o.Put(ctx, fmt.Sprint("k", i), Ready, logBatch(fmt.Sprint("k", i)))
	}
	sink := &fakeSink{failFor: 2}
	d := &Delivery{Outbox: o, Sink: sink, Log: zerolog.Nop(), MaxBatchRows: 20}
	// Two transient failures: Drain reports them and keeps every entry.
	for range 2 {
		if err := d.Drain(ctx); err == nil {
			t.Fatal("want a transient error")
		}
	}
	if err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 50 {
		t.Fatalf("delivered %d keys", len(sink.got))
	}
	for k, n := range sink.got {
		if n != 1 {
			t.Fatalf("%s delivered %d times", k, n)
		}
	}
	if st, _ := o.Stats(ctx); st.Ready != 0 {
		t.Fatalf("left %+v", st)
	}
}

func TestPoisonEntryIsSetAside(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	ctx := context.Background()
	for i := range 5 {
		o.Put(ctx, fmt.Sprint("k", i), Ready, logBatch(fmt.Sprint("k", i)))
	}
	sink := &fakeSink{poison: func(b store.Batch) bool {
		for _, l := range b.RequestLogs {
			if l.RequestID == "k2" {
				return true
			}
		}
		return false
	}}
	d := &Delivery{Outbox: o, Sink: sink, Log: zerolog.Nop()}
	if err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 4 || sink.got["k2"] != 0 {
		t.Fatalf("delivered %v", sink.got)
	}
	st, _ := o.Stats(ctx)
	if st.Dead != 1 || st.Ready != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// resolveAfter resolves an entry once it has been tried n times.
type resolveAfter struct{ n int }

func (r resolveAfter) Resolve(_ context.Context, e Entry) (store.Batch, error) {
	if e.Attempts < r.n {
		return store.Batch{}, errors.New("not yet")
	}
	return e.Batch, nil
}

func TestRunResolvesPendingThenShips(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	o.Put(ctx, "p1", Pending, logBatch("p1"))
	sink := &fakeSink{}
	d := &Delivery{Outbox: o, Sink: sink, Resolver: resolveAfter{2}, Log: zerolog.Nop(),
		ResolveEvery: 5 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(runCtx); close(done) }()
	for {
		sink.mu.Lock()
		n := sink.got["p1"]
		sink.mu.Unlock()
		if n == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("pending entry never delivered")
		case <-time.After(5 * time.Millisecond):
		}
	}
	// The sink counts the row before the entry is deleted: wait for the
	// delete rather than stopping the loop in between.
	for {
		st, _ := o.Stats(ctx)
		if st.Pending == 0 && st.Ready == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("left %+v", st)
		case <-time.After(5 * time.Millisecond):
		}
	}
	stop()
	<-done
}

// TestBadRowsAreBisectedOut: a batch the store refuses as invalid is split
// until the bad entries stand alone; they are set aside as dead with the
// store's reason and every other entry is delivered, in far fewer calls
// than one per entry (before, each entry of the batch was retried alone).
func TestBadRowsAreBisectedOut(t *testing.T) {
	cases := []struct {
		name     string
		entries  int
		bad      []string
		maxCalls int // the first call, plus a bisection per bad entry
	}{
		// One bad row in a full batch: ~2·log2(n) calls, not n.
		{"one bad row", 1000, []string{"k417"}, 1 + 2*10},
		// Two bad rows, at the edges.
		{"two bad rows", 1000, []string{"k0", "k999"}, 1 + 2*2*10},
		// Every row bad: each ends dead, no call is wasted on good rows.
		{"all bad", 8, []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"}, 15},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
			defer o.Close()
			ctx := context.Background()
			for i := range c.entries {
				if err := o.Put(ctx, fmt.Sprint("k", i), Ready, logBatch(fmt.Sprint("k", i))); err != nil {
					t.Fatal(err)
				}
			}
			bad := map[string]bool{}
			for _, k := range c.bad {
				bad[k] = true
			}
			sink := &fakeSink{poison: func(b store.Batch) bool {
				for _, l := range b.RequestLogs {
					if bad[l.RequestID] {
						return true
					}
				}
				return false
			}}
			d := &Delivery{Outbox: o, Sink: sink, Log: zerolog.Nop(), MaxBatchRows: c.entries}
			if err := d.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if len(sink.got) != c.entries-len(c.bad) || sink.calls > c.maxCalls {
				t.Fatalf("delivered %d of %d good entries in %d calls (at most %d)", len(sink.got), c.entries-len(c.bad), sink.calls, c.maxCalls)
			}
			for k := range bad {
				if sink.got[k] != 0 {
					t.Fatalf("bad entry %s delivered", k)
				}
			}
			dead, err := o.List(ctx, Dead, 100, time.Now())
			if err != nil || len(dead) != len(c.bad) {
				t.Fatalf("dead %d, err %v", len(dead), err)
			}
			for _, e := range dead {
				if !bad[e.Key] || !strings.Contains(e.LastError, "bad row") {
					t.Fatalf("dead entry %s with reason %q", e.Key, e.LastError)
				}
			}
		})
	}
}

// TestShipAllOverlapsBatchesOnce: shipAll reads batch n+1 while batch n is
// ingested and deletes batch n−1 meanwhile; across many small batches every
// entry still reaches the store exactly once, in id order, and the outbox
// ends empty.
func TestShipAllOverlapsBatchesOnce(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	ctx := context.Background()
	const n = 500
	for i := range n {
		if err := o.Put(ctx, fmt.Sprintf("k%03d", i), Ready, logBatch(fmt.Sprintf("k%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var order []string
	sink := &fakeSink{poison: func(b store.Batch) bool {
		for _, l := range b.RequestLogs {
			order = append(order, l.RequestID)
		}
		return false
	}}
	rows := 0
	d := &Delivery{Outbox: o, Sink: sink, Log: zerolog.Nop(), MaxBatchRows: 7, OnDelivered: func(r int) { rows += r }}
	d.defaults()
	settled, err := d.shipAll(ctx)
	if err != nil || settled != n || rows != n {
		t.Fatalf("settled %d, rows %d, %v; want %d", settled, rows, err, n)
	}
	for i, k := range order {
		if want := fmt.Sprintf("k%03d", i); k != want {
			t.Fatalf("delivery %d was %s, want %s (each once, oldest first)", i, k, want)
		}
	}
	if len(order) != n || sink.calls != (n+6)/7 {
		t.Fatalf("%d deliveries in %d calls; want %d in %d", len(order), sink.calls, n, (n+6)/7)
	}
	if st, err := o.Stats(ctx); err != nil || st.Ready != 0 || o.Depth() != 0 {
		t.Fatalf("left %+v, depth %d, %v", st, o.Depth(), err)
	}
}
