package rollup

import (
	"reflect"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/periods"
	"llmmeter/internal/store"
)

func TestConfirm(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cal := periods.For(ny)
	// 2024-02-01T04:30Z is January 31, 23:30 in New York: the row's
	// periods and quota windows are January's there, not February's.
	ts := time.Date(2024, 2, 1, 4, 30, 0, 0, time.UTC).UnixMilli()
	// Every token count of the estimate is non-zero, so that each
	// difference is told apart from a sum.
	old := store.Usage{GenerationID: "g", UserID: "u", Model: "m/a", Timestamp: ts, PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15,
		CachedTokens: 3, ReasoningTokens: 4, Cost: money.Nanos(500)}
	rec := store.Usage{PromptTokens: 8, CompletionTokens: 4, TotalTokens: 12, CachedTokens: 2, ReasoningTokens: 1, Cost: money.Nanos(2000)}
	c := Confirm(cal, old, rec)

	wantDelta := old
	wantDelta.PromptTokens, wantDelta.CompletionTokens, wantDelta.TotalTokens = -2, -1, -3
	wantDelta.CachedTokens, wantDelta.ReasoningTokens, wantDelta.Cost = -1, -3, 1500
	if c.Delta != wantDelta {
		t.Fatalf("delta %+v, want %+v", c.Delta, wantDelta)
	}
	// Every period × system, user and model, each the whole difference.
	if len(c.Aggregates) != 12 {
		t.Fatalf("%d aggregate deltas, want 12", len(c.Aggregates))
	}
	for _, r := range c.Aggregates {
		if r.Counters != UsageDelta(wantDelta) || r.Shard != 0 {
			t.Errorf("%+v: counters %+v", r.Key, r.Counters)
		}
		if r.Period == periods.Monthly && r.PeriodKey != "2024-01" {
			t.Errorf("monthly delta in %s, want 2024-01 (New York)", r.PeriodKey)
		}
	}
	jan := time.Date(2024, 1, 1, 5, 0, 0, 0, time.UTC).UnixMilli()
	feb := time.Date(2024, 2, 1, 5, 0, 0, 0, time.UTC).UnixMilli()
	want := []QuotaWindow{
		{QuotaType: store.QuotaMonthlyTokens, Start: jan, End: feb, Delta: -3},
		{QuotaType: store.QuotaMonthlyCostUSD, Start: jan, End: feb, Delta: 1500},
		{QuotaType: store.QuotaSystemMonthlyCostUSD, Start: jan, End: feb, Delta: 1500},
	}
	if !reflect.DeepEqual(c.Quotas, want) {
		t.Fatalf("quotas %+v, want %+v", c.Quotas, want)
	}

	// No token or cost difference: no quota moves.
	if q := Confirm(cal, old, old).Quotas; len(q) != 0 {
		t.Fatalf("quotas of an unchanged row: %+v", q)
	}
}

func TestQuotaWindowHolds(t *testing.T) {
	w := QuotaWindow{Start: 100, End: 200}
	for _, tc := range []struct {
		name          string
		resetDate, ts int64
		want          bool
	}{
		{"current window is the row's", 200, 150, true},
		{"window reset already: the quota is in the next one", 300, 150, false},
		{"quota still in an earlier window", 100, 150, false},
		{"first instant of the window", 101, 100, true},
		{"row after an unaligned reset date", 180, 190, false},
		{"row at the reset instant", 180, 180, false},
		{"window ended: the quota is in the next one", 201, 150, false},
		{"last instant of the window", 200, 199, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := w.Holds(tc.resetDate, tc.ts); got != tc.want {
				t.Fatalf("Holds(%d, %d) = %v, want %v", tc.resetDate, tc.ts, got, tc.want)
			}
		})
	}
}

func TestAdjustAll(t *testing.T) {
	c := Confirmation{Delta: store.Usage{UserID: "u1", Model: "m/a", TotalTokens: -4, Cost: money.Nanos(50)}}
	sums := []*Summary{
		{Models: []ModelEntry{{Model: "m/a", Counters: Counters{TotalTokens: 10, TotalCostNanoUsd: 100}}}, TopUsers: []UserTotals{{UserID: "u1", TotalTokens: 10, CostNanoUsd: 100}}},
		{Models: []ModelEntry{{Model: "m/b"}}},
	}
	got := c.AdjustAll(sums)
	if got[0].Models[0].TotalTokens != 6 || got[0].Models[0].TotalCostNanoUsd != 150 || got[0].TopUsers[0].CostNanoUsd != 150 {
		t.Fatalf("adjusted %+v", got[0])
	}
	if !reflect.DeepEqual(got[1], &Summary{Models: []ModelEntry{{Model: "m/b"}}}) {
		t.Fatalf("an unrelated summary moved: %+v", got[1])
	}
}
