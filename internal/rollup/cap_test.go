package rollup

import (
	"fmt"
	"testing"

	"llmmeter/internal/periods"
)

// modelDeltas are daily model deltas of one request each, model name(i)
// costing cost(i).
func modelDeltas(n int, name func(int) string, cost func(int) int64) []*Row {
	var out []*Row
	for i := range n {
		r := &Row{Key: Key{Scope: ScopeModel, Model: name(i), Period: periods.Daily}, PeriodKey: "1970-01-01"}
		r.TotalCostNanoUsd, r.TotalRequests = cost(i), 1
		out = append(out, r)
	}
	return out
}

// entryTotals indexes a summary's model entries and sums their cost and
// requests.
func entryTotals(s *Summary) (byModel map[string]ModelEntry, cost, requests int64) {
	byModel = map[string]ModelEntry{}
	for _, e := range s.Models {
		byModel[e.Model] = e
		cost += e.TotalCostNanoUsd
		requests += e.TotalRequests
	}
	return byModel, cost, requests
}

// Exactly MaxModelEntries models are all kept by name: only one more
// starts the merged entry.
func TestSummaryModelCapEdge(t *testing.T) {
	name := func(i int) string { return fmt.Sprintf("m%04d", i) }
	s := Summarize(SummaryState{}, modelDeltas(MaxModelEntries, name, func(i int) int64 { return int64(i + 1) }))[0]
	byModel, _, _ := entryTotals(s)
	if len(s.Models) != MaxModelEntries || len(byModel) != MaxModelEntries {
		t.Fatalf("%d entries (%d names), want %d", len(s.Models), len(byModel), MaxModelEntries)
	}
	if _, merged := byModel[OtherModels]; merged {
		t.Fatalf("models merged at the cap, not beyond it")
	}
}

// A capped summary that gains models is capped again: its merged entry
// stays one entry and takes the now cheapest models, and the totals stay
// exact.
func TestSummaryRecap(t *testing.T) {
	name := func(i int) string { return fmt.Sprintf("m%04d", i) }
	// Costs 1..1005: the six cheapest (1..6, 21 in all) are merged.
	s := Summarize(SummaryState{}, modelDeltas(MaxModelEntries+5, name, func(i int) int64 { return int64(i + 1) }))[0]
	// Two new models, dearer than the cheapest named ones (7 and 8).
	more := modelDeltas(2, func(i int) string { return fmt.Sprintf("new%d", i) }, func(i int) int64 { return 100 * int64(i+1) })
	s2 := Summarize(SummaryState{Summaries: []*Summary{s}}, more)[0]
	byModel, cost, requests := entryTotals(s2)
	other, ok := byModel[OtherModels]
	if len(s2.Models) != MaxModelEntries || len(byModel) != MaxModelEntries || !ok {
		t.Fatalf("%d entries (%d names), merged entry %v: want %d names, one of them merged", len(s2.Models), len(byModel), ok, MaxModelEntries)
	}
	if other.TotalCostNanoUsd != 21+7+8 || other.TotalRequests != 8 {
		t.Fatalf("merged entry %+v: want the 6 merged before and models m0006, m0007 (cost 36, 8 requests)", other.Counters)
	}
	for _, m := range []string{"new0", "new1", "m0008"} {
		if _, ok := byModel[m]; !ok {
			t.Errorf("model %s was merged, want it kept by name", m)
		}
	}
	if want := int64(1005*1006/2 + 100 + 200); cost != want || requests != MaxModelEntries+7 {
		t.Fatalf("cost %d, requests %d: want %d and %d", cost, requests, want, MaxModelEntries+7)
	}
}
