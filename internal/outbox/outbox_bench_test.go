package outbox_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
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
	var batches, delivered atomic.Int64
	d := &outbox.Delivery{Outbox: ob, Sink: st, Log: zerolog.Nop(), OnDelivered: func(rows int) { batches.Add(1); delivered.Add(int64(rows)) }}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); d.Run(runCtx) }()
	n := b.N
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
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
	took, cpu := time.Since(start), cpuTime()
	b.StopTimer()
	stop()
	<-done
	if s, _ := ob.Stats(ctx); s.Ready != 0 {
		b.Fatalf("%d entries not delivered", s.Ready)
	}
	b.ReportMetric(float64(3*n)/took.Seconds(), "rows/s")
	b.ReportMetric(float64(delivered.Load())/float64(max(1, batches.Load())), "rows/batch")
	// On a shared machine wall time says more about the neighbours than
	// about the code; the process's CPU time per row (the writers' Puts,
	// the outbox's commits and the store's ingest together) does not.
	b.ReportMetric(float64(3*n)/(cpu-cpu0).Seconds(), "rows/cpu-s")
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
