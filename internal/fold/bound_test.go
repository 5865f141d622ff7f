package fold_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
)

// CheckBound passes sums up to the bound exactly and refuses the first
// unit beyond it, in any counter, summed over the models of a summary, in
// a top user's totals or in a delta; it names the period and the field.
func TestCheckBound(t *testing.T) {
	const max = store.MaxAmount
	model := func(name string, c rollup.Counters) rollup.ModelEntry {
		return rollup.ModelEntry{Model: name, Counters: c}
	}
	summary := func(ms []rollup.ModelEntry, us ...rollup.UserTotals) fold.Apply {
		return fold.Apply{Summaries: []*rollup.Summary{{Period: periods.Monthly, PeriodKey: "2027-02", Models: ms, TopUsers: us}}}
	}
	cases := []struct {
		name  string
		a     fold.Apply
		bound int64
		want  string // "" passes; else a part of the error
	}{
		// Two models whose costs sum to the edge exactly.
		{"models at the edge", summary([]rollup.ModelEntry{model("a", rollup.Counters{TotalCostNanoUsd: max - 1}), model("b", rollup.Counters{TotalCostNanoUsd: 1})}), max, ""},
		// One unit more over the two models: the system sum would pass.
		{"models one beyond", summary([]rollup.ModelEntry{model("a", rollup.Counters{TotalCostNanoUsd: max - 1}), model("b", rollup.Counters{TotalCostNanoUsd: 2})}), max, "monthly period 2027-02, the sum over models: totalCostNanoUsd would pass 2^53 − 1"},
		// Every counter is checked, not only cost (here the last one).
		{"files beyond", summary([]rollup.ModelEntry{model("a", rollup.Counters{FilesUploaded: max}), model("b", rollup.Counters{FilesUploaded: 1})}), max, "filesUploaded"},
		{"tokens beyond", summary([]rollup.ModelEntry{model("a", rollup.Counters{TotalTokens: max + 1})}), max, "totalTokens"},
		// An int64 sum that wrapped negative in Summarize.
		{"wrapped", summary([]rollup.ModelEntry{model("a", rollup.Counters{PromptTokens: -5})}), max, "promptTokens"},
		// A top user's totals at the edge pass; one beyond is refused.
		{"user at the edge", summary(nil, rollup.UserTotals{UserID: "u1", Requests: max, TotalTokens: max, CostNanoUsd: max}), max, ""},
		{"user cost beyond", summary(nil, rollup.UserTotals{UserID: "u1", CostNanoUsd: max + 1}), max, "user u1: costNanoUsd"},
		{"user tokens beyond", summary(nil, rollup.UserTotals{UserID: "u1", TotalTokens: max + 1}), max, "user u1: totalTokens"},
		{"user requests wrapped", summary(nil, rollup.UserTotals{UserID: "u1", Requests: -1}), max, "user u1: requests"},
		// A delta at the edge passes, beyond it is refused.
		{"delta at the edge", fold.Apply{Aggregates: []*rollup.Row{{Key: rollup.Key{Scope: rollup.ScopeSystem, Period: periods.Daily}, PeriodKey: "2027-02-10", Counters: rollup.Counters{TotalRequests: max}}}}, max, ""},
		{"delta beyond", fold.Apply{Aggregates: []*rollup.Row{{Key: rollup.Key{Scope: rollup.ScopeSystem, Period: periods.Daily}, PeriodKey: "2027-02-10", Counters: rollup.Counters{TotalRequests: max + 1}}}}, max, "daily period 2027-02-10, system: totalRequests = 9007199254740992 is outside [0, 9007199254740991]"},
		{"delta negative", fold.Apply{Aggregates: []*rollup.Row{{Key: rollup.Key{Scope: rollup.ScopeUser, Period: periods.Daily}, PeriodKey: "2027-02-10", Counters: rollup.Counters{CachedTokens: -1}}}}, max, "user: cachedTokens = -1"},
		// The embedded engine's bound: int64, no overflow in the check itself.
		{"int64 at the edge", summary([]rollup.ModelEntry{model("a", rollup.Counters{TotalCostNanoUsd: math.MaxInt64 - 7}), model("b", rollup.Counters{TotalCostNanoUsd: 7})}), math.MaxInt64, ""},
		{"int64 beyond", summary([]rollup.ModelEntry{model("a", rollup.Counters{TotalCostNanoUsd: math.MaxInt64 - 7}), model("b", rollup.Counters{TotalCostNanoUsd: 8})}), math.MaxInt64, "would pass 2^63 − 1, SQLite's largest integer"},
		// Another bound is named by its value.
		{"other bound", summary([]rollup.ModelEntry{model("a", rollup.Counters{TotalCostNanoUsd: 11})}), 10, "would pass 10;"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := fold.CheckBound(c.a, c.bound)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, fold.ErrBeyondBound) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want fold.ErrBeyondBound containing %q", err, c.want)
			}
		})
	}
}
