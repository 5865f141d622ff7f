package outbox_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/bench"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store/sqlitestore"
)

// BenchmarkOutboxToStore puts b.N requests' rows (usage, request log and
// activity: three rows each, as the gateway does) from 64 concurrent
// writers, while a Delivery ships them into the embedded store, and
// reports rows per second from the first Put until the store holds them
// all. Run it with e.g. -benchtime=20000x.
func BenchmarkOutboxToStore(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "store.db"), time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ob, err := outbox.Open(ctx, filepath.Join(dir, "outbox.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer ob.Close()
	d := &outbox.Delivery{Outbox: ob, Sink: st, Log: zerolog.Nop()}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); d.Run(runCtx) }()
	n := b.N
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	const writers = 64
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				if err := ob.Put(ctx, fmt.Sprintf("req_%012d", i), outbox.Ready, bench.CallRows(i, start)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if s, err := ob.Stats(ctx); err == nil && s.Ready == 0 {
			break
		}
	}
	took := time.Since(start)
	b.StopTimer()
	stop()
	<-done
	if s, _ := ob.Stats(ctx); s.Ready != 0 {
		b.Fatalf("%d entries not delivered", s.Ready)
	}
	b.ReportMetric(float64(3*n)/took.Seconds(), "rows/s")
}
