package faults

import (
	"testing"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
	"llmmeter/openrouter/openroutertest"
)

// TestReconcile: each case breaks one thing and finds it in exactly one
// column.
func TestReconcile(t *testing.T) {
	gen := func(id string) openroutertest.LedgerGeneration {
		return openroutertest.LedgerGeneration{ID: id, PromptTokens: 10, CompletionTokens: 5, CostNanoUsd: 700}
	}
	row := func(id, req string) store.Usage {
		return store.Usage{GenerationID: id, RequestID: req, PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15, Cost: money.Nanos(700)}
	}
	log := func(req, id string, code int) store.RequestLog {
		st := store.StatusSuccess
		if code != 200 {
			st = store.StatusError
		}
		return store.RequestLog{RequestID: req, GenerationID: id, StatusCode: code, Status: st}
	}
	ok := Call{ID: "c1", Status: 200, RequestID: "r1", GenerationID: "g1", Complete: true}
	totals := func(u []store.Usage, l []store.RequestLog) Totals {
		var tt Totals
		for _, x := range u {
			tt.TotalTokens += x.TotalTokens
			tt.CostNanoUsd += int64(x.Cost)
		}
		for _, x := range l {
			tt.Requests++
			if x.Status != store.StatusSuccess {
				tt.Failed++
			}
		}
		return tt
	}
	for _, c := range []struct {
		name   string
		calls  []Call
		ledger []openroutertest.LedgerGeneration
		usage  []store.Usage
		logs   []store.RequestLog
		aggOff bool
		want   Result
	}{
		{
			// Everything in place: only counts.
			name: "clean", calls: []Call{ok}, ledger: []openroutertest.LedgerGeneration{gen("g1")},
			usage: []store.Usage{row("g1", "r1")}, logs: []store.RequestLog{log("r1", "g1", 200)},
			want: Result{Calls: 1, Billed: 1, Recorded: 1, AggregatesOK: true},
		},
		{
			// A 200 with [DONE] whose rows never arrived: lost, no log, silent.
			name: "silent loss", calls: []Call{ok}, ledger: []openroutertest.LedgerGeneration{gen("g1")},
			want: Result{Calls: 1, Billed: 1, Lost: 1, LostNanos: 700, LogsMissing: 1, Silent: 1, AggregatesOK: true},
		},
		{
			// The same generation stored twice, and its log twice.
			name: "doubled", calls: []Call{ok}, ledger: []openroutertest.LedgerGeneration{gen("g1")},
			usage: []store.Usage{row("g1", "r1"), row("g1", "r1")}, logs: []store.RequestLog{log("r1", "g1", 200), log("r1", "g1", 200)},
			want: Result{Calls: 1, Billed: 1, Recorded: 1, Doubled: 2, AggregatesOK: true},
		},
		{
			// A row whose cost is off by a nano.
			name: "mismatched", calls: []Call{ok}, ledger: []openroutertest.LedgerGeneration{gen("g1")},
			usage: []store.Usage{func() store.Usage { u := row("g1", "r1"); u.Cost++; return u }()}, logs: []store.RequestLog{log("r1", "g1", 200)},
			want: Result{Calls: 1, Billed: 1, Recorded: 1, Mismatched: 1, AggregatesOK: true},
		},
		{
			// A stream ended by a rate_limit_exceeded chunk, logged 502.
			name: "log status", calls: []Call{{ID: "c1", Stream: true, Status: 200, RequestID: "r1", GenerationID: "g1", InBodyError: "rate_limit_exceeded"}},
			ledger: []openroutertest.LedgerGeneration{gen("g1")},
			usage:  []store.Usage{row("g1", "r1")}, logs: []store.RequestLog{log("r1", "g1", 502)},
			want: Result{Calls: 1, Billed: 1, Recorded: 1, LogWrong: 1, AggregatesOK: true},
		},
		{
			// A 500 before upstream, by the gateway itself: no log wanted.
			name: "500", calls: []Call{{ID: "c1", Status: 500, RequestID: "r1", Complete: true, ErrorCode: "internal_error"}},
			want: Result{Calls: 1, Status500: 1, AggregatesOK: true},
		},
		{
			// Aggregates that do not add up to the rows.
			name: "aggregates", calls: []Call{ok}, ledger: []openroutertest.LedgerGeneration{gen("g1")},
			usage: []store.Usage{row("g1", "r1")}, logs: []store.RequestLog{log("r1", "g1", 200)}, aggOff: true,
			want: Result{Calls: 1, Billed: 1, Recorded: 1},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			agg := totals(c.usage, c.logs)
			if c.aggOff {
				agg.CostNanoUsd++
			}
			got := Reconcile("s", "e", c.calls, c.ledger, c.usage, c.logs, agg)
			got.AggregatesDiff, got.Notes = "", nil
			c.want.Scenario, c.want.Engine = "s", "e"
			if got.Row() != c.want.Row() || got.LostNanos != c.want.LostNanos {
				t.Errorf("\n got %s\nwant %s", got.Row(), c.want.Row())
			}
		})
	}
}
