package openroutertest

import (
	"context"
	"net/http"
	"time"
)

// gen is one generation being served.
type gen struct {
	s     *Simulator
	e     *entry
	p     plan
	f     Fault
	ctx   context.Context
	timer *time.Timer
	sent  int64 // content tokens delivered
	begun bool  // past the time to first token: reasoning is billed
	ended bool
}

// end records the generation in the ledger, billed for what was sent.
// Only the first call counts.
func (g *gen) end(finish string, cancelled bool) {
	g.endWith(g.p.bill(g.sent, g.begun), finish, cancelled)
}

func (g *gen) endWith(t tally, finish string, cancelled bool) {
	if g.ended {
		return
	}
	g.ended = true
	g.s.end(g.e, t, finish, cancelled)
}

func (g *gen) id() string { return g.e.g.ID }

func (g *gen) created() int64 { return g.e.g.CreatedAt.Unix() }

// sleep waits d on a timer; false means the client went away (or the
// simulator closed) first.
func (g *gen) sleep(d time.Duration) bool {
	if d <= 0 {
		return g.ctx.Err() == nil
	}
	if g.timer == nil {
		g.timer = time.NewTimer(d)
	} else {
		g.timer.Reset(d)
	}
	select {
	case <-g.timer.C:
		return true
	case <-g.ctx.Done():
		g.timer.Stop()
		return false
	}
}

// stall pauses for f.Stall, or until the client leaves if it is 0.
func (g *gen) stall() bool {
	if g.f.Stall <= 0 {
		<-g.ctx.Done()
		return false
	}
	return g.sleep(g.f.Stall)
}

// faultAt is the content-token count at which an AfterTokens fault fires,
// clamped to land before the final content chunk.
func (g *gen) faultAt() (int64, bool) {
	switch g.f.Kind {
	case FaultMidStream, FaultDisconnect, FaultStall, FaultMalformed:
		return min(int64(g.f.AfterTokens), max(g.p.content-1, 0)), true
	}
	return 0, false
}

// nextChunk is the size of the next chunk: TokensPerChunk, cut at the end
// of the answer and at a pending fault.
func (g *gen) nextChunk(faultAt int64, pending bool) int64 {
	n := min(int64(g.s.opts.TokensPerChunk), g.p.content-g.sent)
	if pending {
		n = min(n, faultAt-g.sent)
	}
	return n
}

// disconnect drops the connection without ending the response.
func disconnect(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // HTTP/2 or a wrapped writer: abort the stream
	}
	_ = conn.Close()
}
