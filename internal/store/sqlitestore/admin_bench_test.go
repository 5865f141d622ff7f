package sqlitestore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"llmmeter/internal/bench"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// BenchmarkAdminFunctions calls every admin function on a store of
// $BENCH_ADMIN_ROWS (default 10 million) usage rows, generated once and
// cached (see bench.GenStore), and reports p50 and p95 per function over
// up to 50 calls or 10 seconds each. Run it with -benchtime=1x.
func BenchmarkAdminFunctions(b *testing.B) {
	ctx := context.Background()
	rows := bench.RowsFromEnv("BENCH_ADMIN_ROWS", 10_000_000)
	path, err := bench.GenStore(ctx, bench.CacheDir(), rows, b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlitestore.Open(ctx, path, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	// A few documents for the functions that read them (idempotent: keyed
	// by condition, kind and period).
	al, _, err := st.OpenAlert(ctx, store.Alert{ConditionKey: "bench:spend", AlertType: "spend_spike", Severity: "warning", Message: "bench", CreatedAt: bench.GenEnd.UnixMilli()})
	if err != nil {
		b.Fatal(err)
	}
	alertID := al.ID
	st.RecordRun(ctx, store.Run{Job: "rollup", StartedAt: bench.GenEnd.UnixMilli(), EndedAt: bench.GenEnd.UnixMilli() + 1000, Outcome: "success", Counts: store.RunCounts{"rawRows": 1}})
	st.StoreReport(ctx, store.Report{Kind: "daily", PeriodKey: "2025-12-31", Body: map[string]any{"bench": true}, CSV: "a,b\n", CreatedAt: bench.GenEnd.UnixMilli()})
	reportID := ""
	if v, err := st.Call(ctx, "query", "llmmeter:reports", mustJSON(map[string]any{"limit": 1}), admin); err == nil {
		reportID = firstID(v)
	}
	page := map[string]any{"numItems": 50, "cursor": nil}
	var uid string
	if v, err := st.Call(ctx, "query", "llmmeter:topUsers", mustJSON(window(30*24*time.Hour, map[string]any{"by": "cost", "limit": 1})), admin); err == nil {
		uid = firstUserID(v)
	}
	// The listed users of the Users page (at most 100) for llmmeter:userMonthCosts.
	var listed []string
	if v, err := st.Call(ctx, "query", "llmmeter:topUsers", mustJSON(window(30*24*time.Hour, map[string]any{"by": "cost", "limit": 100})), admin); err == nil {
		listed = userIDs(v)
	}
	day, month := window(24*time.Hour, nil), window(30*24*time.Hour, nil)
	// The generated data's last calendar month (December 2025), as the range picker's "this month" asks.
	calMonth := map[string]any{"from": bench.GenEnd.AddDate(0, -1, 0).UnixMilli(), "to": bench.GenEnd.UnixMilli()}
	last := bench.GenEnd.UnixMilli() - 1
	calls := []struct {
		name, kind string
		args       map[string]any
	}{
		{"overview/24h", "query", day},
		{"overview/30d", "query", month},
		{"usageSeries/24h", "query", window(24*time.Hour, map[string]any{"period": "hourly"})},
		{"usageSeries/30d", "query", window(30*24*time.Hour, map[string]any{"period": "daily"})},
		{"topUsers/30d", "query", window(30*24*time.Hour, map[string]any{"by": "cost", "limit": 10})},
		{"userDetail/30d", "query", window(30*24*time.Hour, map[string]any{"userId": uid})},
		{"modelStats/30d", "query", month},
		// What the other pages load (issue 16: data for every page under 300 ms at 10M rows).
		{"overview/7d", "query", window(7*24*time.Hour, nil)},
		{"overview/month", "query", calMonth},
		{"topUsers/month", "query", withArgs(calMonth, map[string]any{"by": "cost", "limit": 50})},
		{"userMonthCosts/100", "query", map[string]any{"month": "2025-12", "userIds": listed}},
		{"userModels/30d", "query", window(30*24*time.Hour, map[string]any{"userId": uid})},
		{"userStatement/month", "query", map[string]any{"userId": uid, "month": "2025-12"}},
		{"usageSeries/30d-user", "query", window(30*24*time.Hour, map[string]any{"period": "daily", "userId": uid})},
		{"usageSeries/30d-model", "query", window(30*24*time.Hour, map[string]any{"period": "daily", "modelSlug": bench.GenModels[3]})},
		{"errorSummary/24h", "query", day},
		{"errorSummary/30d", "query", month},
		{"periodOverPeriod/weekly", "query", map[string]any{"period": "weekly", "at": last}},
		{"periodOverPeriod/monthly", "query", map[string]any{"period": "monthly", "at": last}},
		{"periodOverPeriod/monthly-user", "query", map[string]any{"period": "monthly", "at": last, "userId": uid}},
		{"openAlertCount", "query", map[string]any{}},
		{"settings", "query", map[string]any{}},
		{"requestLogs/first", "query", map[string]any{"paginationOpts": page}},
		{"requestLogs/user+status", "query", map[string]any{"paginationOpts": page, "userId": uid, "status": "error"}},
		{"alerts", "query", map[string]any{"status": "open"}},
		{"quotas", "query", map[string]any{}},
		{"reports", "query", map[string]any{"limit": 20}},
		{"report", "query", map[string]any{"reportId": reportID}},
		{"forecast", "query", map[string]any{}},
		{"jobRuns", "query", map[string]any{"limit": 20}},
		{"setQuota", "mutation", map[string]any{"userId": uid, "quotaType": "daily_requests", "limit": 1e9}},
		{"markAlertRead", "mutation", map[string]any{"alertId": alertID}},
		{"resolveAlert", "mutation", map[string]any{"alertId": alertID}},
	}
	for _, c := range calls {
		b.Run(c.name, func(b *testing.B) {
			fn := "llmmeter:" + c.name
			if i := indexByte(c.name, '/'); i >= 0 {
				fn = "llmmeter:" + c.name[:i]
			}
			raw := mustJSON(c.args)
			var lat []time.Duration
			fails := 0
			for b.Loop() {
				lat = lat[:0]
				deadline := time.Now().Add(10 * time.Second)
				for i := 0; i < 50 && time.Now().Before(deadline); i++ {
					t0 := time.Now()
					_, err := st.Call(ctx, c.kind, fn, raw, admin)
					lat = append(lat, time.Since(t0))
					if err != nil {
						fails++
						if fails == 1 {
							b.Logf("%s: %v", fn, err)
						}
					}
				}
			}
			slices.Sort(lat)
			b.ReportMetric(ms(pctl(lat, 50)), "p50-ms")
			b.ReportMetric(ms(pctl(lat, 95)), "p95-ms")
			b.ReportMetric(float64(fails), "errors")
		})
	}
}

var admin = store.Caller{Authenticated: true, UserID: "bench-admin", IsAdmin: true}

// window is {from, to} of span ending at the generated data's end.
func window(span time.Duration, extra map[string]any) map[string]any {
	m := map[string]any{"from": bench.GenEnd.Add(-span).UnixMilli(), "to": bench.GenEnd.UnixMilli()}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func firstUserID(v any) string {
	b, _ := json.Marshal(v)
	var out struct {
		Users []struct {
			UserID string `json:"userId"`
		} `json:"users"`
	}
	var list []struct {
		UserID string `json:"userId"`
	}
	if json.Unmarshal(b, &out) == nil && len(out.Users) > 0 {
		return out.Users[0].UserID
	}
	if json.Unmarshal(b, &list) == nil && len(list) > 0 {
		return list[0].UserID
	}
	return fmt.Sprint("u_unknown")
}

// userIDs are the userId fields of a list result, in order.
func userIDs(v any) []string {
	b, _ := json.Marshal(v)
	var list []struct {
		UserID string `json:"userId"`
	}
	json.Unmarshal(b, &list)
	out := make([]string, len(list))
	for i, u := range list {
		out[i] = u.UserID
	}
	return out
}

// withArgs is a copy of a with extra's fields added.
func withArgs(a, extra map[string]any) map[string]any {
	m := map[string]any{}
	for _, x := range []map[string]any{a, extra} {
		for k, v := range x {
			m[k] = v
		}
	}
	return m
}

// firstID is the _id (or id) of the first document of a list result.
func firstID(v any) string {
	b, _ := json.Marshal(v)
	var list []map[string]any
	if json.Unmarshal(b, &list) != nil || len(list) == 0 {
		var page struct{ Page []map[string]any }
		if json.Unmarshal(b, &page) != nil || len(page.Page) == 0 {
			return ""
		}
		list = page.Page
	}
	for _, k := range []string{"_id", "id"} {
		if s, ok := list[0][k].(string); ok {
			return s
		}
	}
	return ""
}

func indexByte(s string, c byte) int {
	for i := range len(s) {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func pctl(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(p/100*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
