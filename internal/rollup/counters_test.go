package rollup

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/store"
)

// Add sums every counter, each into its own field.
func TestCountersAdd(t *testing.T) {
	field := func(base int64) Counters {
		c := Counters{TotalRequests: base + 1, SuccessfulRequests: base + 2, FailedRequests: base + 3, PromptTokens: base + 4,
			CompletionTokens: base + 5, TotalTokens: base + 6, CachedTokens: base + 7, ReasoningTokens: base + 8,
			TotalCostNanoUsd: base + 9, TotalProcessingTime: base + 10, ConversationsStarted: base + 11, FilesUploaded: base + 12}
		for i := range c.LatencyBuckets {
			c.LatencyBuckets[i] = base + 13 + int64(i)
		}
		for i := range c.LatencyFine {
			c.LatencyFine[i] = base + 30 + int64(i)
			c.TTFTBuckets[i] = base + 90 + int64(i)
		}
		return c
	}
	c := field(100)
	c.Add(field(1000))
	want := field(0)
	for _, p := range []*int64{&want.TotalRequests, &want.SuccessfulRequests, &want.FailedRequests, &want.PromptTokens,
		&want.CompletionTokens, &want.TotalTokens, &want.CachedTokens, &want.ReasoningTokens, &want.TotalCostNanoUsd,
		&want.TotalProcessingTime, &want.ConversationsStarted, &want.FilesUploaded} {
		*p = 2**p + 1100
	}
	for i := range want.LatencyBuckets {
		want.LatencyBuckets[i] = 2*want.LatencyBuckets[i] + 1100
	}
	for i := range want.LatencyFine {
		want.LatencyFine[i] = 2*want.LatencyFine[i] + 1100
		want.TTFTBuckets[i] = 2*want.TTFTBuckets[i] + 1100
	}
	if c != want {
		t.Fatalf("sum\n got %+v\nwant %+v", c, want)
	}
}

// What one raw row adds, kind by kind.
func TestDeltas(t *testing.T) {
	u := UsageDelta(store.Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3, CachedTokens: 4, ReasoningTokens: 5, Cost: 6})
	if u != (Counters{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3, CachedTokens: 4, ReasoningTokens: 5, TotalCostNanoUsd: 6}) {
		t.Errorf("usage delta %+v: a usage row counts tokens and cost, never a request", u)
	}
	ok := Counters{TotalRequests: 1, SuccessfulRequests: 1, TotalProcessingTime: 250}
	ok.LatencyBuckets[LatencyBucket(250)] = 1
	ok.LatencyFine[FineBucket(250)] = 1
	ok.TTFTBuckets[FineBucket(40)] = 1
	if got := RequestDelta(store.RequestLog{Status: store.StatusSuccess, ProcessingTime: 250, TimeToFirstToken: 40}); got != ok {
		t.Errorf("success delta %+v, want %+v", got, ok)
	}
	failed := Counters{TotalRequests: 1, FailedRequests: 1, TotalProcessingTime: 100_000}
	failed.LatencyBuckets[NumBuckets-1] = 1     // beyond the last bound
	failed.LatencyFine[FineBucket(100_000)] = 1 // no first token: no TTFT sample
	if got := RequestDelta(store.RequestLog{Status: store.StatusError, ProcessingTime: 100_000}); got != failed {
		t.Errorf("error delta %+v, want %+v", got, failed)
	}
	for typ, want := range map[string]Counters{
		ActivityConversationStarted: {ConversationsStarted: 1},
		ActivityFileUploaded:        {FilesUploaded: 1},
		"api_key_created":           {}, // recorded, counted nowhere
	} {
		if got := ActivityDelta(store.Activity{ActivityType: typ}); got != want {
			t.Errorf("activity %s delta %+v, want %+v", typ, got, want)
		}
	}
}

// Rows go to the scopes the row names: no user row without a user, no
// model row without a model; a quota refusal adds nothing anywhere.
func TestBatchScopes(t *testing.T) {
	ts := time.Date(2024, 1, 15, 13, 30, 0, 0, time.UTC).UnixMilli()
	b := NewBatch(periods.For(time.UTC))
	b.AddUsage(store.Usage{GenerationID: "g", Model: "m", TotalTokens: 3, Timestamp: ts})              // no user: system + model
	b.AddActivity(store.Activity{ActivityKey: "a", ActivityType: ActivityFileUploaded, Timestamp: ts}) // no user, no model: system
	b.AddRequestLog(store.RequestLog{RequestID: "q", UserID: "u", Model: "m", Status: store.StatusError,
		ErrorType: store.ErrorQuotaExceeded, Timestamp: ts}) // refused before upstream
	scopes := map[string]int{}
	for _, r := range b.Rows() {
		scopes[r.Scope]++
		if r.TotalRequests != 0 || r.FailedRequests != 0 {
			t.Errorf("%s row counts the quota refusal: %+v", r.Scope, r)
		}
		wantModels := []string{"m"}
		if r.Scope == ScopeSystem && r.TotalTokens != 3 || r.Scope == ScopeModel && (r.TotalTokens != 3 || r.FilesUploaded != 0) {
			t.Errorf("%s row %+v", r.Scope, r)
		}
		if !slices.Equal(r.Models, wantModels) {
			t.Errorf("%s row models %v, want %v", r.Scope, r.Models, wantModels)
		}
	}
	if want := map[string]int{ScopeSystem: 4, ScopeModel: 4}; fmt.Sprint(scopes) != fmt.Sprint(want) {
		t.Fatalf("rows per scope %v, want %v", scopes, want)
	}
}

// Rows come out in one order whatever the order of the rows that made
// them: by scope, subject, period and numeric period start (2001 before
// 2023, though "9…" sorts after "1…" as text; 2033 before 2036, whose
// starts differ first in their twelfth digit), with models sorted.
func TestRowsOrder(t *testing.T) {
	t2001 := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() // 978307200000: 12 digits
	t2023 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() // 13 digits
	rows := []store.Usage{
		{GenerationID: "1", UserID: "u2", Model: "zeta", Timestamp: t2023},
		{GenerationID: "2", UserID: "u1", Model: "alpha", Timestamp: t2001},
		{GenerationID: "3", UserID: "u1", Model: "mid", Timestamp: t2023},
		{GenerationID: "4", UserID: "u1", Model: "alpha", Timestamp: t2023},
		{GenerationID: "5", UserID: "u3", Model: "alpha", Timestamp: time.Date(2036, 9, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}, // 2103840000000
		{GenerationID: "6", UserID: "u3", Model: "alpha", Timestamp: time.Date(2033, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}, // 2001196800000
	}
	byKey := func(x, y *Row) int {
		return cmp.Or(cmp.Compare(x.Scope, y.Scope), cmp.Compare(x.UserID, y.UserID), cmp.Compare(x.Model, y.Model),
			cmp.Compare(x.Period, y.Period), cmp.Compare(x.PeriodStart, y.PeriodStart))
	}
	var first []*Row
	for _, perm := range [][]int{{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {2, 5, 0, 3, 1, 4}} {
		b := NewBatch(periods.For(time.UTC))
		for _, i := range perm {
			b.AddUsage(rows[i])
		}
		got := b.Rows()
		if !slices.IsSortedFunc(got, byKey) {
			t.Fatalf("rows of %v not in key order", perm)
		}
		for _, r := range got {
			if !slices.IsSorted(r.Models) {
				t.Fatalf("models not sorted: %v", r.Models)
			}
		}
		if first == nil {
			first = got
		} else if !slices.EqualFunc(got, first, func(x, y *Row) bool { return byKey(x, y) == 0 && slices.Equal(x.Models, y.Models) }) {
			t.Fatalf("order of %v differs from the first order", perm)
		}
	}
	// u1's daily rows: 2001 before 2023, the later one with both models.
	var u1 []string
	for _, r := range first {
		if r.Scope == ScopeUser && r.UserID == "u1" && r.Period == periods.Daily {
			u1 = append(u1, fmt.Sprintf("%s %v", r.PeriodKey, r.Models))
		}
	}
	if want := []string{"2001-01-01 [alpha]", "2023-01-01 [alpha mid]"}; !slices.Equal(u1, want) {
		t.Fatalf("u1 daily rows %v, want %v", u1, want)
	}
}

// MergeModels keeps the stored models first and in their order, adds new
// ones sorted and once, and stops at MaxModels.
func TestMergeModels(t *testing.T) {
	if got := MergeModels([]string{"b", "a"}, []string{"d", "a", "c", "c"}); !slices.Equal(got, []string{"b", "a", "c", "d"}) {
		t.Errorf("merge = %v", got)
	}
	existing := make([]string, MaxModels-1)
	for i := range existing {
		existing[i] = fmt.Sprintf("m%02d", i)
	}
	got := MergeModels(existing, []string{"z2", "z1", "z3"})
	if len(got) != MaxModels || got[MaxModels-1] != "z1" {
		t.Errorf("at the cap: %d models, last %q; want %d ending in z1", len(got), got[len(got)-1], MaxModels)
	}
	full := MergeModels(got, []string{"new"})
	if len(full) != MaxModels || slices.Contains(full, "new") {
		t.Errorf("past the cap: %d models", len(full))
	}
	if in := []string{"x"}; len(MergeModels(in, []string{"y"})) != 2 || len(in) != 1 || cap(in) != 1 {
		t.Errorf("MergeModels changed its input")
	}
}
