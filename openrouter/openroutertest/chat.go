package openroutertest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
)

// serveChat handles POST /api/v1/chat/completions.
func (s *Simulator) serveChat(w http.ResponseWriter, r *http.Request) {
	req, msgs, err := decodeChat(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), nil)
		return
	}
	m, err := s.resolveModel(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), nil)
		return
	}
	last := msgs[len(msgs)-1].text
	dir, err := parseDirectives(last)
	if err != nil {
		writeError(w, http.StatusBadRequest, "openroutertest: invalid directive "+err.Error(), nil)
		return
	}
	if lim := s.opts.KeyLimit; lim != nil && s.totalSpent() >= *lim {
		writeError(w, http.StatusPaymentRequired, "Key limit exceeded. Raise the key's limit or use another key.", nil)
		return
	}
	answer := s.opts.AnswerTokens
	if dir.tokens != nil {
		answer = *dir.tokens
	}
	p := s.newPlan(req, msgs, m, answer)
	if m.ContextLength > 0 && p.prompt > m.ContextLength {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(
			"This endpoint's maximum context length is %d tokens. However, you requested about %d tokens.",
			m.ContextLength, p.prompt), nil)
		return
	}
	f, queued := s.nextFault()
	switch {
	case queued:
	case dir.fault != nil:
		f = *dir.fault
	case s.opts.FaultRate > 0 && rand.Float64() < s.opts.FaultRate:
		f = randomFault(p.content)
	}
	f = f.withDefaults()
	if f.Kind == FaultStatus {
		f.writeStatus(w, m, last, s.opts.Now())
		return
	}

	now := s.opts.Now()
	ctx, cancel := s.requestContext(r)
	defer cancel()
	g := &gen{s: s, p: p, f: f, ctx: ctx}
	g.e = s.begin(Generation{
		ID:        "gen-" + strconv.FormatInt(now.Unix(), 10) + "-" + randomID(20),
		Model:     m.ID,
		Provider:  m.Provider,
		User:      req.User,
		Stream:    req.Stream,
		Fault:     f.Kind,
		CreatedAt: now,
	})
	// Whatever happens (even a panic), the generation leaves the ledger's
	// in-flight state.
	defer g.end("", true)
	if req.Stream {
		g.stream(w)
	} else {
		g.complete(w)
	}
	if s.ctx.Err() != nil && r.Context().Err() == nil {
		// Closed under a live client: cut the connection rather than end
		// the response cleanly, as a server going away would.
		g.end("", true)
		panic(http.ErrAbortHandler)
	}
}

// complete serves a non-streaming request.
func (g *gen) complete(w http.ResponseWriter) {
	if !g.sleep(g.s.opts.TimeToFirstToken) {
		g.end("", true)
		return
	}
	g.begun = true
	g.s.markFirstToken(g.e)
	if g.f.Kind == FaultProviderError {
		g.endWith(tally{}, "error", false)
		g.writeCompletion(w, "error", g.f.upstreamError(g.p.model), nil)
		return
	}
	faultAt, pending := g.faultAt()
	upto := g.p.content
	if pending {
		upto = faultAt
	}
	if !g.generate(upto) {
		g.end("", true)
		return
	}
	switch g.f.Kind {
	case FaultMidStream:
		g.end("error", false)
		g.writeCompletion(w, "error", g.f.upstreamError(g.p.model), nil)
		return
	case FaultDisconnect:
		g.end("", true)
		disconnect(w)
		return
	case FaultStall:
		if !g.stall() {
			g.end("", true)
			return
		}
	}
	if !g.generate(g.p.content) {
		g.end("", true)
		return
	}
	g.end(g.p.finish, false)
	t := g.p.bill(g.sent, true)
	usage := &t
	if g.f.Kind == FaultNoUsage {
		usage = nil
	}
	g.writeCompletion(w, g.p.finish, nil, usage)
}

// generate paces content tokens up to upto without sending them.
func (g *gen) generate(upto int64) bool {
	for g.sent < upto {
		n := min(int64(g.s.opts.TokensPerChunk), upto-g.sent)
		if !g.sleep(g.s.opts.tokenInterval(n)) {
			return false
		}
		g.sent += n
	}
	return true
}

func (g *gen) writeCompletion(w http.ResponseWriter, finish string, werr *wireError, t *tally) {
	body := completionJSON{
		ID: g.id(), Provider: g.p.model.Provider, Model: g.p.model.ID,
		Object: "chat.completion", Created: g.created(),
		Choices: []completionItem{{
			FinishReason:       nullable(finish),
			NativeFinishReason: nullable(nativeFinish(g.p.model.Provider, finish)),
			Message:            messageJSON{Role: "assistant", Content: answerText(0, g.sent)},
			Error:              werr,
		}},
	}
	if t != nil {
		body.Usage = t.usageJSON()
	}
	w.Header().Set("X-Generation-Id", g.id())
	if g.f.Kind != FaultMalformed {
		writeJSON(w, http.StatusOK, body)
		return
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b[:len(b)/2])
}
