package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// BenchmarkIngest ingests batches of 2,000 rows (usage, request log and
// activity per request, as the outbox delivers them) into a fresh store
// file and reports rows/s: the store's side of the ingest target without
// the outbox in front.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "store.db"), time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const perBatch = 667
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for n := range b.N {
		var batch store.Batch
		for j := range perBatch {
			id := fmt.Sprintf("%06d_%04d", n, j)
			user := fmt.Sprintf("u_%03d", j%100)
			ts := at + int64(n*perBatch+j)
			batch.Usage = append(batch.Usage, store.Usage{GenerationID: "gen-" + id, RequestID: "req_" + id, UserID: user, Model: "openai/gpt-4o-mini",
				Provider: "OpenAI", PromptTokens: 120, CompletionTokens: 40, TotalTokens: 160, Cost: money.Nanos(42_000), CostStatus: store.CostReported,
				FinishReason: "stop", Timestamp: ts, ProcessingTime: 800, Stream: true})
			batch.RequestLogs = append(batch.RequestLogs, store.RequestLog{RequestID: "req_" + id, UserID: user, RequestType: "chat.completions",
				Method: "POST", Endpoint: "/v1/chat/completions", Model: "openai/gpt-4o-mini", GenerationID: "gen-" + id, Status: store.StatusSuccess,
				StatusCode: 200, RequestSize: 300, ResponseSize: 2000, ProcessingTime: 800, TimeToFirstToken: 200, Timestamp: ts})
			batch.Activity = append(batch.Activity, store.Activity{ActivityKey: "req_" + id, UserID: user, ActivityType: store.ActivityChatCompletion,
				Metadata: map[string]any{"model": "openai/gpt-4o-mini", "stream": true}, Timestamp: ts})
		}
		res, err := st.Ingest(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		if res.Inserted.Usage != perBatch || res.Inserted.RequestLogs != perBatch || res.Inserted.Activity != perBatch {
			b.Fatalf("inserted %+v", res.Inserted)
		}
	}
	rows := float64(3 * perBatch * b.N)
	b.ReportMetric(rows/time.Since(start).Seconds(), "rows/s")
	// On a shared machine wall time says more about the neighbours than
	// about the code; CPU time per row does not.
	b.ReportMetric(rows/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
