package faults

import (
	"fmt"
	"strconv"
	"strings"

	"llmmeter/internal/store"
	"llmmeter/openrouter/openroutertest"
)

// Call is what one client of the service saw.
type Call struct {
	ID     string // our message_id, unique per call
	Shape  string // e.g. "stream-stalled"
	Stream bool
	// Status is the HTTP status; 0 when no response arrived (refused, or
	// cut before the headers).
	Status       int
	RequestID    string // X-Request-Id
	GenerationID string // X-Generation-Id, or the id in the body
	// Complete: a plain call read a whole JSON body; a stream read
	// data: [DONE].
	Complete bool
	// Cut: the connection broke after the headers, before the end.
	Cut bool
	// InBodyError is the code of an error carried inside a 200 (a
	// mid-stream error chunk, or an error choice of a plain response),
	// as text; "" when none.
	InBodyError string
	// ErrorCode is error.code of a non-200 JSON error body.
	ErrorCode string
}

// SawStatus is the status the request log should carry, and whether the
// client's view is clear enough to say: a whole non-200 answer, a whole
// 200 with no error inside, or a stream ended by an error chunk (its code;
// OpenRouter's string codes mapped to their HTTP status). A cut or missing
// response says nothing, and neither does a 200 plain body with an error
// choice (which status that should log is issue 12's to decide).
func (c Call) SawStatus() (int, bool) {
	switch {
	case c.Status == 0 || c.Cut:
		return 0, false
	case c.Status != 200:
		return c.Status, true
	case c.InBodyError == "":
		return 200, c.Complete
	case c.Stream:
		return errorStatus(c.InBodyError), true
	}
	return 0, false
}

func errorStatus(code string) int {
	if n, err := strconv.Atoi(code); err == nil && n >= 400 && n <= 599 {
		return n
	}
	switch code {
	case "rate_limit_exceeded":
		return 429
	case "service_unavailable":
		return 503
	}
	return 502
}

// WantsLog reports whether the service must have logged the call: it
// answered 200, named a generation, or passed on an upstream error (a
// numeric code, or upstream_*). The gateway's own refusals before the call
// (bad key, bad input, quota, backlog) are not logged, by design.
func (c Call) WantsLog() bool {
	switch {
	case c.RequestID == "":
		return false
	case c.Status == 200 || c.GenerationID != "":
		return true
	}
	if _, err := strconv.Atoi(c.ErrorCode); err == nil {
		return true
	}
	return strings.HasPrefix(c.ErrorCode, "upstream_")
}

// Totals are an engine's aggregates over the whole run (llmmeter:overview).
type Totals struct {
	Requests, Failed, TotalTokens, CostNanoUsd int64
}

// Result is one scenario's reconciliation.
type Result struct {
	Scenario, Engine string
	Calls            int   // calls made by the client
	Billed           int   // generations in the simulator's ledger
	Recorded         int   // billed generations with a usage row
	Lost             int   // billed generations without one
	LostNanos        int64 // their cost
	Doubled          int   // extra usage rows per generation, extra logs per request
	Mismatched       int   // usage rows whose tokens or cost differ from the ledger, or that it lacks
	Status500        int   // calls answered HTTP 500
	LogsMissing      int   // calls (or billed generations) with no request log
	LogWrong         int   // logs whose status differs from what the client clearly saw
	Silent           int   // calls answered 200 (with [DONE]) whose usage row or log is missing
	AggregatesOK     bool  // llmmeter:overview equals the raw rows
	AggregatesDiff   string
	Notes            []string
}

// Reconcile compares what the clients saw, what the simulator billed and
// what the engine stored.
func Reconcile(scenario, engine string, calls []Call, ledger []openroutertest.LedgerGeneration, usage []store.Usage, logs []store.RequestLog, agg Totals) Result {
	r := Result{Scenario: scenario, Engine: engine, Calls: len(calls), Billed: len(ledger)}
	billed := map[string]openroutertest.LedgerGeneration{}
	for _, g := range ledger {
		billed[g.ID] = g
	}
	rowsOf := map[string][]store.Usage{}
	var sumTokens, sumCost int64
	for _, u := range usage {
		rowsOf[u.GenerationID] = append(rowsOf[u.GenerationID], u)
		sumTokens += u.TotalTokens
		sumCost += int64(u.Cost)
	}
	for id, rows := range rowsOf {
		r.Doubled += len(rows) - 1
		g, ok := billed[id]
		for _, u := range rows {
			if !ok || u.PromptTokens != g.PromptTokens || u.CompletionTokens != g.CompletionTokens ||
				u.TotalTokens != g.PromptTokens+g.CompletionTokens || u.CachedTokens != g.CachedTokens ||
				u.ReasoningTokens != g.ReasoningTokens || int64(u.Cost) != g.CostNanoUsd {
				r.Mismatched++
			}
		}
	}
	for _, g := range ledger {
		if len(rowsOf[g.ID]) > 0 {
			r.Recorded++
		} else {
			r.Lost++
			r.LostNanos += g.CostNanoUsd
			r.Notes = append(r.Notes, fmt.Sprintf("lost %s: stream=%v cancelled=%v fault=%s created %s, ended %s",
				g.ID, g.Stream, g.Cancelled, g.Fault, g.CreatedAt.Format("15:04:05.000"), g.EndedAt.Format("15:04:05.000")))
		}
	}

	logsOf := map[string][]store.RequestLog{}
	logged := map[string]bool{} // generation ids with a log
	var failed int64
	for _, l := range logs {
		logsOf[l.RequestID] = append(logsOf[l.RequestID], l)
		if l.GenerationID != "" {
			logged[l.GenerationID] = true
		}
		if l.Status != store.StatusSuccess {
			failed++
		}
	}
	for _, ls := range logsOf {
		r.Doubled += len(ls) - 1
	}
	missing := map[string]bool{}
	for _, c := range calls {
		if c.Status == 500 {
			r.Status500++
		}
		ls := logsOf[c.RequestID]
		if c.WantsLog() && len(ls) == 0 {
			missing[c.ID] = true
		}
		if want, ok := c.SawStatus(); ok && c.WantsLog() && len(ls) > 0 && ls[0].StatusCode != want {
			r.LogWrong++
		}
		if c.Status == 200 && c.Complete && c.InBodyError == "" &&
			(len(ls) == 0 || (c.GenerationID != "" && len(rowsOf[c.GenerationID]) == 0)) {
			r.Silent++
		}
	}
	for _, g := range ledger {
		if !logged[g.ID] {
			missing["gen:"+g.ID] = true
		}
	}
	// A call and its generation missing a log count once.
	for _, c := range calls {
		if missing[c.ID] && c.GenerationID != "" && missing["gen:"+c.GenerationID] {
			delete(missing, "gen:"+c.GenerationID)
		}
	}
	r.LogsMissing = len(missing)

	raw := Totals{Requests: int64(len(logs)), Failed: failed, TotalTokens: sumTokens, CostNanoUsd: sumCost}
	r.AggregatesOK = raw == agg
	if !r.AggregatesOK {
		r.AggregatesDiff = fmt.Sprintf("overview %+v, raw rows %+v", agg, raw)
	}
	return r
}

// Header is the table's header row, in Markdown.
const Header = "| scenario | engine | calls | billed | recorded | lost | lost nano-USD | doubled | mismatched | 500s | logs missing | log≠client | 200 unrecorded | aggregates |\n" +
	"| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"

// Row is r as a Markdown table row.
func (r Result) Row() string {
	agg := "= raw"
	if !r.AggregatesOK {
		agg = "DIFFER"
	}
	return fmt.Sprintf("| %s | %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %s |",
		r.Scenario, r.Engine, r.Calls, r.Billed, r.Recorded, r.Lost, r.LostNanos, r.Doubled, r.Mismatched,
		r.Status500, r.LogsMissing, r.LogWrong, r.Silent, agg)
}

// Table renders results as a Markdown table, notes below it.
func Table(rs []Result) string {
	var b strings.Builder
	b.WriteString(Header + "\n")
	for _, r := range rs {
		b.WriteString(r.Row() + "\n")
	}
	for _, r := range rs {
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s/%s: %s\n", r.Scenario, r.Engine, n)
		}
		if r.AggregatesDiff != "" {
			fmt.Fprintf(&b, "- %s/%s: aggregates differ: %s\n", r.Scenario, r.Engine, r.AggregatesDiff)
		}
	}
	return b.String()
}
