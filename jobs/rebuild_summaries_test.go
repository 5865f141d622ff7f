package jobs_test

import (
	"encoding/json"
	"testing"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
	"llmmeter/jobs"
)

// The rebuild recomputes a period's summary too: summaries wiped to empty
// (the admin reads then show no active user, no model, no top user) come
// back exactly as the fold had built them, on both engines; a replace at a
// stale fold version is refused.
func TestRebuildSummaries(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		ids := users(t, e, "ana", "bo", "cy")
		g := &gen{}
		day := time.Date(2027, 6, 9, 0, 0, 0, 0, e.loc)
		var all store.Batch
		for i := range 12 {
			u, l := g.request(day.Add(time.Duration(i)*97*time.Minute), ids[i%3], []string{"m/a", "m/b"}[i%2], i%4 != 0, int64(70*i+30))
			all.Usage, all.RequestLogs = append(all.Usage, u), append(all.RequestLogs, l)
		}
		e.ingest(t, all)
		foldAll(t, e.st, e)
		from, to := day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli()
		w := map[string]any{"from": from, "to": to}
		reads := func() (string, string, string) {
			return string(e.admin(t, "query", "llmmeter:overview", w)),
				string(e.admin(t, "query", "llmmeter:topUsers", map[string]any{"from": from, "to": to, "by": "cost", "limit": 10})),
				string(e.admin(t, "query", "llmmeter:modelStats", w))
		}
		o1, t1, m1 := reads()
		var ov struct {
			ActiveUsers      int  `json:"activeUsers"`
			ActiveUsersExact bool `json:"activeUsersExact"`
		}
		if err := json.Unmarshal([]byte(o1), &ov); err != nil || ov.ActiveUsers != 3 || !ov.ActiveUsersExact {
			t.Fatalf("overview %s: want 3 active users, exact (one stored day)", o1)
		}
		v, err := e.st.FoldVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d := e.cal.Of(periods.Daily, from)
		empty := &rollup.Summary{Period: periods.Daily, PeriodStart: d.Start, PeriodKey: d.Key, Models: []rollup.ModelEntry{}, TopUsers: []rollup.UserTotals{}}
		if err := e.st.ReplaceSummaries(ctx, []*rollup.Summary{empty}, v+1); err == nil {
			t.Fatal("a replace at a stale fold version was accepted")
		}
		if o, tu, m := reads(); o != o1 || tu != t1 || m != m1 {
			t.Fatal("a refused replace changed the reads")
		}
		if err := e.st.ReplaceSummaries(ctx, []*rollup.Summary{empty}, v); err != nil {
			t.Fatal(err)
		}
		if _, tu, m := reads(); tu != "[]" || m != "[]" {
			t.Fatalf("after wiping: topUsers %s, modelStats %s; want empty", tu, m)
		}
		counts, err := (&jobs.Rebuild{Store: e.st, Cal: e.cal}).Recompute(ctx, periods.Daily, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if counts["summaries"] != 1 {
			t.Fatalf("counts %v: want one summary rebuilt", counts)
		}
		if o, tu, m := reads(); o != o1 || tu != t1 || m != m1 {
			t.Fatalf("after the rebuild:\n%s\n%s\n%s\nwant\n%s\n%s\n%s", o, tu, m, o1, t1, m1)
		}
	})
}
