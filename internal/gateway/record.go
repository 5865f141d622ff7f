package gateway

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"llmmeter/internal/config"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
	"llmmeter/openrouter"
)

// record hands the call's rows to the outbox and waits until they are
// durable, so that a response which ended normally is never lost. It runs
// after the last content chunk and before [DONE]: time to first token is
// unaffected. An error means the rows are not durable: the caller must not
// send [DONE] or the plain body.
func (s *Server) record(ctx context.Context, c *call) error {
	b, state := c.rows(s.opt.Now())
	ri := info(ctx)
	ri.Generation, ri.UpstreamMs, ri.TTFTMs, ri.ClientGone = c.summary.GenerationID, c.upstreamDur.Milliseconds(), c.ttft.Milliseconds(), c.clientGone
	if len(b.Usage) > 0 {
		ri.Tokens, ri.Cost, ri.CostStatus = b.Usage[0].TotalTokens, b.Usage[0].Cost, string(b.Usage[0].CostStatus)
		if state == outbox.Pending {
			ri.CostStatus = "pending"
		}
	}
	s.observe(c, b)
	// The client may be gone; the rows must still be written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := s.opt.Outbox.Put(ctx, c.requestID, state, b)
	if err == nil {
		return nil
	}
	// The outbox keeps the rows and writes them once it can; they must then
	// say what the client is about to see instead of [DONE] or the body.
	s.opt.Log.Error().Err(err).Str("request_id", c.requestID).Str("generation_id", c.summary.GenerationID).
		Msg("ROWS NOT DURABLE: the call is answered with an error; the outbox retries its rows")
	c.failure = accountingUnavailable(err)
	b, state = c.rows(s.opt.Now())
	s.opt.Outbox.PutAsync(c.requestID, state, b)
	return err
}

// accountingUnavailable is the answer while the outbox cannot write: the
// call is not recorded durably, so it is refused, or its stream ends with
// an error instead of [DONE].
func accountingUnavailable(cause error) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "accounting_unavailable",
		Message: "The gateway cannot record calls right now; try again shortly.", RetryAfter: 5, Cause: cause}
}

// inFlightLease is how long an in-flight entry is left alone by the
// resolver; longer than any stream, shorter than anyone's patience.
const inFlightLease = time.Hour

// recordInFlight leaves a pending entry as soon as the generation id is
// known, without waiting: if the service dies mid-stream, the restart
// completes it from the generation record. The final record replaces it.
func (s *Server) recordInFlight(c *call, sum openrouter.Summary) {
	c.summary, c.interrupted = sum, true
	b, _ := c.rows(s.opt.Now())
	c.interrupted = false
	s.opt.Outbox.PutInFlight(c.requestID, b, s.opt.Now().Add(inFlightLease))
}

// rows builds the request's usage, request-log and activity rows. The usage
// row is ready when OpenRouter reported the cost; otherwise the entry is
// pending until the generation record confirms tokens and cost.
func (c *call) rows(end time.Time) (store.Batch, outbox.State) {
	sum := c.summary
	ts, proc := c.start.UnixMilli(), end.Sub(c.start).Milliseconds()
	respSize := c.responseLen
	if c.holdDone && !c.clientGone {
		respSize += int64(len(doneEvent)) // written right after the rows are durable
	}
	model := sum.Model
	if model == "" {
		model = c.model
	}
	rl := store.RequestLog{
		RequestID: c.requestID, UserID: c.userID, RequestType: "chat.completions", Method: http.MethodPost,
		Endpoint: "/v1/chat/completions", Model: model, GenerationID: sum.GenerationID,
		Status: store.StatusSuccess, StatusCode: http.StatusOK,
		RequestSize: c.requestSize, ResponseSize: respSize, ProcessingTime: proc, TimeToFirstToken: c.ttft.Milliseconds(),
		UserAgent: truncate(c.userAgent, 512), IPAddress: c.ip, Timestamp: ts,
	}
	switch {
	case c.interrupted:
		rl.Status, rl.StatusCode, rl.ErrorType, rl.ErrorMessage = store.StatusError, http.StatusInternalServerError, "service_interrupted", "The service stopped before the response ended."
	case c.shutdown:
		rl.Status, rl.StatusCode, rl.ErrorType, rl.ErrorMessage = store.StatusError, http.StatusServiceUnavailable, "service_shutdown", shutdownMessage
	case c.failure != nil:
		rl.Status, rl.StatusCode, rl.ErrorType, rl.ErrorMessage = store.StatusError, c.failure.Status, c.failure.Type, truncate(c.failure.Message, 1024)
	case c.clientGone:
		rl.Status, rl.StatusCode, rl.ErrorType, rl.ErrorMessage = store.StatusError, 499, "client_disconnected", "The client closed the connection before the response ended."
	case sum.Err != nil:
		rl.Status, rl.StatusCode, rl.ErrorType, rl.ErrorMessage = store.StatusError, errorStatus(sum.Err.Code), "upstream_error", truncate(sum.Err.Message, 1024)
	case c.upstreamErr != nil:
		rl.Status, rl.StatusCode, rl.ErrorType, rl.ErrorMessage = store.StatusError, http.StatusBadGateway, "upstream_stream_broken", "The upstream stream ended unexpectedly."
	}
	meta := map[string]any{"model": model, "stream": c.stream, "status": rl.Status}
	if sum.GenerationID != "" {
		meta["generationId"] = sum.GenerationID
	}
	if c.conversationID != "" {
		meta["conversationId"] = c.conversationID
	}
	b := store.Batch{
		RequestLogs: []store.RequestLog{rl},
		Activity:    []store.Activity{{ActivityKey: c.requestID, UserID: c.userID, ActivityType: store.ActivityChatCompletion, Metadata: meta, Timestamp: ts}},
	}
	if sum.GenerationID == "" {
		return b, outbox.Ready // no generation happened upstream: nothing was spent
	}
	u := store.Usage{
		GenerationID: sum.GenerationID, RequestID: c.requestID, UserID: c.userID,
		ConversationID: c.conversationID, MessageID: c.messageID, Model: model, Provider: sum.Provider,
		FinishReason: sum.FinishReason, Timestamp: ts, ProcessingTime: proc, Stream: c.stream,
		CostStatus: store.CostEstimated,
	}
	state := outbox.Pending
	if up := sum.Usage; up != nil {
		u.PromptTokens, u.CompletionTokens, u.TotalTokens = up.PromptTokens, up.CompletionTokens, up.TotalTokens
		u.CachedTokens, u.ReasoningTokens = up.PromptTokensDetails.CachedTokens, up.CompletionTokensDetails.ReasoningTokens
		u.IsBYOK = up.IsBYOK
		if up.Cost != nil {
			u.Cost, u.CostStatus, state = *up.Cost, store.CostReported, outbox.Ready
		}
	} else {
		// No usage chunk: rough figures (about four characters a token) that
		// stand only if the generation record never answers.
		u.Cancelled = c.clientGone || c.interrupted || c.shutdown
		u.PromptTokens, u.CompletionTokens = c.requestSize/4, int64(sum.CompletionChars+3)/4
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	b.Usage = []store.Usage{u}
	return b, state
}

// errorStatus turns OpenRouter's mid-stream error code (a number or a
// string) into the HTTP status a request log keeps.
func errorStatus(code string) int {
	if n, err := strconv.Atoi(code); err == nil && n >= 400 && n <= 599 {
		return n
	}
	return http.StatusBadGateway
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// clientIP is the peer address under the configured privacy policy.
// Forwarded headers are not trusted: the service listens on loopback or
// behind a proxy the operator controls.
func clientIP(r *http.Request, policy string) string {
	if policy == config.IPOff {
		return ""
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || policy != config.IPTruncate {
		return host
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.Mask(net.CIDRMask(24, 32)).String()
	}
	return ip.Mask(net.CIDRMask(48, 128)).String()
}

// observe counts the call in the service's metrics. The model label is the
// model OpenRouter used, never the caller's free text.
func (s *Server) observe(c *call, b store.Batch) {
	m := s.opt.Metrics
	model := "none"
	if c.summary.Model != "" {
		model = c.summary.Model
	}
	rl := b.RequestLogs[0]
	m.Requests.WithLabelValues(model, rl.Status, strconv.Itoa(rl.StatusCode)).Inc()
	if c.upstreamDur > 0 {
		m.UpstreamLatency.WithLabelValues(model).Observe(c.upstreamDur.Seconds())
	}
	if c.ttft > 0 {
		m.TimeToFirstToken.WithLabelValues(model).Observe(c.ttft.Seconds())
	}
	if len(b.Usage) == 0 {
		return
	}
	u := b.Usage[0]
	m.Tokens.WithLabelValues(model, "prompt").Add(float64(u.PromptTokens))
	m.Tokens.WithLabelValues(model, "completion").Add(float64(u.CompletionTokens))
	m.Tokens.WithLabelValues(model, "cached").Add(float64(u.CachedTokens))
	m.Tokens.WithLabelValues(model, "reasoning").Add(float64(u.ReasoningTokens))
	m.CostUSD.WithLabelValues(model).Add(u.Cost.USD())
}
