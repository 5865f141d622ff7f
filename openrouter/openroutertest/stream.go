package openroutertest

import (
	"encoding/json"
	"net/http"
)

// stream serves a streaming request as SSE; see the package doc for the
// event order.
func (g *gen) stream(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Generation-Id", g.id())
	w.WriteHeader(http.StatusOK)
	out := &sse{w: w, rc: http.NewResponseController(w)}
	keepAlive := !g.s.opts.NoKeepAliveComments
	if keepAlive {
		_ = out.comment() // a failed write shows up as a cancelled context
	} else {
		_ = out.rc.Flush()
	}
	if !g.sleep(g.s.opts.TimeToFirstToken) {
		g.end("", true)
		return
	}
	g.begun = true

	if g.f.Kind == FaultProviderError {
		g.s.markFirstToken(g.e)
		g.endWith(tally{}, "error", false)
		_ = out.event(g.errorChunk())
		return
	}

	faultAt, pending := g.faultAt()
	for chunks := 0; ; chunks++ {
		if pending && g.sent == faultAt {
			pending = false
			switch g.f.Kind {
			case FaultMidStream:
				g.end("error", false)
				_ = out.event(g.errorChunk())
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
			case FaultMalformed:
				if out.raw(g.malformedLine()) != nil {
					g.end("", true)
					return
				}
			}
		}
		n := g.nextChunk(faultAt, pending)
		if chunks > 0 && !g.sleep(g.s.opts.tokenInterval(n)) {
			g.end("", true)
			return
		}
		if keepAlive && chunks > 0 && chunks%keepAliveEvery == 0 {
			_ = out.comment()
		}
		last := g.sent+n >= g.p.content
		finish := ""
		if last {
			finish = g.p.finish
		}
		if g.ctx.Err() != nil || out.event(g.contentChunk(n, finish)) != nil {
			g.end("", true)
			return
		}
		if chunks == 0 {
			g.s.markFirstToken(g.e)
		}
		g.sent += n
		if last {
			break
		}
	}

	g.end(g.p.finish, false)
	switch g.f.Kind {
	case FaultNoUsage:
	case FaultLegacyUsage:
		c := g.chunk()
		c.Choices = []chunkChoice{{Delta: deltaJSON{Role: "assistant"}}}
		c.Usage = g.p.bill(g.sent, true).usageJSON()
		_ = out.event(c)
	default:
		c := g.chunk()
		c.Usage = g.p.bill(g.sent, true).usageJSON()
		_ = out.event(c)
	}
	_ = out.raw("data: [DONE]\n\n")
}

// chunk is an empty chunk with this generation's envelope.
func (g *gen) chunk() chunkJSON {
	return chunkJSON{ID: g.id(), Provider: g.p.model.Provider, Model: g.p.model.ID,
		Object: "chat.completion.chunk", Created: g.created(), Choices: []chunkChoice{}}
}

// contentChunk carries the next n content tokens.
func (g *gen) contentChunk(n int64, finish string) chunkJSON {
	c := g.chunk()
	c.Choices = []chunkChoice{{
		Delta:              deltaJSON{Role: "assistant", Content: answerText(g.sent, g.sent+n)},
		FinishReason:       nullable(finish),
		NativeFinishReason: nullable(nativeFinish(g.p.model.Provider, finish)),
	}}
	return c
}

// errorChunk is the chunk OpenRouter sends when a stream fails after it
// began: a top-level error and finish_reason "error".
func (g *gen) errorChunk() chunkJSON {
	c := g.chunk()
	c.Error = g.f.upstreamError(g.p.model)
	c.Choices = []chunkChoice{{
		Delta:              deltaJSON{Role: "assistant"},
		FinishReason:       nullable("error"),
		NativeFinishReason: nullable("error"),
	}}
	return c
}

// malformedLine is a data line whose JSON is cut off mid-object.
func (g *gen) malformedLine() string {
	b, _ := json.Marshal(g.contentChunk(0, ""))
	return "data: " + string(b[:len(b)/2]) + "\n\n"
}

// sse writes events, each flushed on its own.
type sse struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf []byte
}

func (o *sse) event(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		panic("openroutertest: marshal: " + err.Error())
	}
	o.buf = append(append(append(o.buf[:0], "data: "...), b...), "\n\n"...)
	return o.write(o.buf)
}

func (o *sse) comment() error { return o.raw(": OPENROUTER PROCESSING\n\n") }

func (o *sse) raw(s string) error { return o.write([]byte(s)) }

func (o *sse) write(b []byte) error {
	if _, err := o.w.Write(b); err != nil {
		return err
	}
	return o.rc.Flush()
}
