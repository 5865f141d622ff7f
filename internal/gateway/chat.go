package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"llmmeter/internal/httpbody"
	"llmmeter/openrouter"
)

// doneEvent ends a stream.
const doneEvent = "data: [DONE]\n\n"

// call is one chat completion in flight: what the request said and what
// the gateway has learned so far. record turns it into rows.
type call struct {
	requestID      string
	userID         string // whose call it is: the credential's user, or the end user a service key named
	apiKeyID       string // the key it came through; "" for a Clerk token
	conversationID string
	messageID      string
	model          string // requested; the summary has the one used
	stream         bool
	start          time.Time
	requestSize    int64
	userAgent      string
	ip             string
	upstreamBody   []byte    // the request as it goes upstream (openrouter.PatchRequest)
	upStart        time.Time // admitted: the call goes upstream now

	ttft        time.Duration // first data chunk, from start
	upstreamDur time.Duration // upstream open to end
	summary     openrouter.Summary
	responseLen int64
	clientGone  bool
	shutdown    bool   // cut by the service's shutdown (ErrShutdown)
	streaming   bool   // a stream's 200 and headers are out
	inFlight    bool   // the in-flight entry is written (noteInFlight)
	interrupted bool   // rows as they should read if the service dies now
	holdDone    bool   // [DONE] arrived; it is sent once the rows are durable
	plain       []byte // a plain call's body; sent once the rows are durable
	upstreamErr error  // the stream broke, or the call failed before it began
	failure     *apiError
	out         writeDeadline // bounds each write to the client
}

// chat serves POST /v1/chat/completions.
//
// A stream's handler waits beneath this function for the stream's whole
// life, and the runtime halves a goroutine's stack at a garbage collection
// only while under a quarter of it is in use (runtime.shrinkstack). The
// call's one-off work (the key look-up, decoding, the quota check, the
// rows) grows the stack to 16 KiB and more; the frames that stay on it
// while the stream waits must then total well under 4 KiB, with
// net/http's own (over 1 KiB) included, or it never shrinks back to 8 KiB.
// So the work before and after the stream runs in functions of its own
// (begin, finish, startStream, endStream), whose frames are gone while the
// stream waits; TestOpenStreamStacks measures the result.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) error {
	c, err := s.begin(w, r)
	if err != nil {
		return err
	}
	if c.stream {
		s.streamChat(w, r, c)
	} else {
		s.completeChat(w, r, c)
	}
	return s.finish(w, r, c)
}

// begin reads, attributes and admits a call, up to the moment it goes
// upstream. An error means nothing goes upstream.
func (s *Server) begin(w http.ResponseWriter, r *http.Request) (*call, error) {
	ri := info(r.Context())
	p := principal(r.Context())
	c := &call{requestID: ri.ID, start: s.opt.Now(), userAgent: r.UserAgent(), ip: clientIP(r, s.opt.IPPolicy),
		out: writeDeadline{rc: http.NewResponseController(w), within: s.opt.ClientWriteTimeout}}
	eu, err := endUserHeaders(r, p)
	if err != nil {
		return nil, err // not a service key, or a bad end user: nothing is recorded
	}
	req, err := s.decode(w, r, c)
	if err != nil {
		return nil, err // bad input: nothing is recorded
	}
	if p.IsService {
		if err := eu.fromBody(req.User, req.UserGiven); err != nil {
			return nil, err
		}
	}
	if err := s.attribute(r.Context(), c, p, eu); err != nil {
		return nil, err
	}
	ri.UserID = c.userID
	if err := c.patchUpstream(); err != nil {
		return nil, err
	}
	if err := s.admit(r.Context()); err != nil {
		return nil, err
	}
	if err := s.reserve(r.Context(), c, req); err != nil {
		return nil, err // refused by a quota: listed as a request (recordRefusal), counted nowhere
	}
	ri.Model, ri.Stream = c.model, c.stream
	c.upStart = s.opt.Now()
	return c, nil
}

// finish records the call and ends the response: [DONE] or the plain body
// once the rows are durable, an error event when they are not.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, c *call) error {
	ended := s.opt.Now()
	defer s.observeAdded(r, c, ended)
	recErr := s.record(r.Context(), c)
	c.out.extend()
	switch {
	case c.clientGone:
	case c.streaming && recErr != nil:
		// Not on disk: the client must not see [DONE].
		w.Write(errorEvent(c.summary, http.StatusServiceUnavailable, c.failure.Message))
		c.out.flush()
		return nil // the request log says 503; the stream itself began with 200
	case c.holdDone:
		// Sent only now: a client that saw [DONE] knows its call is on disk.
		// (The request log already counts these bytes.)
		io.WriteString(w, doneEvent)
		c.out.flush()
	case c.plain != nil && recErr == nil:
		// Likewise, a plain body goes out once its rows are durable.
		c.writePlain(w)
	}
	if c.failure != nil {
		return c.failure
	}
	return nil
}

// admit refuses new calls while the outbox is over its bound: a call that
// cannot be accounted for is not made. It says so loudly.
func (s *Server) admit(ctx context.Context) error {
	if err := s.opt.Outbox.Writable(); err != nil {
		return accountingUnavailable(err)
	}
	bound := s.opt.MaxOutbox
	if bound <= 0 || s.opt.Outbox.Depth() < bound {
		return nil
	}
	// Depth is approximate (a replaced entry counts twice until the next
	// count); count exactly before refusing anyone.
	if st, err := s.opt.Outbox.Stats(ctx); err == nil && int64(st.Ready+st.Pending) < bound {
		return nil
	}
	s.opt.Log.Error().Int64("outbox_depth", s.opt.Outbox.Depth()).Int64("outbox_max", bound).
		Msg("OUTBOX FULL: refusing new calls until the store takes the backlog (see /readyz)")
	return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "accounting_backlog",
		Message: "The gateway cannot record more calls right now; try again shortly.", RetryAfter: 5}
}

// decode reads and validates the body. conversation_id and message_id are
// ours, taken out before the request goes upstream.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, c *call) (*openrouter.ChatRequest, error) {
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		// A compressed body read as JSON was refused as "not valid UTF-8".
		return nil, &apiError{Status: http.StatusUnsupportedMediaType, Type: "invalid_request_error", Code: "unsupported_content_encoding",
			Message: "Content-Encoding " + strconv.Quote(ce) + " is not supported: send the body uncompressed."}
	}
	body, err := httpbody.Read(w, r, s.opt.MaxBodyBytes)
	var tooBig *httpbody.TooLargeError
	if errors.As(err, &tooBig) {
		return nil, bodyTooLarge(tooBig.Limit)
	}
	if errors.Is(err, httpbody.ErrTimeout) {
		return nil, &apiError{Status: http.StatusRequestTimeout, Type: "invalid_request_error", Code: "request_timeout",
			Message: "The request body did not arrive within " + httpbody.ReadWithin.String() + "."}
	}
	if err != nil {
		return nil, badRequest("Could not read the request body.")
	}
	c.requestSize = int64(len(body))
	if !utf8.Valid(body) {
		// JSON is UTF-8 (RFC 8259); such bytes would go upstream verbatim.
		return nil, badRequest("Request body is not valid UTF-8.")
	}
	var req openrouter.ChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest("Request body is not a valid chat completion request: %v", jsonProblem(err))
	}
	if err := screenExtra(req.Extra); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"conversation_id", &c.conversationID}, {"message_id", &c.messageID}} {
		key, dst := f.key, f.dst
		raw, ok := req.Extra[key]
		if !ok {
			continue
		}
		delete(req.Extra, key)
		if err := json.Unmarshal(raw, dst); err != nil || len(*dst) > 128 {
			return nil, badRequest("%s must be a string of at most 128 characters.", key)
		}
	}
	if err := req.Validate(); err != nil {
		return nil, badRequest("%s", oneLine(err.Error()))
	}
	if err := s.checkOutputLimit(&req); err != nil {
		return nil, err // max_tokens above the model's output limit
	}
	c.model, c.stream = req.Model, req.Stream
	if c.model == "" && len(req.Models) > 0 {
		c.model = req.Models[0]
	}
	c.upstreamBody = body // patched once the user is known (patchUpstream)
	return &req, nil
}

// patchUpstream makes the caller's bytes the upstream body: stream, user and
// our fields patched, no second encoding of the whole conversation. user is
// OpenRouter's per-end-user id: ours (the end user's, for a service key),
// never the caller's claim, so it waits for attribution. decode has already
// parsed the body, so PatchRequest refusing it is not expected.
func (c *call) patchUpstream() error {
	b, err := openrouter.PatchRequest(c.upstreamBody, c.userID)
	if err != nil {
		return badRequest("Request body is not a valid chat completion request: %v", err)
	}
	c.upstreamBody = b
	return nil
}

// completeChat serves a plain (non-streaming) call. It streams from
// OpenRouter all the same and assembles the plain body itself
// (openrouter.Assembler, byte for byte OpenRouter's plain shape): a stream
// names its generation in its first bytes, so the in-flight entry written
// then lets a restart settle the call from the generation record when the
// service is killed, shut down early or cut off by the upstream, which a
// plain body, naming its generation only once complete, could not.
//
// What the client gets: errors before the stream began as for a stream
// (OpenRouter's status and error); an error chunk after it began as
// OpenRouter answers a plain call whose provider failed, HTTP 200 with
// finish_reason "error" and the error on the choice; a stream that breaks
// without saying why, 502 in OpenAI's error shape. The request is sent as
// it came, only with "stream": true; stream_options is neither added nor
// removed, since OpenRouter sends usage either way.
func (s *Server) completeChat(w http.ResponseWriter, r *http.Request, c *call) {
	st, err := s.opt.Upstream.ChatStreamBody(r.Context(), c.upstreamBody)
	if err != nil {
		c.upstreamDur = s.opt.Now().Sub(c.upStart)
		c.fail(r.Context(), err)
		return
	}
	defer st.Close()
	inFlight := s.noteInFlight(c, st, false)
	var asm openrouter.Assembler
	st.Assemble(&asm) // one decode of each chunk serves the summary and the body
	for {
		ev, ok := c.next(st)
		if !ok {
			break
		}
		if ev.Kind == openrouter.EventData && !ev.Malformed {
			inFlight = s.noteInFlight(c, st, inFlight)
		}
	}
	c.upstreamDur = s.opt.Now().Sub(c.upStart)
	c.ttft = c.upstreamDur // the client's first byte is the whole body
	c.summary = st.Summary()
	if c.cut(r.Context()); c.shutdown {
		c.failure = shutdownError(r.Context().Err())
		return
	}
	if c.clientGone {
		return
	}
	switch {
	case c.summary.Err != nil:
		// The stream said how it failed; whatever the transport did after
		// that, the client gets OpenRouter's plain error body.
	case c.upstreamErr == nil && (asm.Chunks() == 0 || !c.summary.SawDone):
		// The body ended cleanly but early: no [DONE] and no error chunk.
		c.upstreamErr = errors.New("gateway: upstream stream ended without [DONE]")
		fallthrough
	case c.upstreamErr != nil:
		// Written here rather than as c.failure, so that the request log
		// says what happened (upstream_stream_broken, 502) as for a stream.
		writeError(w, &apiError{Status: http.StatusBadGateway, Type: "server_error", Code: "upstream_stream_broken",
			Message: "The upstream response ended unexpectedly."})
		return
	}
	c.plain = asm.Bytes()
	c.responseLen = int64(len(c.plain)) // sent after record; see writePlain
}

// writePlain sends a plain call's body, once its rows are durable.
func (c *call) writePlain(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if c.summary.GenerationID != "" {
		h.Set("X-Generation-Id", c.summary.GenerationID)
	}
	w.WriteHeader(http.StatusOK)
	w.Write(c.plain)
}

// next reads the upstream's next event; false at the stream's end, with
// c.upstreamErr set when it broke rather than ended.
func (c *call) next(st *openrouter.Stream) (openrouter.Event, bool) {
	ev, err := st.Next()
	if err != nil {
		c.ended(err)
		return ev, false
	}
	return ev, true
}

// ended notes why the upstream's stream ended: c.upstreamErr when it broke
// rather than ended.
func (c *call) ended(err error) {
	if !errors.Is(err, io.EOF) {
		c.upstreamErr = err
	}
}

// noteInFlight writes the in-flight entry once the generation id is known:
// from the X-Generation-Id header, else from the first chunk's id. It
// reports whether the entry exists.
func (s *Server) noteInFlight(c *call, st *openrouter.Stream, done bool) bool {
	if done {
		return true
	}
	sum := st.Summary()
	if sum.GenerationID == "" {
		return false
	}
	s.recordInFlight(c, sum)
	return true
}

// streamChat forwards each SSE event as it arrives, flushing per event.
// Its frame and forward's are what stays on the handler's stack while the
// stream waits: keep them small (see chat).
func (s *Server) streamChat(w http.ResponseWriter, r *http.Request, c *call) {
	st := s.startStream(w, r, c)
	if st == nil {
		return // failed before any byte reached the client (c.failure)
	}
	defer s.stopStream(st)
	s.forward(w, c, st)
	s.endStream(w, r, c, st)
}

// startStream opens the upstream stream and sends the client the 200 and
// headers. It returns nil when the upstream failed first.
func (s *Server) startStream(w http.ResponseWriter, r *http.Request, c *call) *openrouter.Stream {
	st, err := s.opt.Upstream.ChatStreamBody(r.Context(), c.upstreamBody)
	if err != nil {
		c.upstreamDur = s.opt.Now().Sub(c.upStart)
		c.fail(r.Context(), err)
		return nil
	}
	s.opt.Metrics.ActiveStreams.Inc()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	if id := st.Summary().GenerationID; id != "" {
		h.Set("X-Generation-Id", id)
	}
	c.inFlight = s.noteInFlight(c, st, false)
	w.WriteHeader(http.StatusOK)
	c.streaming = true
	c.out.flush()
	return st
}

// stopStream closes the upstream stream that startStream opened.
func (s *Server) stopStream(st *openrouter.Stream) {
	st.Close()
	s.opt.Metrics.ActiveStreams.Dec()
}

// forward copies the upstream's events to the client until either ends.
//
// Events are flushed to the client when the stream is about to read from
// the upstream (Stream.OnRead), not one by one: the client has every event
// before the gateway waits for the next, and events that arrived together
// (the last tokens, the finish and usage chunks) leave in one write.
func (s *Server) forward(w http.ResponseWriter, c *call, st *openrouter.Stream) {
	var unflushed bool
	var ferr error
	st.OnRead(func() {
		if unflushed && ferr == nil {
			ferr, unflushed = c.out.flush(), false
		}
	})
	defer func() {
		if unflushed && ferr == nil && !c.clientGone {
			ferr = c.out.flush()
		}
		if ferr != nil {
			c.clientGone = true
		}
	}()
	for {
		ev, err := st.Next() // not c.next: one frame less under the wait
		if ferr != nil {
			return
		}
		if err != nil {
			c.ended(err)
			return
		}
		// The event goes into the response's own buffer in pieces: no
		// buffer of ours per stream.
		var prefix string
		switch ev.Kind {
		case openrouter.EventComment:
		case openrouter.EventData:
			if ev.Malformed {
				continue // a client SDK would choke on it; the summary counts it
			}
			if c.ttft == 0 {
				c.ttft = s.opt.Now().Sub(c.start)
			}
			c.inFlight = s.noteInFlight(c, st, c.inFlight)
			prefix = "data: "
		case openrouter.EventDone:
			c.holdDone = true
			continue
		}
		c.out.extend()
		if err := c.writeEvent(w, prefix, ev.Raw); err != nil {
			c.clientGone = true
			return
		}
		unflushed = true
	}
}

// endStream notes how the stream ended and tells a client that is still
// there why it ends early, if it does.
func (s *Server) endStream(w http.ResponseWriter, r *http.Request, c *call, st *openrouter.Stream) {
	c.upstreamDur = s.opt.Now().Sub(c.upStart)
	c.summary = st.Summary()
	c.cut(r.Context())
	c.out.extend()
	if c.shutdown {
		// The client is still there: tell it why the stream ends.
		n, _ := w.Write(errorEvent(c.summary, http.StatusServiceUnavailable, shutdownMessage))
		c.responseLen += int64(n)
		c.out.flush()
	}
	if c.upstreamErr != nil && !c.clientGone && !c.shutdown {
		// The upstream broke without saying why: tell the client in the
		// same shape OpenRouter uses for mid-stream errors.
		n, _ := w.Write(brokenStreamEvent(c.summary))
		c.responseLen += int64(n)
		c.out.flush()
	}
}

// writeEvent writes one SSE event, prefix+raw+"\n\n", counting the bytes
// written. (io.WriteString: the ResponseWriter takes strings without a
// copy into a new slice.)
func (c *call) writeEvent(w io.Writer, prefix string, raw []byte) error {
	n, err := io.WriteString(w, prefix)
	c.responseLen += int64(n)
	if err == nil {
		n, err = w.Write(raw)
		c.responseLen += int64(n)
	}
	if err == nil {
		n, err = io.WriteString(w, "\n\n")
		c.responseLen += int64(n)
	}
	return err
}

// brokenStreamEvent is OpenRouter's mid-stream error chunk.
func brokenStreamEvent(sum openrouter.Summary) []byte {
	return errorEvent(sum, http.StatusBadGateway, "The upstream stream ended unexpectedly.")
}

// errorEvent is a mid-stream error chunk in OpenRouter's shape.
func errorEvent(sum openrouter.Summary, code int, message string) []byte {
	ev := map[string]any{
		"id": sum.GenerationID, "object": "chat.completion.chunk", "model": sum.Model,
		"error":   map[string]any{"code": code, "message": message},
		"choices": []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": "error"}},
	}
	b, _ := json.Marshal(ev)
	var out bytes.Buffer
	out.WriteString("data: ")
	out.Write(b)
	out.WriteString("\n\n")
	return out.Bytes()
}

// ErrShutdown is the cause with which the service cancels the requests
// still open when its shutdown deadline passes.
var ErrShutdown = errors.New("service shutting down")

const shutdownMessage = "The service shut down before the response ended; try again."

// shutdownError is what a plain call cut by the shutdown answers.
func shutdownError(cause error) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "service_shutdown", Message: shutdownMessage, RetryAfter: 1, Cause: cause}
}

// cut notes why the request's context ended, if it did: the service's
// shutdown, or the client leaving.
func (c *call) cut(ctx context.Context) {
	switch {
	case ctx.Err() == nil:
	case errors.Is(context.Cause(ctx), ErrShutdown):
		c.shutdown = true
	default:
		c.clientGone = true
	}
}

// fail records a call that failed before any byte reached the client.
// A client that left first (while OpenRouter had not answered yet, or
// during the wait before a retry) is the cause, not the upstream: the call
// is logged as 499 like one cut mid-stream, never as an upstream failure.
func (c *call) fail(ctx context.Context, err error) {
	c.upstreamErr = err
	if c.cut(ctx); c.shutdown {
		c.failure = shutdownError(err)
		return
	}
	if c.clientGone {
		c.failure = clientLeft(err)
		return
	}
	var up *openrouter.APIError
	if errors.As(err, &up) {
		c.failure = upstreamError(up)
		return
	}
	c.failure = upstreamOrUnreachable(err)
}

func upstreamOrUnreachable(err error) *apiError {
	var up *openrouter.APIError
	if errors.As(err, &up) {
		return upstreamError(up)
	}
	return upstreamUnreachable(err)
}
