package jobs_test

import (
	"testing"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
	"llmmeter/jobs"
)

// TestConfirmKeepsQuotasInStep (issue 11 §8): after the backfill confirms
// estimated rows, Σ rows = quota used = aggregates again, for a token and
// a cost quota, on both engines. Before the fix the embedded engine moved
// only the aggregates: the quota kept the estimate.
func TestConfirmKeepsQuotasInStep(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		uid := users(t, e, "carol")[0]
		// Convex derives the quota window from its own clock, so the rows
		// are stamped with the real time, inside the current month.
		now := time.Now()
		reset := e.cal.Next(periods.Monthly, now.UnixMilli())
		tokQ := e.setQuota(t, uid, jobs.QuotaMonthlyTokens, 1e9, reset)
		costQ := e.setQuota(t, uid, jobs.QuotaMonthlyCostUSD, 1000, reset)
		base := e.quotaUsed(t, uid)

		g := &gen{n: 20_000}
		var b store.Batch
		at := now.Add(-2 * time.Minute)
		for i := range 3 {
			u, l := g.request(at.Add(time.Duration(i)*time.Second), uid, "m/a", true, 100)
			u.CostStatus = store.CostEstimated
			b.Usage, b.RequestLogs = append(b.Usage, u), append(b.RequestLogs, l)
		}
		e.ingest(t, b)

		// One confirmation above its estimate, one below; the third row
		// stays estimated.
		confirms := []jobs.UsageConfirmation{
			{GenerationID: b.Usage[0].GenerationID, PromptTokens: 900, CompletionTokens: 334, TotalTokens: 1234, CachedTokens: 5, ReasoningTokens: 7, CostNanoUsd: 2_553_000},
			{GenerationID: b.Usage[1].GenerationID, PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3, CostNanoUsd: 1_000},
		}
		for _, c := range confirms {
			if ok, err := e.st.ConfirmUsage(ctx, c); !ok || err != nil {
				t.Fatalf("confirm %s: %v %v", c.GenerationID, ok, err)
			}
		}
		// A second confirmation of the same row changes nothing.
		if ok, err := e.st.ConfirmUsage(ctx, confirms[0]); ok || err != nil {
			t.Fatalf("second confirm: %v %v", ok, err)
		}

		// Σ rows, as stored.
		var rowTokens, rowCost int64
		pg, err := e.st.RawPage(ctx, jobs.RawUsage, at.Add(-time.Minute).UnixMilli(), now.Add(time.Minute).UnixMilli(), "", jobs.PageSize)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range pg.Usage {
			if u.UserID == uid {
				rowTokens, rowCost = rowTokens+u.TotalTokens, rowCost+int64(u.Cost)
			}
		}
		if want := 1234 + 3 + b.Usage[2].TotalTokens; rowTokens != want || len(pg.Usage) != 3 {
			t.Fatalf("rows: %d tokens in %d rows, want %d in 3", rowTokens, len(pg.Usage), want)
		}
		// Aggregates: the user's month.
		var aggTokens, aggCost int64
		month := e.cal.Of(periods.Monthly, at.UnixMilli()).Start
		aggs, err := e.st.Aggregates(ctx, rollup.ScopeUser, periods.Monthly, month, month+1)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range aggs {
			if r.UserID == uid {
				aggTokens, aggCost = aggTokens+r.Counters.TotalTokens, aggCost+r.Counters.TotalCostNanoUsd
			}
		}
		used := e.quotaUsed(t, uid)
		gotTok, gotCost := used[tokQ]-base[tokQ], used[costQ]-base[costQ]
		if rowTokens != gotTok || rowTokens != aggTokens || rowCost != gotCost || rowCost != aggCost {
			t.Fatalf("%s: tokens rows %d quota %d aggregates %d; cost rows %d quota %d aggregates %d",
				e.name, rowTokens, gotTok, aggTokens, rowCost, gotCost, aggCost)
		}
	})
}
