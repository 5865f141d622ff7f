package jobs_test

import (
	"testing"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/store"
	"llmmeter/jobs"
)

// A confirmation moves the period summaries with the aggregates, on both
// engines: modelStats and topUsers after it equal what a rebuild of the
// period from the confirmed rows gives, and differ from before it.
func TestConfirmMovesSummaries(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		uid := users(t, e, "dora")[0]
		g := &gen{n: 30_000}
		day := time.Date(2027, 8, 3, 0, 0, 0, 0, e.loc)
		var b store.Batch
		for i := range 2 {
			u, l := g.request(day.Add(time.Duration(10+i)*time.Hour), uid, "m/a", true, 100)
			u.CostStatus = store.CostEstimated
			b.Usage, b.RequestLogs = append(b.Usage, u), append(b.RequestLogs, l)
		}
		e.ingest(t, b)
		foldAll(t, e.st, e)
		from, to := day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli()
		reads := func() string {
			return string(e.admin(t, "query", "llmmeter:modelStats", map[string]any{"from": from, "to": to})) +
				string(e.admin(t, "query", "llmmeter:topUsers", map[string]any{"from": from, "to": to, "by": "cost", "limit": 5}))
		}
		before := reads()
		c := jobs.UsageConfirmation{GenerationID: b.Usage[0].GenerationID, PromptTokens: 900, CompletionTokens: 334, TotalTokens: 1234, CostNanoUsd: 7_654_321}
		if ok, err := e.st.ConfirmUsage(ctx, c); !ok || err != nil {
			t.Fatalf("confirm: %v %v", ok, err)
		}
		after := reads()
		if after == before {
			t.Fatal("the confirmation did not move modelStats/topUsers")
		}
		if _, err := (&jobs.Rebuild{Store: e.st, Cal: e.cal}).Recompute(ctx, periods.Daily, from, to); err != nil {
			t.Fatal(err)
		}
		if rebuilt := reads(); rebuilt != after {
			t.Fatalf("after the confirmation:\n%s\nrebuilt from rows:\n%s", after, rebuilt)
		}
	})
}
