package outbox

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/store"
)

// TestShipAllLingersOnlyOverASmallBatch: shipAll waits Linger to gather
// more entries only when the batch it read during an ingest holds less than
// half of MaxBatchRows; a full batch, a batch of exactly half, and the end
// of the outbox are shipped (or finished) at once. With a Linger of an hour
// any wait shows as the context's deadline, 30 s away.
func TestShipAllLingersOnlyOverASmallBatch(t *testing.T) {
	o := openAt(t, filepath.Join(t.TempDir(), "o.db"))
	defer o.Close()
	ctx := context.Background()
	// Three entries of 4 rows under MaxBatchRows 8: a full batch of two
	// entries, then one of exactly half, then nothing.
	for i := range 3 {
		var b store.Batch
		for j := range 4 {
			b.Append(logBatch(fmt.Sprint("k", i, "-", j)))
		}
		if err := o.Put(ctx, fmt.Sprint("k", i), Ready, b); err != nil {
			t.Fatal(err)
		}
	}
	sink := &fakeSink{}
	d := &Delivery{Outbox: o, Sink: sink, Log: zerolog.Nop(), MaxBatchRows: 8, Linger: time.Hour}
	d.defaults()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	settled, err := d.shipAll(sctx)
	if err != nil || settled != 3 || sink.calls != 2 || len(sink.got) != 12 {
		t.Fatalf("settled %d in %d calls, %d rows delivered, %v; want 3 entries in 2 calls, 12 rows, no wait", settled, sink.calls, len(sink.got), err)
	}
	if st, err := o.Stats(ctx); err != nil || st.Ready != 0 {
		t.Fatalf("left %+v, %v", st, err)
	}
}
