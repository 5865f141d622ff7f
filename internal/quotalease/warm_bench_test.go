package quotalease

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// BenchmarkWarmAdmitSlowStore is issue 15's "store 20 ms away" target for
// make bench: what the quota check adds to a call's time to first token
// once the user's lease is warm, with the store behind a link adding
// 20 ms each way, a user with request, token and cost quotas and the
// system budget. The engine is the embedded one; the Manager, and so
// the call path, is the same in Convex mode. Each call holds 1 ms for its
// time upstream. b.N calls are measured after a warm-up streak of 200
// calls that did not wait; it reports the admission p50 and p99 in µs and
// how many measured calls waited for the store.
func BenchmarkWarmAdmitSlowStore(b *testing.B) {
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "store.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	u, _, err := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "ann"})
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []struct {
		user, typ string
		limit     float64
	}{{u.ID, store.QuotaDailyRequests, 1e9}, {u.ID, store.QuotaMonthlyTokens, 1e12}, {u.ID, store.QuotaMonthlyCostUSD, 1e6}, {"", store.QuotaSystemMonthlyCostUSD, 1e6}} {
		args, _ := json.Marshal(quotaArgs(q.user, q.typ, q.limit))
		if _, err := s.Call(ctx, "mutation", "llmmeter:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
			b.Fatal(err)
		}
	}
	m := New(Options{Store: slowLink{s, 20 * time.Millisecond}})
	defer m.Close(ctx)
	est := store.Amounts{Requests: 1, Tokens: 600, Cost: 50_000}
	call := upstreamCall(b, m, u.ID, est)
	warmUp(b, m, call, 5000)
	before := m.Stats().Waited
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range lat {
		lat[i] = call(fmt.Sprint("hot-", i))
	}
	b.StopTimer()
	slices.Sort(lat)
	at := func(p int) float64 { return float64(lat[min(len(lat)-1, len(lat)*p/100)].Nanoseconds()) / 1e3 }
	b.ReportMetric(at(50), "p50-µs")
	b.ReportMetric(at(99), "p99-µs")
	b.ReportMetric(float64(m.Stats().Waited-before), "waited")
}
