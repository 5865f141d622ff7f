package jobs_test

import (
	"context"
	"testing"
	"time"

	"llmmeter/internal/bench"
	"llmmeter/internal/periods"
	"llmmeter/internal/store/sqlitestore"
	"llmmeter/jobs"
)

// BenchmarkRollupRecompute runs the rebuild over every hourly, daily,
// weekly and monthly period of a generated store of 1 million and 10
// million usage rows (plus request logs for the latest million calls; see
// bench.GenStore) and reports raw rows per second and the run's seconds.
// The rebuild rewrites the aggregates the generator wrote with the same
// values, so it runs on the cached file itself. Run it with -benchtime=1x.
func BenchmarkRollupRecompute(b *testing.B) {
	ctx := context.Background()
	sizes := []int{1_000_000}
	if n := bench.RowsFromEnv("BENCH_ROLLUP_ROWS", 10_000_000); n != 1_000_000 {
		sizes = append(sizes, n)
	}
	for _, rows := range sizes {
		b.Run(label(rows), func(b *testing.B) {
			path, err := bench.GenStore(ctx, bench.CacheDir(), rows, b.Logf)
			if err != nil {
				b.Fatal(err)
			}
			st, err := sqlitestore.Open(ctx, path, time.UTC)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			r := &jobs.Rebuild{Store: st, Cal: periods.For(time.UTC)}
			// Every period that ends within the data's span (plus a month).
			w := jobs.Window{From: bench.GenEnd.Add(-bench.GenSpan - 32*24*time.Hour), To: bench.GenEnd.Add(32 * 24 * time.Hour)}
			var raw int64
			var took time.Duration
			for b.Loop() {
				t0 := time.Now()
				counts, err := r.Window(ctx, w.From.UnixMilli(), w.To.UnixMilli())
				took = time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				raw = counts["rawRows"]
				b.Logf("counts %v", counts)
			}
			b.ReportMetric(float64(raw)/took.Seconds(), "rows/s")
			b.ReportMetric(took.Seconds(), "s")
			b.ReportMetric(float64(raw), "raw-rows")
		})
	}
}

func label(n int) string {
	if n%1_000_000 == 0 {
		return "rows=" + itoa(n/1_000_000) + "M"
	}
	return "rows=" + itoa(n)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
