package rollup

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/periods"
	"llmmeter/internal/store"
)

// foldInBatches folds rows batch by batch as the fold job does: read the
// state of the keys a batch touches, summarize, store the summaries and
// add the deltas to the user rows.
func foldInBatches(cal *periods.Calendar, usage []store.Usage, batch int) map[PeriodRef]*Summary {
	stored := map[PeriodRef]*Summary{}
	userRows := map[UserPeriod]UserRow{}
	for i := 0; i < len(usage); i += batch {
		b := NewBatch(cal)
		for _, u := range usage[i:min(i+batch, len(usage))] {
			b.AddUsage(u)
			b.AddRequestLog(store.RequestLog{RequestID: u.GenerationID, UserID: u.UserID, Model: u.Model, Status: store.StatusSuccess, ProcessingTime: 300, Timestamp: u.Timestamp})
		}
		deltas := b.Rows()
		keys := KeysOf(deltas)
		var st SummaryState
		for _, p := range keys.Periods {
			if s := stored[p]; s != nil {
				st.Summaries = append(st.Summaries, s)
			}
		}
		for _, k := range keys.Users {
			if r, ok := userRows[k]; ok {
				st.Users = append(st.Users, r)
			}
		}
		for _, s := range Summarize(st, deltas) {
			stored[PeriodRef{s.Period, s.PeriodStart}] = s
		}
		for _, d := range deltas {
			if d.Scope == ScopeUser {
				k := UserPeriod{d.UserID, d.Period, d.PeriodStart}
				r := userRows[k]
				r.UserPeriod = k
				r.Requests += d.TotalRequests
				r.TotalTokens += d.TotalTokens
				r.CostNanoUsd += d.TotalCostNanoUsd
				userRows[k] = r
			}
		}
	}
	return stored
}

// Summaries folded incrementally, batch after batch, equal the summaries
// computed from scratch over all rows (what a rebuild stores), and their top
// lists are the brute-force top 100 by each metric: the incremental top list
// is exact because totals only grow.
func TestSummarizeIncrementalEqualsFromScratch(t *testing.T) {
	cal := periods.For(time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 3, 30, 20, 0, 0, 0, time.UTC).UnixMilli() // crosses a day, a week and a month
	var usage []store.Usage
	for i := range 3000 {
		usage = append(usage, store.Usage{
			GenerationID: fmt.Sprintf("g%d", i), UserID: fmt.Sprintf("u%03d", rng.IntN(300)), Model: fmt.Sprintf("m%d", rng.IntN(12)),
			TotalTokens: rng.Int64N(5000), Cost: money.Nanos(rng.Int64N(1_000_000)), Timestamp: start + rng.Int64N(8*3_600_000),
		})
	}
	incremental := foldInBatches(cal, usage, 37)
	all := NewBatch(cal)
	for _, u := range usage {
		all.AddUsage(u)
		all.AddRequestLog(store.RequestLog{RequestID: u.GenerationID, UserID: u.UserID, Model: u.Model, Status: store.StatusSuccess, ProcessingTime: 300, Timestamp: u.Timestamp})
	}
	scratch := Summarize(SummaryState{}, all.Rows())
	if len(scratch) != len(incremental) {
		t.Fatalf("%d summaries from scratch, %d folded", len(scratch), len(incremental))
	}
	for _, s := range scratch {
		got := incremental[PeriodRef{s.Period, s.PeriodStart}]
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("%s %s: folded summary differs from the one computed from scratch", s.Period, s.PeriodKey)
		}
		// Brute force: every user's total in the period, top 100 per metric.
		totals := map[string]UserTotals{}
		for _, r := range all.Rows() {
			if r.Scope == ScopeUser && r.Period == s.Period && r.PeriodStart == s.PeriodStart {
				totals[r.UserID] = UserTotals{UserID: r.UserID, Requests: r.TotalRequests, TotalTokens: r.TotalTokens, CostNanoUsd: r.TotalCostNanoUsd}
			}
		}
		if s.ActiveUsers != int64(len(totals)) {
			t.Fatalf("%s: activeUsers %d, want %d", s.PeriodKey, s.ActiveUsers, len(totals))
		}
		for _, by := range Metrics {
			want := make([]UserTotals, 0, len(totals))
			for _, u := range totals {
				want = append(want, u)
			}
			slices.SortFunc(want, RankBy(by))
			want = want[:min(TopN, len(want))]
			have := slices.Clone(s.TopUsers)
			slices.SortFunc(have, RankBy(by))
			if !reflect.DeepEqual(have[:len(want)], want) {
				t.Fatalf("%s by %s: top list is not the exact top %d", s.PeriodKey, by, TopN)
			}
		}
	}
}

// Keys name each touched period once and each touched user row once.
func TestKeysOf(t *testing.T) {
	cal := periods.For(time.UTC)
	b := NewBatch(cal)
	b.AddUsage(store.Usage{UserID: "u1", Model: "m", Timestamp: 1_800_000_000_000})
	b.AddUsage(store.Usage{UserID: "u2", Model: "m", Timestamp: 1_800_000_000_001})
	k := KeysOf(b.Rows())
	if len(k.Periods) != 4 || len(k.Users) != 8 || k.Users[0].UserID != "u1" {
		t.Fatalf("keys %+v", k)
	}
	if e := KeysOf(nil); e.Periods == nil || e.Users == nil {
		t.Fatal("empty keys must be empty arrays on the wire")
	}
}

// Beyond MaxModelEntries the cheapest models merge into OtherModels and
// nothing is lost: the counters still add up.
func TestSummaryModelCap(t *testing.T) {
	var deltas []*Row
	var want int64
	for i := range MaxModelEntries + 5 {
		r := &Row{Key: Key{Scope: ScopeModel, Model: fmt.Sprintf("m%04d", i), Period: periods.Daily}, PeriodKey: "1970-01-01"}
		r.TotalCostNanoUsd = int64(i + 1)
		r.TotalRequests = 1
		r.SuccessfulRequests = 1
		want += r.TotalCostNanoUsd
		deltas = append(deltas, r)
	}
	s := Summarize(SummaryState{}, deltas)[0]
	if len(s.Models) != MaxModelEntries {
		t.Fatalf("%d entries, want %d", len(s.Models), MaxModelEntries)
	}
	var got, requests int64
	var other *ModelEntry
	for i := range s.Models {
		got += s.Models[i].TotalCostNanoUsd
		requests += s.Models[i].TotalRequests
		if s.Models[i].Model == OtherModels {
			other = &s.Models[i]
		}
	}
	if got != want || requests != MaxModelEntries+5 || other == nil || other.TotalRequests != 6 || other.TotalCostNanoUsd != 1+2+3+4+5+6 {
		t.Fatalf("cost %d/%d requests %d other %+v", got, want, requests, other)
	}
	// Folding more into a capped summary keeps it capped and exact.
	more := &Row{Key: Key{Scope: ScopeModel, Model: "m0000", Period: periods.Daily}, PeriodKey: "1970-01-01"}
	more.TotalCostNanoUsd = 10
	s2 := Summarize(SummaryState{Summaries: []*Summary{s}}, []*Row{more})[0]
	var got2 int64
	for _, e := range s2.Models {
		got2 += e.TotalCostNanoUsd
	}
	if len(s2.Models) != MaxModelEntries || got2 != want+10 {
		t.Fatalf("after another fold: %d entries, cost %d", len(s2.Models), got2)
	}
}

// Adjust moves the model's entry and a listed user's totals by d, and
// nothing else: no entry is created, no user enters the list, the active
// count stays.
func TestSummaryAdjust(t *testing.T) {
	// A confirmation moves cost and tokens; the fine latency counts stay.
	var fine7 [NumFine]int64
	fine7[7] = 3
	s := &Summary{ActiveUsers: 2,
		Models:   []ModelEntry{{Model: "m/a", Counters: Counters{TotalTokens: 10, TotalCostNanoUsd: 100, LatencyFine: fine7}}, {Model: "m/b"}},
		TopUsers: []UserTotals{{UserID: "u1", Requests: 1, TotalTokens: 10, CostNanoUsd: 100}}}
	s.Adjust("u1", "m/a", Counters{TotalTokens: -4, TotalCostNanoUsd: 50})
	s.Adjust("u2", "m/c", Counters{TotalTokens: 7, TotalCostNanoUsd: 7})
	want := &Summary{ActiveUsers: 2,
		Models:   []ModelEntry{{Model: "m/a", Counters: Counters{TotalTokens: 6, TotalCostNanoUsd: 150, LatencyFine: fine7}}, {Model: "m/b"}},
		TopUsers: []UserTotals{{UserID: "u1", Requests: 1, TotalTokens: 6, CostNanoUsd: 150}}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("adjusted %+v, want %+v", s, want)
	}
}
