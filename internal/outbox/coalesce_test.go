package outbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestLastWriteOfAKeyStands: calls that queue their in-flight entry and at
// once their final one leave only the final entry, whether the two met in
// one commit group (where the first is not written) or not.
func TestLastWriteOfAKeyStands(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	ctx := context.Background()
	const calls = 200
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprint("req-", i)
			o.PutInFlight(key, logBatch(key+"-in-flight"), time.Now().Add(time.Hour))
			if err := o.Put(ctx, key, Ready, logBatch(key)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	ready, err := o.List(ctx, Ready, 2*calls, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(ready) != calls {
		t.Fatalf("%d ready entries, want %d", len(ready), calls)
	}
	for _, e := range ready {
		if got := e.Batch.RequestLogs[0].RequestID; got != e.Key || e.Attempts != 0 {
			t.Fatalf("entry %s holds %q (attempts %d), want its final rows", e.Key, got, e.Attempts)
		}
	}
	if pending, err := o.List(ctx, Pending, 10, time.Now().Add(2*time.Hour)); err != nil || len(pending) != 0 {
		t.Fatalf("%d in-flight entries left (%v), want none", len(pending), err)
	}
}

func TestLastWrites(t *testing.T) {
	row := func(keys ...string) putReq {
		r := putReq{}
		for _, k := range keys {
			r.rows = append(r.rows, putRow{key: k})
		}
		return r
	}
	if got := lastWrites([]putReq{row("a"), row("b", "c")}); got != nil {
		t.Fatalf("no key repeats: %v, want nil", got)
	}
	if got := lastWrites([]putReq{row("a")}); got != nil {
		t.Fatalf("one row: %v, want nil", got)
	}
	got := lastWrites([]putReq{row("a", "b"), row(), row("a"), row("c", "b")})
	want := map[string][2]int{"a": {2, 0}, "b": {3, 1}, "c": {3, 0}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("lastWrites = %v, want %v", got, want)
	}
}

// TestRewriteSupersedesAStalledEntry: on a full disk, the gateway's small
// rewrite of a call's rows (with the error it answered) replaces the
// stalled entry of the same key, so it needs only its own space: it
// commits while the big entry could not.
func TestRewriteSupersedesAStalledEntry(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	ctx := context.Background()
	if err := o.Put(ctx, "before", Ready, logBatch("before")); err != nil {
		t.Fatal(err)
	}
	limitPages(t, o, pageCount(t, o)+2)
	big := logBatch("full")
	big.RequestLogs[0].UserAgent = string(make([]byte, 64<<10))
	if err := o.Put(ctx, "full", Ready, big); !errors.Is(err, ErrUnwritable) {
		t.Fatalf("Put on a full disk: %v, want ErrUnwritable", err)
	}
	if err := o.Put(ctx, "full", Ready, logBatch("full-rewritten")); err != nil {
		t.Fatalf("the small rewrite: %v, want it committed", err)
	}
	if o.Stalled() != 0 || o.Writable() != nil {
		t.Fatalf("stalled %d, writable %v: want nothing left stalled", o.Stalled(), o.Writable())
	}
	got, err := o.List(ctx, Ready, 10, time.Now())
	if err != nil || len(got) != 2 || got[1].Batch.RequestLogs[0].RequestID != "full-rewritten" {
		t.Fatalf("entries %+v, %v: want before and the rewrite", got, err)
	}
}
