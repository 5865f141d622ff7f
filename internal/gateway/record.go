package gateway

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"llmmeter/internal/config"
	"llmmeter/internal/metrics"
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
	ri.Status = b.RequestLogs[0].StatusCode
	if len(b.Usage) > 0 {
		u := b.Usage[0]
		ri.HasUsage, ri.Tokens, ri.TokensEstimated = true, u.TotalTokens, c.summary.Usage == nil
		ri.Cost, ri.CostKnown, ri.CostStatus = u.Cost, state == outbox.Ready, string(u.CostStatus)
		if state == outbox.Pending {
			ri.CostStatus = "pending"
		}
	}
	s.observe(c, b, state)
	// The client may be gone; the rows must still be written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), durableWait)
	defer cancel()
	err := s.opt.Outbox.PutAll(ctx, entries(c.requestID, b, state)...)
	if err == nil {
		return nil
	}
	// The outbox keeps the rows and writes them once it can; they must then
	// say what the client is about to see instead of [DONE] or the body.
	s.opt.Log.Error().Err(err).Str("request_id", c.requestID).Str("generation_id", c.summary.GenerationID).
		Msg("ROWS NOT DURABLE: the call is answered with an error; the outbox retries its rows")
	c.failure = accountingUnavailable(err)
	if !c.stream {
		c.responseLen = 0 // the body is not sent
	}
	b, state = c.rows(s.opt.Now())
	ri.Status = b.RequestLogs[0].StatusCode // the log line says what the row now says
	s.opt.Outbox.PutAsync(entries(c.requestID, b, state)...)
	return err
}

// accountingUnavailable is the answer while the outbox cannot write: the
// call is not recorded durably, so it is refused, or its stream ends with
// an error instead of [DONE].
func accountingUnavailable(cause error) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "accounting_unavailable",
		Message: "The gateway cannot record calls right now; try again shortly.", RetryAfter: 5, Cause: cause}
}

// entries are the outbox entries for a request's rows. When the usage row
// waits for the generation record (up to minutes), the request log and the
// activity row are final already: they go out at once, so the portal shows
// the call, and the usage row waits on its own under a key of its own. Both
// are put in one transaction, which also replaces the in-flight entry.
func entries(requestID string, b store.Batch, state outbox.State) []outbox.Item {
	if state != outbox.Pending {
		return []outbox.Item{{Key: requestID, State: state, Batch: b}}
	}
	return []outbox.Item{
		{Key: requestID, State: outbox.Ready, Batch: store.Batch{RequestLogs: b.RequestLogs, Activity: b.Activity}},
		{Key: usageKey(requestID), State: outbox.Pending, Batch: store.Batch{Usage: b.Usage}},
	}
}

// usageKey is the outbox key of a request's usage row when it waits apart.
func usageKey(requestID string) string { return requestID + "/usage" }

// durableWait bounds how long a call waits for its rows to be committed
// before it is answered as not recorded. A commit takes milliseconds; a
// machine loaded far past its cores has been seen to take over 10 s, and a
// client that waited for its answer is better served by [DONE] late than by
// an error for rows that are about to be on disk.
const durableWait = time.Minute

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
		RequestID: c.requestID, UserID: c.userID, APIKeyID: c.apiKeyID, ConversationID: c.conversationID, MessageID: c.messageID,
		RequestType: "chat.completions", Method: http.MethodPost,
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
		rl.Status, rl.StatusCode, rl.ErrorType, rl.ErrorMessage = store.StatusError, statusClientClosed, "client_disconnected", clientLeftMessage
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
		Activity:    []store.Activity{{ActivityKey: c.requestID, UserID: c.userID, APIKeyID: c.apiKeyID, ActivityType: store.ActivityChatCompletion, Metadata: meta, Timestamp: ts}},
	}
	if sum.GenerationID == "" {
		return b, outbox.Ready // no generation happened upstream: nothing was spent
	}
	u := store.Usage{
		GenerationID: sum.GenerationID, RequestID: c.requestID, UserID: c.userID, APIKeyID: c.apiKeyID,
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

// errorStatus turns OpenRouter's in-body error code (a mid-stream chunk's
// or a plain error choice's; a number or a string) into the HTTP status a
// request log keeps: a number in 400..599 as is, a known string code by
// meaning (rate_limit_exceeded is 429), anything else 502.
func errorStatus(code string) int {
	if n, err := strconv.Atoi(code); err == nil {
		if n >= 400 && n <= 599 {
			return n
		}
		return http.StatusBadGateway
	}
	if n, ok := errorCodeStatus[strings.ToLower(code)]; ok {
		return n
	}
	return http.StatusBadGateway
}

// errorCodeStatus maps the string codes OpenRouter passes through from
// providers (and OpenAI's error types) to a status.
var errorCodeStatus = map[string]int{
	"invalid_request_error": http.StatusBadRequest, "invalid_request": http.StatusBadRequest,
	"bad_request": http.StatusBadRequest, "context_length_exceeded": http.StatusBadRequest,
	"insufficient_quota": http.StatusPaymentRequired, "insufficient_credits": http.StatusPaymentRequired,
	"payment_required": http.StatusPaymentRequired,
	"permission_error": http.StatusForbidden, "forbidden": http.StatusForbidden, "moderation": http.StatusForbidden,
	"content_filter": http.StatusForbidden, "content_policy_violation": http.StatusForbidden,
	"timeout": http.StatusRequestTimeout, "request_timeout": http.StatusRequestTimeout, "timeout_error": http.StatusRequestTimeout,
	"rate_limit_exceeded": http.StatusTooManyRequests, "rate_limit_error": http.StatusTooManyRequests,
	"too_many_requests": http.StatusTooManyRequests, "resource_exhausted": http.StatusTooManyRequests,
	"server_error": http.StatusBadGateway, "internal_error": http.StatusBadGateway, "api_error": http.StatusBadGateway,
	"upstream_error": http.StatusBadGateway, "bad_gateway": http.StatusBadGateway,
	"service_unavailable": http.StatusServiceUnavailable, "unavailable": http.StatusServiceUnavailable,
	"overloaded": http.StatusServiceUnavailable, "overloaded_error": http.StatusServiceUnavailable,
	"gateway_timeout": http.StatusGatewayTimeout,
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
// model OpenRouter used, never the caller's free text. Tokens and cost are
// counted here only when the row is final (state ready); a pending row is
// counted by the Resolver when it settles, with the figures the row keeps.
func (s *Server) observe(c *call, b store.Batch, state outbox.State) {
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
	if len(b.Usage) == 0 || state != outbox.Ready {
		return
	}
	countUsage(m, model, b.Usage[0])
}

// observeAdded counts the latency the gateway adds to a call that went
// upstream: before it (the body read, authentication, attribution, quota
// admission) and after the upstream's answer ended (the rows made durable,
// then the body or [DONE] written). The time in between is the upstream's.
func (s *Server) observeAdded(r *http.Request, c *call, ended time.Time) {
	m := s.opt.Metrics
	m.AddedBefore.Observe(c.upStart.Sub(info(r.Context()).arrived).Seconds())
	m.AddedAfter.Observe(s.opt.Now().Sub(ended).Seconds())
}

// countUsage adds a final usage row to the token and cost counters.
func countUsage(m *metrics.Metrics, model string, u store.Usage) {
	m.Tokens.WithLabelValues(model, "prompt").Add(float64(u.PromptTokens))
	m.Tokens.WithLabelValues(model, "completion").Add(float64(u.CompletionTokens))
	m.Tokens.WithLabelValues(model, "cached").Add(float64(u.CachedTokens))
	m.Tokens.WithLabelValues(model, "reasoning").Add(float64(u.ReasoningTokens))
	m.CostUSD.WithLabelValues(model).Add(u.Cost.USD())
}
