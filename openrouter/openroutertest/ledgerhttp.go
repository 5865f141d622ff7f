package openroutertest

import (
	"net/http"
	"time"
)

// LedgerPath is where [Serve] (and so `llmmeter simulate`) exposes the
// ledger: GET /_ledger. It is outside /api/v1, needs no key, and is not
// part of OpenRouter's API.
const LedgerPath = "/_ledger"

// LedgerJSON is the body of GET /_ledger: every finished generation, in
// start order, and how many are still in flight. A test in another process
// reconciles its store against it; it waits for InFlight to reach 0 first,
// as generations cut off by a client that went away are finished (and
// billed) asynchronously.
type LedgerJSON struct {
	Generations []LedgerGeneration `json:"generations"`
	InFlight    int                `json:"inFlight"`
}

// LedgerGeneration is one [Generation] on the wire, with its cost as an
// integer count of nano-dollars so that it reads back exactly.
type LedgerGeneration struct {
	ID               string    `json:"id"`
	Model            string    `json:"model"`
	Provider         string    `json:"provider"`
	User             string    `json:"user"`
	Stream           bool      `json:"stream"`
	PromptTokens     int64     `json:"promptTokens"`
	CompletionTokens int64     `json:"completionTokens"`
	CachedTokens     int64     `json:"cachedTokens"`
	ReasoningTokens  int64     `json:"reasoningTokens"`
	CostNanoUsd      int64     `json:"costNanoUsd"`
	FinishReason     string    `json:"finishReason"`
	Cancelled        bool      `json:"cancelled"`
	Fault            FaultKind `json:"fault,omitempty"`
	CreatedAt        time.Time `json:"createdAt"`
	EndedAt          time.Time `json:"endedAt"`
}

// LedgerHandler serves the simulator's ledger as [LedgerJSON] on GET. It
// reads the ledger under the simulator's lock, so it is a consistent
// snapshot; it does not count as an active request.
func (s *Simulator) LedgerHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", nil)
			return
		}
		writeJSON(w, http.StatusOK, s.ledgerJSON())
	})
}

func (s *Simulator) ledgerJSON() LedgerJSON {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := LedgerJSON{Generations: make([]LedgerGeneration, 0, len(s.entries))}
	for _, e := range s.entries {
		if !e.done {
			out.InFlight++
			continue
		}
		g := e.g
		out.Generations = append(out.Generations, LedgerGeneration{
			ID: g.ID, Model: g.Model, Provider: g.Provider, User: g.User, Stream: g.Stream,
			PromptTokens: g.PromptTokens, CompletionTokens: g.CompletionTokens,
			CachedTokens: g.CachedTokens, ReasoningTokens: g.ReasoningTokens, CostNanoUsd: int64(g.Cost),
			FinishReason: g.FinishReason, Cancelled: g.Cancelled, Fault: g.Fault,
			CreatedAt: g.CreatedAt, EndedAt: g.EndedAt,
		})
	}
	return out
}

// withLedger routes LedgerPath to the ledger and everything else to s.
func (s *Simulator) withLedger() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(LedgerPath, s.LedgerHandler())
	mux.Handle("/", s)
	return mux
}
