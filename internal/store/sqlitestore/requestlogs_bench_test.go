package sqlitestore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"llmmeter/internal/bench"
	"llmmeter/internal/store/sqlitestore"
)

// BenchmarkRequestLogs reads llmmeter:requestLogs (a page of 50, as the
// Requests page asks) with each filter and search over $BENCH_EXPLORER_ROWS
// (default 10 million) request logs in a SQLite file (bench.GenLogStore,
// generated once and cached), and reports p50 and p95 per filter over up to
// 50 calls or 10 seconds each, first page and the page after it. Run it with
// -benchtime=1x (make bench-explorer). Issue 16's budget is 300 ms.
func BenchmarkRequestLogs(b *testing.B) {
	ctx := context.Background()
	rows := bench.RowsFromEnv("BENCH_EXPLORER_ROWS", 10_000_000)
	path, users, err := bench.GenLogStore(ctx, bench.CacheDir(), rows, b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlitestore.Open(ctx, path, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	mid := rows / 2
	week := window(7*24*time.Hour, nil)
	conv := bench.LogConversationID(mid / bench.LogConversation)
	cases := []struct {
		name string
		args map[string]any
	}{
		{"none", nil},
		{"withUsage", map[string]any{"withUsage": true}},
		{"status", map[string]any{"status": "error"}},
		{"user", map[string]any{"userId": users[7]}},
		{"model", map[string]any{"modelSlug": bench.GenModels[3]}},
		{"user+model+status", map[string]any{"userId": users[7], "modelSlug": bench.GenModels[3], "status": "error"}},
		{"range7d", map[string]any{"from": week["from"], "to": week["to"]}},
		{"serviceKey", map[string]any{"apiKeyId": bench.LogKeyID(0)}},
		{"userKey", map[string]any{"apiKeyId": bench.LogKeyID(9)}},
		{"key+status", map[string]any{"apiKeyId": bench.LogKeyID(9), "status": "error"}},
		{"serviceKey+user(scan)", map[string]any{"apiKeyId": bench.LogKeyID(0), "userId": users[40]}},
		{"serviceKey+model+status(scan)", map[string]any{"apiKeyId": bench.LogKeyID(1), "modelSlug": bench.GenModels[5], "status": "error"}},
		{"conversation", map[string]any{"conversationId": conv}},
		{"conversation+status(scan)", map[string]any{"conversationId": conv, "status": "error"}},
		{"requestId", map[string]any{"requestId": bench.LogRequestID(mid)}},
		{"generationId", map[string]any{"generationId": bench.LogGenerationID(mid)}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			args := map[string]any{"paginationOpts": map[string]any{"numItems": 50, "cursor": nil}}
			for k, v := range c.args {
				args[k] = v
			}
			first, next := mustJSON(args), []byte(nil)
			var lat, lat2 []time.Duration
			for b.Loop() {
				lat, lat2 = lat[:0], lat2[:0]
				deadline := time.Now().Add(10 * time.Second)
				for i := 0; i < 50 && time.Now().Before(deadline); i++ {
					t0 := time.Now()
					v, err := st.Call(ctx, "query", "llmmeter:requestLogs", first, admin)
					lat = append(lat, time.Since(t0))
					if err != nil {
						b.Fatal(err)
					}
					if next == nil {
						p := v.(map[string]any)
						if done, _ := p["isDone"].(bool); !done {
							a2 := map[string]any{}
							for k, x := range args {
								a2[k] = x
							}
							a2["paginationOpts"] = map[string]any{"numItems": 50, "cursor": p["continueCursor"]}
							next = mustJSON(a2)
						} else {
							next = []byte{}
						}
					}
					if len(next) > 0 {
						t1 := time.Now()
						if _, err := st.Call(ctx, "query", "llmmeter:requestLogs", next, admin); err != nil {
							b.Fatal(err)
						}
						lat2 = append(lat2, time.Since(t1))
					}
				}
			}
			slices.Sort(lat)
			slices.Sort(lat2)
			b.ReportMetric(ms(pctl(lat, 50)), "p50-ms")
			b.ReportMetric(ms(pctl(lat, 95)), "p95-ms")
			b.ReportMetric(ms(pctl(lat2, 95)), "next-p95-ms")
		})
	}
}
