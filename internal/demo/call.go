package demo

import (
	"fmt"
	"net/http"
	"strings"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
	"llmmeter/openrouter/openroutertest"
)

// outcome is how a demo call ends.
type outcome int

const (
	ok outcome = iota
	// Before streaming: no generation, so no usage row (as record.go does).
	rateLimited // 429
	badRequest  // 400
	noCredits   // 402
	moderated   // 403
	timedOut    // 408
	upstream5xx // 502 / 503
	// After streaming began: a generation exists and is billed.
	midStreamErr // 200 on the wire, logged with the error's code
	disconnected // the client went away: 499, cost confirmed from /generation
)

// outcomeWeights are per mille: about 4.5 % of calls fail.
var outcomeWeights = []float64{
	ok: 955, rateLimited: 12, badRequest: 5, noCredits: 2, moderated: 3,
	timedOut: 2, upstream5xx: 8, midStreamErr: 4, disconnected: 9,
}

// call builds one request's rows, as the gateway would have recorded them.
func (g *generator) call(ts int64) store.Batch {
	g.seq++
	r := g.rng
	p := &g.people[pick(r, g.weights())]
	mi := p.favourite
	if r.Float64() < 0.35 {
		mi = pick(r, g.mweight)
	}
	m := g.models[mi]
	stream := r.Float64() < 0.8
	reqID := fmt.Sprintf("req_demo%d_%07d", g.o.Seed, g.seq)
	genID := fmt.Sprintf("gen-demo%d-%07d", g.o.Seed, g.seq)
	oc := outcome(pick(r, outcomeWeights))

	prompt := clamp(int64(logNormal(r, 900, 1.0)), 12, 60_000)
	completion := clamp(int64(logNormal(r, 320, 0.8)), 1, 8_000)
	var cached, reasoning int64
	if m.InputCacheRead > 0 && r.Float64() < 0.3 {
		cached = prompt * int64(30+r.IntN(60)) / 100
	}
	if reasons(m) || (m.ID == "anthropic/claude-3.5-sonnet" && r.Float64() < 0.2) {
		reasoning = clamp(int64(logNormal(r, 600, 0.7)), 16, 16_000)
	}
	ttft := clamp(int64(logNormal(r, 450, 0.5)), 80, 20_000)
	speed := 40 + r.Float64()*80 // tokens a second
	proc := ttft + int64(float64(completion+reasoning)/speed*1000)

	rl := store.RequestLog{
		RequestID: reqID, UserID: p.id, RequestType: "chat.completions", Method: http.MethodPost,
		Endpoint: "/v1/chat/completions", Model: m.ID, GenerationID: genID,
		Status: store.StatusSuccess, StatusCode: http.StatusOK,
		RequestSize: prompt*4 + 180, ProcessingTime: proc, TimeToFirstToken: ttft,
		UserAgent: p.agent, IPAddress: p.ip, Timestamp: ts,
	}
	if !stream {
		rl.TimeToFirstToken = 0
	}
	fail := func(code int, typ, msg string) {
		rl.Status, rl.StatusCode, rl.ErrorType, rl.ErrorMessage = store.StatusError, code, typ, msg
	}
	billed := true
	switch oc {
	case rateLimited, badRequest, noCredits, moderated, timedOut, upstream5xx:
		billed = false
		rl.GenerationID, rl.TimeToFirstToken = "", 0
		rl.ProcessingTime = clamp(int64(logNormal(r, 250, 0.6)), 20, 30_000)
		switch oc {
		case rateLimited:
			fail(429, "rate_limit_error", "Rate limit exceeded: free-models-per-min. Retry shortly.")
		case badRequest:
			fail(400, "invalid_request_error", fmt.Sprintf("This endpoint's maximum context length is %d tokens.", m.ContextLength))
		case noCredits:
			fail(402, "insufficient_quota", "Insufficient credits. Add more using https://openrouter.ai/credits")
		case moderated:
			fail(403, "permission_error", "Input was flagged by the moderation model: harassment.")
		case timedOut:
			rl.ProcessingTime = 30_000 + int64(r.IntN(5_000))
			fail(408, "timeout_error", "The upstream provider timed out.")
		case upstream5xx:
			if r.IntN(2) == 0 {
				fail(502, "server_error", "Provider returned error: upstream connect error or disconnect/reset before headers.")
			} else {
				fail(503, "server_error", "No instances available for this model right now.")
			}
		}
		rl.ResponseSize = int64(len(rl.ErrorMessage) + 80)
	case midStreamErr:
		completion = completion/3 + 1
		reasoning /= 2
		rl.ProcessingTime = ttft + int64(float64(completion)/speed*1000)
		if r.IntN(2) == 0 {
			fail(502, "upstream_error", "Provider returned error: stream interrupted by the provider.")
		} else {
			fail(429, "upstream_error", "Provider is rate limited upstream; the generation stopped early.")
		}
	case disconnected:
		completion = completion/2 + 1
		rl.ProcessingTime = ttft + int64(float64(completion)/speed*1000)
		fail(499, "client_disconnected", "The client closed the connection before the response ended.")
	}
	if billed && rl.ResponseSize == 0 {
		rl.ResponseSize = completion*4 + 400
	}

	meta := map[string]any{"model": m.ID, "stream": stream, "status": rl.Status}
	if billed {
		meta["generationId"] = genID
	}
	b := store.Batch{
		RequestLogs: []store.RequestLog{rl},
		Activity: []store.Activity{{ActivityKey: reqID, UserID: p.id, ActivityType: store.ActivityChatCompletion,
			Metadata: meta, Timestamp: ts}},
	}
	if !billed {
		return b
	}
	// Reasoning tokens are part of completion tokens, as OpenRouter counts them.
	completionTotal := completion + reasoning
	u := store.Usage{
		GenerationID: genID, RequestID: reqID, UserID: p.id, Model: m.ID, Provider: m.Provider,
		PromptTokens: prompt, CompletionTokens: completionTotal, TotalTokens: prompt + completionTotal,
		CachedTokens: cached, ReasoningTokens: reasoning,
		Cost:       cost(m, prompt, cached, completionTotal),
		CostStatus: store.CostReported, FinishReason: "stop",
		Timestamp: ts, ProcessingTime: rl.ProcessingTime, Stream: stream,
	}
	switch {
	case oc == disconnected:
		u.CostStatus, u.Cancelled, u.FinishReason = store.CostConfirmed, true, ""
	case oc == midStreamErr:
		u.FinishReason = "error"
	case completionTotal >= 8_000:
		u.FinishReason = "length"
	}
	b.Usage = []store.Usage{u}
	return b
}

// weights are the users' shares of traffic.
func (g *generator) weights() []float64 {
	w := make([]float64, len(g.people))
	for i, p := range g.people {
		w[i] = p.weight
	}
	return w
}

// cost bills a generation exactly as the simulator does: uncached prompt,
// cached prompt and completion tokens at their per-token prices, plus the
// per-request price.
func cost(m openroutertest.Model, prompt, cached, completion int64) money.Nanos {
	return m.Prompt.Cost(prompt-cached) + m.InputCacheRead.Cost(cached) +
		m.Completion.Cost(completion) + m.Request.Cost(1)
}

// reasons mirrors the simulator: models whose id says so always reason.
func reasons(m openroutertest.Model) bool {
	return strings.Contains(m.ID, "reason")
}

func clamp(v, lo, hi int64) int64 { return max(lo, min(hi, v)) }

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Radia", "Edsger",
		"Frances", "Donald", "Sophie", "Tim", "Hedy", "John", "Katherine", "Guido", "Anita", "Bjarne", "Joan", "Niklaus"}
	lastNames = []string{"Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
		"Perlman", "Dijkstra", "Allen", "Knuth", "Wilson", "Berners-Lee", "Lamarr", "Backus", "Johnson", "Borg"}
	userAgents = []string{
		"chat-app/2.14.0 (convex-action)",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		"OpenAI/Python 1.35.3",
		"OpenAI/Go 3.9.0",
		"node-fetch/3.3.2",
	}
)
