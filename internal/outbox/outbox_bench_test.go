package outbox_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/money"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
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
				if err := ob.Put(ctx, fmt.Sprintf("req_%012d", i), outbox.Ready, batch(i, start)); err != nil {
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

func batch(i int, at time.Time) store.Batch {
	id := fmt.Sprintf("%012d", i)
	user := fmt.Sprintf("u_%04d", i%100)
	ts := at.UnixMilli() + int64(i)
	return store.Batch{
		Usage: []store.Usage{{GenerationID: "gen-" + id, RequestID: "req_" + id, UserID: user, Model: "openai/gpt-4o-mini", Provider: "OpenAI",
			PromptTokens: 120, CompletionTokens: 40, TotalTokens: 160, Cost: money.Nanos(42_000), CostStatus: store.CostReported,
			FinishReason: "stop", Timestamp: ts, ProcessingTime: 800, Stream: true}},
		RequestLogs: []store.RequestLog{{RequestID: "req_" + id, UserID: user, RequestType: "chat.completions", Method: "POST",
			Endpoint: "/v1/chat/completions", Model: "openai/gpt-4o-mini", GenerationID: "gen-" + id, Status: store.StatusSuccess,
			StatusCode: 200, RequestSize: 300, ResponseSize: 2000, ProcessingTime: 800, TimeToFirstToken: 200, Timestamp: ts}},
		Activity: []store.Activity{{ActivityKey: "req_" + id, UserID: user, ActivityType: store.ActivityChatCompletion,
			Metadata: map[string]any{"model": "openai/gpt-4o-mini", "stream": true}, Timestamp: ts}},
	}
}
