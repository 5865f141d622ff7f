package outbox_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"llmmeter/internal/bench"
	"llmmeter/internal/outbox"
)

// BenchmarkPutDurable measures what a call waits at its end for its rows
// to be durable (Put returns once the group holding them is committed and
// fsynced): one writer at a time (every commit its own fsync) and 64
// together (calls ending together share one commit and one fsync).
func BenchmarkPutDurable(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			ctx := context.Background()
			ob, err := outbox.Open(ctx, filepath.Join(b.TempDir(), "outbox.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer ob.Close()
			start := time.Now()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < b.N; i += writers {
						if err := ob.Put(ctx, fmt.Sprintf("req_%012d", i), outbox.Ready, bench.CallRows(i, start)); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "puts/s")
		})
	}
}
