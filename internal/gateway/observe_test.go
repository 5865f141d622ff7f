package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"llmmeter/internal/money"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
	"llmmeter/openrouter"
	"llmmeter/openrouter/openroutertest"
)

const simModel = "openai/gpt-4o-mini"

// value reads a counter (testutil would add a module to go.mod).
func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// series counts the series a collector has.
func series(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric, 100)
	c.Collect(ch)
	close(ch)
	return len(ch)
}

// accessLine is the one access-log line of the last request.
func (h *harness) accessLine() map[string]any {
	h.t.Helper()
	lines := logLines(h.t, h.log, "request")
	if len(lines) == 0 {
		h.t.Fatal("no access log line")
	}
	return lines[len(lines)-1]
}

// onlyEntry returns the single outbox entry in state.
func (h *harness) onlyEntry(state outbox.State) outbox.Entry {
	h.t.Helper()
	es := h.entries(state)
	if len(es) != 1 {
		h.t.Fatalf("%d %s entries, want 1", len(es), state)
	}
	return es[0]
}

// TestAccessLogAgreesWithTheRow: the access log's status is the request
// log's, with what went on the wire as http_status when it differs; token
// counts are "tokens" only when OpenRouter reported them and
// "tokens_estimated" otherwise; cost_usd only when it is final. Before the
// fix a mid-stream 429 logged status 200, and local estimates were logged as
// tokens.
func TestAccessLogAgreesWithTheRow(t *testing.T) {
	cases := []struct {
		name       string
		body       string
		status     int // the access log's status = the request log's
		httpStatus int // 0: absent (the wire said the same)
		tokens     string
		costStatus string
		cost       bool
	}{
		// A normal call: reported tokens and cost.
		{"ok", chatBody(true, "hello"), 200, 0, "tokens", "reported", true},
		// A mid-stream error after the 200 went out: the row says 429.
		{"midstream 429", chatBody(true, "hi [sim:midstream after=2 code=429]"), 429, 200, "tokens_estimated", "pending", false},
		// ... and a broken one with a string code, 502.
		{"midstream string code", chatBody(true, "hi [sim:midstream after=2 string_code=1]"), 502, 200, "tokens_estimated", "pending", false},
		// No usage chunk: the tokens are our estimate until the generation record answers.
		{"no usage", chatBody(true, "hi [sim:no_usage]"), 200, 0, "tokens_estimated", "pending", false},
		// A refusal before streaming: the wire and the row agree; no generation, no tokens.
		{"upstream 503", chatBody(true, "hi [sim:status code=503]"), 503, 0, "", "", false},
		// Bad input is not recorded: the wire status stands.
		{"bad input", `{"model":42}`, 400, 0, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, openroutertest.Options{})
			h.chat(c.body)
			l := h.accessLine()
			if got := l["status"]; got != float64(c.status) {
				t.Errorf("status %v, want %d", got, c.status)
			}
			if got, ok := l["http_status"]; (c.httpStatus == 0) == ok || (ok && got != float64(c.httpStatus)) {
				t.Errorf("http_status %v, want %d", got, c.httpStatus)
			}
			_, hasTokens := l["tokens"]
			_, hasEstimate := l["tokens_estimated"]
			if hasTokens != (c.tokens == "tokens") || hasEstimate != (c.tokens == "tokens_estimated") {
				t.Errorf("tokens %v, tokens_estimated %v; want %q", l["tokens"], l["tokens_estimated"], c.tokens)
			}
			if _, ok := l["cost_usd"]; ok != c.cost {
				t.Errorf("cost_usd %v, want present=%v", l["cost_usd"], c.cost)
			}
			if got, _ := l["cost_status"].(string); got != c.costStatus {
				t.Errorf("cost_status %q, want %q", got, c.costStatus)
			}
			if c.tokens == "tokens" {
				g := h.sim.Ledger()[0]
				if l["tokens"] != float64(g.PromptTokens+g.CompletionTokens) || l["cost_usd"] != g.Cost.String() {
					t.Errorf("logged %v tokens $%v, ledger %d $%s", l["tokens"], l["cost_usd"], g.PromptTokens+g.CompletionTokens, g.Cost)
				}
			}
			if es := h.entries(outbox.Ready); c.status != 400 && len(es) != 1 {
				t.Fatalf("%d ready entries", len(es))
			} else if len(es) == 1 && es[0].Batch.RequestLogs[0].StatusCode != c.status {
				t.Errorf("row status %d, log %d", es[0].Batch.RequestLogs[0].StatusCode, c.status)
			}
		})
	}
}

// TestCostMetricFollowsTheRows: a row final at request end is counted
// then; a pending one is counted when the Resolver settles it, from the
// generation record. Before the fix the settled cost was never counted and
// the local token estimate was.
func TestCostMetricFollowsTheRows(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	cost := func() float64 { return value(h.metrics.CostUSD.WithLabelValues(simModel)) }
	completion := func() float64 { return value(h.metrics.Tokens.WithLabelValues(simModel, "completion")) }

	if w := h.chat(chatBody(true, "reported")); w.Code != 200 {
		t.Fatal(w.Code)
	}
	first := h.sim.Ledger()[0]
	if cost() != first.Cost.USD() || completion() != float64(first.CompletionTokens) {
		t.Fatalf("after a reported call: $%v %v tokens, ledger $%v %d", cost(), completion(), first.Cost.USD(), first.CompletionTokens)
	}

	if w := h.chat(chatBody(true, "no usage [sim:no_usage]")); w.Code != 200 {
		t.Fatal(w.Code)
	}
	if cost() != first.Cost.USD() || completion() != float64(first.CompletionTokens) {
		t.Fatalf("a pending row was counted at request end: $%v %v tokens", cost(), completion())
	}
	pending := h.onlyEntry(outbox.Pending)
	b, err := h.srv.NewResolver(time.Hour).Resolve(context.Background(), pending)
	if err != nil {
		t.Fatal(err)
	}
	second := h.sim.Ledger()[1]
	if b.Usage[0].Cost != second.Cost || b.Usage[0].CostStatus != store.CostConfirmed {
		t.Fatalf("settled row %+v, ledger %+v", b.Usage[0], second)
	}
	if want := first.Cost.USD() + second.Cost.USD(); cost() != want { // the counter adds floats
		t.Fatalf("cost metric $%v after settling, want $%v", cost(), want)
	}
	if want := float64(first.CompletionTokens + second.CompletionTokens); completion() != want {
		t.Fatalf("completion tokens %v, want %v", completion(), want)
	}
}

// TestResolverEstimateIsCounted: when the generation record never answers,
// the estimate the row settles with is what the metric counts, under the
// model's label; a model without a known price is labelled "none".
func TestResolverEstimateIsCounted(t *testing.T) {
	h := newHarness(t, openroutertest.Options{GenerationDelay: 24 * time.Hour})
	r := h.srv.NewResolver(0)
	u := store.Usage{GenerationID: "gen-x", RequestID: "r", UserID: "u", Model: simModel, PromptTokens: 1000, CompletionTokens: 1000, TotalTokens: 2000}
	b, err := r.Resolve(context.Background(), outbox.Entry{Batch: store.Batch{Usage: []store.Usage{u}}})
	if err != nil {
		t.Fatal(err)
	}
	est := b.Usage[0]
	// gpt-4o-mini: 1000 × 0.15 + 1000 × 0.6 micro-dollars.
	if est.CostStatus != store.CostEstimated || est.Cost != money.Nanos(750_000) {
		t.Fatalf("estimate %+v", est)
	}
	if got := value(h.metrics.CostUSD.WithLabelValues(simModel)); got != est.Cost.USD() {
		t.Fatalf("metric $%v, want $%v", got, est.Cost.USD())
	}
	u.Model = "caller/free-text"
	if _, err := r.Resolve(context.Background(), outbox.Entry{Batch: store.Batch{Usage: []store.Usage{u}}}); err != nil {
		t.Fatal(err)
	}
	if got := value(h.metrics.Tokens.WithLabelValues("none", "prompt")); got != 1000 {
		t.Fatalf("unknown model counted as %v prompt tokens under none", got)
	}
	if n := series(h.metrics.Tokens); n != 8 {
		t.Fatalf("%d token series, want 4 kinds × {model, none}", n)
	}

	// Still inside GiveUpAfter: nothing is settled or counted.
	before := value(h.metrics.CostUSD.WithLabelValues(simModel))
	if _, err := h.srv.NewResolver(time.Hour).Resolve(context.Background(), outbox.Entry{CreatedAt: time.Now().UnixMilli(), Batch: store.Batch{Usage: []store.Usage{u}}}); err == nil {
		t.Fatal("settled before giving up")
	}
	if value(h.metrics.CostUSD.WithLabelValues(simModel)) != before {
		t.Fatal("counted an unsettled row")
	}
}

// TestRequestLogShipsBeforeTheGenerationRecord: while the usage row waits
// for /generation, the request log and activity are delivered at once;
// the usage row follows when the record answers, and the store ends with
// exactly one of each. Before the fix nothing was delivered until the
// generation record answered (up to minutes), so the portal did not show
// the call.
func TestRequestLogShipsBeforeTheGenerationRecord(t *testing.T) {
	var skew atomic.Int64 // the simulator's clock runs ahead by this much
	h := newHarness(t, openroutertest.Options{GenerationDelay: time.Hour,
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	sink := &sinkRecorder{}
	d := &outbox.Delivery{Outbox: h.ob, Sink: sink, Resolver: h.srv.NewResolver(24 * time.Hour), Log: h.srv.opt.Log,
		ResolveEvery: 20 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	if w := h.chat(chatBody(true, "slow record [sim:no_usage]")); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	waitFor(t, "the request log in the store", func() bool { return len(sink.batch().RequestLogs) == 1 })
	if got := sink.batch(); len(got.Usage) != 0 || len(got.Activity) != 1 {
		t.Fatalf("before the generation record: %d usage, %d activity rows", len(got.Usage), len(got.Activity))
	}
	if e := h.onlyEntry(outbox.Pending); e.Key != h.sink1RequestID(sink)+"/usage" || len(e.Batch.Usage) != 1 || len(e.Batch.RequestLogs) != 0 {
		t.Fatalf("pending entry %s %+v", e.Key, e.Batch)
	}

	skew.Store(int64(2 * time.Hour)) // the generation record answers now
	waitFor(t, "the usage row in the store", func() bool { return len(sink.batch().Usage) == 1 })
	got := sink.batch()
	g := h.sim.Ledger()[0]
	if len(got.RequestLogs) != 1 || len(got.Activity) != 1 || got.Usage[0].Cost != g.Cost || got.Usage[0].CostStatus != store.CostConfirmed {
		t.Fatalf("store holds %d logs, %d activity, usage %+v; ledger %+v", len(got.RequestLogs), len(got.Activity), got.Usage[0], g)
	}
	waitFor(t, "an empty outbox", func() bool { st, _ := h.ob.Stats(context.Background()); return st.Ready+st.Pending == 0 })
}

func (h *harness) sink1RequestID(s *sinkRecorder) string { return s.batch().RequestLogs[0].RequestID }

// TestInFlightEntryIsReplaced: the in-flight entry (what a crash leaves)
// is replaced by the final entries in one step; after a restart exactly one
// request log and one usage row remain, whichever point the call reached.
func TestInFlightEntryIsReplaced(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	c := baseCall()
	h.srv.recordInFlight(c, c.summary)

	// Crash now: the in-flight entry alone, pending, with every row.
	e := h.onlyEntryEventually(outbox.Pending)
	if e.Key != "req_1" || len(e.Batch.RequestLogs) != 1 || len(e.Batch.Usage) != 1 || e.Batch.RequestLogs[0].ErrorType != "service_interrupted" {
		t.Fatalf("in-flight entry %s %+v", e.Key, e.Batch)
	}

	// The call ends without a usage chunk: the final rows replace it.
	h.srv.record(context.Background(), c)
	all := append(h.entries(outbox.Ready), h.entries(outbox.Pending)...)
	var logs, usage int
	for _, e := range all {
		logs += len(e.Batch.RequestLogs)
		usage += len(e.Batch.Usage)
		for _, l := range e.Batch.RequestLogs {
			if l.Status != store.StatusSuccess {
				t.Fatalf("request log %+v", l)
			}
		}
	}
	if len(all) != 2 || logs != 1 || usage != 1 {
		t.Fatalf("%d entries with %d logs and %d usage rows", len(all), logs, usage)
	}
	if e := h.onlyEntry(outbox.Pending); e.Key != "req_1/usage" {
		t.Fatalf("pending key %q", e.Key)
	}
}

// onlyEntryEventually waits for the asynchronous in-flight put.
func (h *harness) onlyEntryEventually(state outbox.State) outbox.Entry {
	h.t.Helper()
	waitFor(h.t, "the in-flight entry", func() bool { return len(h.entries(state)) == 1 })
	return h.onlyEntry(state)
}

// TestRecordFillsTheLogLine pins what record tells the access log for each
// kind of row: the request log's status, tokens reported or estimated, and
// a cost only when it is final.
func TestRecordFillsTheLogLine(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	cases := []struct {
		name string
		set  func(c *call)
		want reqInfo
	}{
		// Reported usage and cost: final.
		{"reported", func(c *call) {
			c.summary.Usage = &openrouter.Usage{PromptTokens: 5, CompletionTokens: 6, TotalTokens: 11, Cost: nanos(42)}
		}, reqInfo{Status: 200, HasUsage: true, Tokens: 11, Cost: 42, CostKnown: true, CostStatus: "reported"}},
		// Usage reported, cost null: tokens are OpenRouter's, the cost is pending.
		{"cost pending", func(c *call) {
			c.summary.Usage = &openrouter.Usage{PromptTokens: 5, CompletionTokens: 6, TotalTokens: 11}
		}, reqInfo{Status: 200, HasUsage: true, Tokens: 11, CostStatus: "pending"}},
		// No usage at all: our estimate, labelled as such.
		{"estimated", func(c *call) {}, reqInfo{Status: 200, HasUsage: true, Tokens: 111, TokensEstimated: true, CostStatus: "pending"}},
		// A mid-stream 429: the row's status.
		{"midstream", func(c *call) { c.summary.Err = &openrouter.StreamError{Code: "429"} },
			reqInfo{Status: 429, HasUsage: true, Tokens: 111, TokensEstimated: true, CostStatus: "pending"}},
		// No generation: no usage fields.
		{"no generation", func(c *call) { c.summary = openrouter.Summary{}; c.upstreamErr = errors.New("x") }, reqInfo{Status: 502}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := baseCall()
			c.requestID = fmt.Sprint("req_", i)
			tc.set(c)
			ri := &reqInfo{}
			h.srv.record(context.WithValue(context.Background(), infoKey, ri), c)
			got := reqInfo{Status: ri.Status, HasUsage: ri.HasUsage, Tokens: ri.Tokens, TokensEstimated: ri.TokensEstimated,
				Cost: ri.Cost, CostKnown: ri.CostKnown, CostStatus: ri.CostStatus}
			if got != tc.want {
				t.Fatalf("\n got %+v\nwant %+v", got, tc.want)
			}
			if ri.Generation != c.summary.GenerationID || ri.UpstreamMs != 1000 || ri.TTFTMs != 120 {
				t.Fatalf("timings %+v", ri)
			}
		})
	}
}

// TestObserve: requests are counted by the model used ("none" without a
// generation), status and code; latencies only when measured; tokens only
// for final rows.
func TestObserve(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	m := h.metrics
	c := baseCall()
	c.summary, c.upstreamDur, c.ttft = openrouter.Summary{}, 0, 0
	b, st := c.rows(t0)
	h.srv.observe(c, b, st)
	if v := value(m.Requests.WithLabelValues("none", "success", "200")); v != 1 {
		t.Fatalf("requests{none} = %v", v)
	}
	if series(m.UpstreamLatency) != 0 || series(m.TimeToFirstToken) != 0 || series(m.Tokens) != 0 {
		t.Fatal("observed what was not measured")
	}

	c = baseCall()
	c.summary.Usage = &openrouter.Usage{PromptTokens: 5, CompletionTokens: 6, Cost: nanos(1_000_000_000)}
	b, st = c.rows(t0)
	h.srv.observe(c, b, st)
	if value(m.Requests.WithLabelValues("used/model", "success", "200")) != 1 || value(m.CostUSD.WithLabelValues("used/model")) != 1 ||
		value(m.Tokens.WithLabelValues("used/model", "prompt")) != 5 || series(m.UpstreamLatency) != 1 || series(m.TimeToFirstToken) != 1 {
		t.Fatal("a final row was not counted")
	}
	c.summary.Usage.Cost = nil
	b, st = c.rows(t0)
	h.srv.observe(c, b, st)
	if value(m.Requests.WithLabelValues("used/model", "success", "200")) != 2 || value(m.Tokens.WithLabelValues("used/model", "prompt")) != 5 {
		t.Fatal("a pending row was counted at request end")
	}
}

// steppingClock is a clock that moves one second each time it is read, so
// every duration the gateway measures is a positive whole number of
// seconds, whatever the machine's speed.
func steppingClock() func() time.Time {
	var n atomic.Int64
	return func() time.Time { return t0.Add(time.Duration(n.Add(1)) * time.Second) }
}

// TestTimingsOfAPlainAndAStreamedCall: a stream's time to first token is
// measured at its first data chunk (after the start, before the end); a
// plain call's first byte is its whole body, so its TTFT is its upstream
// time. The plain body goes out with its generation id and as many bytes
// as the row says.
func TestTimingsOfAPlainAndAStreamedCall(t *testing.T) {
	cases := []struct {
		name   string
		stream bool
	}{
		// Streamed: TTFT at the first chunk, less than the upstream time.
		{"stream", true},
		// Plain: TTFT is the upstream time.
		{"plain", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarnessWith(t, openroutertest.Options{AnswerTokens: 5}, func(o *Options) { o.Now = steppingClock() })
			w := h.chat(chatBody(c.stream, "hello"))
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			g := h.sim.Ledger()[0]
			if w.Header().Get("X-Generation-Id") != g.ID {
				t.Fatalf("X-Generation-Id %q, want %q", w.Header().Get("X-Generation-Id"), g.ID)
			}
			rl := h.onlyEntry(outbox.Ready).Batch.RequestLogs[0]
			l := h.accessLine()
			if rl.TimeToFirstToken <= 0 || rl.ProcessingTime <= rl.TimeToFirstToken || rl.ResponseSize != int64(w.Body.Len()) {
				t.Fatalf("ttft %d ms, processing %d ms, size %d (body %d)", rl.TimeToFirstToken, rl.ProcessingTime, rl.ResponseSize, w.Body.Len())
			}
			up, _ := l["upstream_ms"].(float64)
			if l["ttft_ms"] != float64(rl.TimeToFirstToken) || up <= 0 {
				t.Fatalf("access line %v, row ttft %d", l, rl.TimeToFirstToken)
			}
			if c.stream && float64(rl.TimeToFirstToken) >= up+1000 {
				t.Fatalf("stream ttft %d ms not before the upstream's end (%v ms)", rl.TimeToFirstToken, up)
			}
			if !c.stream {
				if float64(rl.TimeToFirstToken) != up {
					t.Fatalf("plain ttft %d ms, upstream %v ms", rl.TimeToFirstToken, up)
				}
				if w.Header().Get("Content-Type") != "application/json" || !json.Valid(w.Body.Bytes()) {
					t.Fatalf("plain body %q (%s)", w.Body, w.Header().Get("Content-Type"))
				}
			}
		})
	}
}

// histogram is an observer's sample count and sum.
func histogram(o prometheus.Observer) (uint64, float64) {
	var m dto.Metric
	if err := o.(prometheus.Metric).Write(&m); err != nil {
		panic(err)
	}
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

// TestAddedLatencyByPhase: every call that went upstream, plain or
// streamed, counts the gateway's own time before the upstream call (from
// its arrival) and after the upstream's end; a call refused before
// upstream counts none. On the stepping clock each phase is a few whole
// seconds: zero would mean a phase measured nothing, and a huge one that
// it started from an unset time.
func TestAddedLatencyByPhase(t *testing.T) {
	h := newHarnessWith(t, openroutertest.Options{AnswerTokens: 3}, func(o *Options) { o.Now = steppingClock() })
	before := h.metrics.AddedLatency.WithLabelValues("before_upstream")
	after := h.metrics.AddedLatency.WithLabelValues("after_upstream")
	for i, body := range []string{chatBody(false, "hello"), chatBody(true, "hello")} {
		if w := h.chat(body); w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		for name, o := range map[string]prometheus.Observer{"before": before, "after": after} {
			n, sum := histogram(o)
			if n != uint64(i+1) || sum < float64(i+1) || sum > 60 {
				t.Fatalf("call %d: %s_upstream has %d samples summing to %v s", i, name, n, sum)
			}
		}
	}
	if w := h.chat(`{"model":"m","messages":[],"max_tokens":-1}`); w.Code != 400 {
		t.Fatalf("bad input answered %d", w.Code)
	}
	if n, _ := histogram(before); n != 2 {
		t.Fatalf("a refused call was counted: %d samples", n)
	}
}
