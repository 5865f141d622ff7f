package outbox

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/store"
)

// lastChanceResolver answers only once it is told it is the last chance,
// as a generation record that never appears; it notes what it saw.
type lastChanceResolver struct {
	mu   sync.Mutex
	seen []bool
}

func (r *lastChanceResolver) Resolve(_ context.Context, e Entry) (store.Batch, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, e.LastChance)
	if !e.LastChance {
		return store.Batch{}, errors.New("generation record not there yet")
	}
	return e.Batch, nil
}

// TestFinishResolvesInFlightAndShipsAll: at shutdown, Finish resolves
// every pending entry, in-flight ones too (their lease is ignored: their
// requests have ended), settling for an estimate only in its last third,
// and ships everything before returning an empty outbox.
func TestFinishResolvesInFlightAndShipsAll(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	ctx := context.Background()
	o.PutInFlight("cut", logBatch("cut"), time.Now().Add(time.Hour))
	if err := o.Put(ctx, "done", Ready, logBatch("done")); err != nil {
		t.Fatal(err)
	}
	sink, res := &fakeSink{}, &lastChanceResolver{}
	d := &Delivery{Outbox: o, Sink: sink, Resolver: res, Log: zerolog.Nop(), MinBackoff: 10 * time.Millisecond}
	fctx, cancel := context.WithTimeout(ctx, 3*time.Second) // the last chance comes at 2 s
	defer cancel()
	left, err := d.Finish(fctx)
	if err != nil || left.Ready+left.Pending != 0 {
		t.Fatalf("left %+v, %v", left, err)
	}
	if sink.got["cut"] != 1 || sink.got["done"] != 1 {
		t.Fatalf("delivered %v, want cut and done once each", sink.got)
	}
	if len(res.seen) < 2 || res.seen[0] || !res.seen[len(res.seen)-1] {
		t.Fatalf("resolver saw last-chance flags %v: want tries first, the last chance at the end", res.seen)
	}
}

// TestFinishReportsWhatIsLeft: with the store down, Finish gives up when
// its context ends and says how many entries stay for the next start.
func TestFinishReportsWhatIsLeft(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	ctx := context.Background()
	for _, k := range []string{"a", "b"} {
		if err := o.Put(ctx, k, Ready, logBatch(k)); err != nil {
			t.Fatal(err)
		}
	}
	d := &Delivery{Outbox: o, Sink: &fakeSink{failFor: 1 << 30}, Log: zerolog.Nop(), MinBackoff: 10 * time.Millisecond}
	fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	left, _ := d.Finish(fctx)
	if left.Ready != 2 {
		t.Fatalf("left %+v, want the 2 ready entries", left)
	}
}
