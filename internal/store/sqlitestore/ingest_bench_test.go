package sqlitestore_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"llmmeter/internal/bench"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// BenchmarkIngest ingests batches of 2,000 rows (usage, request log and
// activity per request, as the outbox delivers them) into a fresh store
// file and reports rows/s: the store's side of the ingest target without
// the outbox in front.
func BenchmarkIngest(b *testing.B) {
	// A context that can end, as the delivery's does.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "store.db"), time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const perBatch = 667
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for n := range b.N {
		var batch store.Batch
		for j := range perBatch {
			batch.Append(bench.CallRows(n*perBatch+j, at))
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
