package openroutertest

import (
	"context"
	"time"

	"llmmeter/internal/money"
)

// Generation is the simulator's record of one generation: what OpenRouter
// billed. Tests compare their own accounting with it.
type Generation struct {
	ID, Model, Provider, User string
	Stream                    bool
	// PromptTokens includes CachedTokens; CompletionTokens includes
	// ReasoningTokens, as on OpenRouter.
	PromptTokens, CompletionTokens, CachedTokens, ReasoningTokens int64
	Cost                                                          money.Nanos
	// FinishReason is "stop", "length" or "error"; "" when the generation
	// was cut off by the client (Cancelled) or a disconnect fault.
	FinishReason string
	// Cancelled is set when the connection went away before the end: the
	// client left, the simulator closed, or a FaultDisconnect.
	Cancelled bool
	Fault     FaultKind
	CreatedAt time.Time
	// FirstTokenAt is when the first chunk was sent (plain responses: when
	// generation began); zero if it never was.
	FirstTokenAt time.Time
	EndedAt      time.Time
}

// entry is a ledger slot; a generation is visible once done.
type entry struct {
	g    Generation
	done bool
}

// begin registers an in-flight generation.
func (s *Simulator) begin(g Generation) *entry {
	e := &entry{g: g}
	s.mu.Lock()
	s.entries = append(s.entries, e)
	s.byID[g.ID] = e
	s.mu.Unlock()
	return e
}

// end completes e with the tally billed so far and makes it visible.
func (s *Simulator) end(e *entry, t tally, finish string, cancelled bool) {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &e.g
	g.PromptTokens, g.CompletionTokens = t.prompt, t.completion
	g.CachedTokens, g.ReasoningTokens, g.Cost = t.cached, t.reasoning, t.cost
	g.FinishReason, g.Cancelled, g.EndedAt = finish, cancelled, now
	e.done = true
	s.total += t.cost
	s.notifyLocked()
}

// markFirstToken records the time of the first chunk.
func (s *Simulator) markFirstToken(e *entry) {
	now := s.opts.Now()
	s.mu.Lock()
	if e.g.FirstTokenAt.IsZero() {
		e.g.FirstTokenAt = now
	}
	s.mu.Unlock()
}

// notifyLocked wakes every waiter; s.mu must be held.
func (s *Simulator) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Ledger returns a copy of the finished generations in the order they
// started. Generations still in flight are not included.
func (s *Simulator) Ledger() []Generation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Generation, 0, len(s.entries))
	for _, e := range s.entries {
		if e.done {
			out = append(out, e.g)
		}
	}
	return out
}

// Generation returns the finished generation with the given id.
func (s *Simulator) Generation(id string) (Generation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok || !e.done {
		return Generation{}, false
	}
	return e.g, true
}

// WaitGeneration waits until the generation with the given id has finished
// and returns it, or returns ctx's error.
func (s *Simulator) WaitGeneration(ctx context.Context, id string) (Generation, error) {
	for {
		s.mu.Lock()
		e, ok := s.byID[id]
		if ok && e.done {
			g := e.g
			s.mu.Unlock()
			return g, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Generation{}, ctx.Err()
		}
	}
}

// WaitIdle waits until no request is being handled, or returns ctx's error.
func (s *Simulator) WaitIdle(ctx context.Context) error {
	for {
		s.mu.Lock()
		active, ch := s.active, s.changed
		s.mu.Unlock()
		if active == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Reset clears the fault queue and the finished generations. Generations
// in flight stay and are recorded when they end.
func (s *Simulator) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.total = 0
	kept := s.entries[:0]
	for _, e := range s.entries {
		if e.done {
			delete(s.byID, e.g.ID)
		} else {
			kept = append(kept, e)
		}
	}
	clear(s.entries[len(kept):])
	s.entries = kept
	s.notifyLocked()
}

// totalSpent is the cost of every finished generation in the ledger.
func (s *Simulator) totalSpent() money.Nanos {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// spent sums the cost of finished generations that ended at or after since.
func (s *Simulator) spent(since time.Time) money.Nanos {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum money.Nanos
	for _, e := range s.entries {
		if e.done && !e.g.EndedAt.Before(since) {
			sum += e.g.Cost
		}
	}
	return sum
}

// InFlight is the number of generations begun and not yet ended.
func (s *Simulator) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.entries {
		if !e.done {
			n++
		}
	}
	return n
}
