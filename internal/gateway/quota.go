package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
	"llmmeter/openrouter"
)

const (
	// defaultMaxTokens stands in for max_tokens when a request has none, in
	// the upper-bound estimate a reservation holds.
	defaultMaxTokens = 4096
	// reservationTTL is how long a reservation holds if its call is never
	// ingested (the service died and the outbox entry was lost with the disk).
	reservationTTL = 30 * time.Minute
	// quotaCheckTimeout bounds the store round trip before each call.
	quotaCheckTimeout = 2 * time.Second
)

// reserve admits the call against the caller's quotas before it goes
// upstream. When the store cannot answer, the call goes ahead unchecked
// (an outage of the store must not take the gateway down) or, with
// QuotaFailClosed, is refused; either way the log says so.
func (s *Server) reserve(ctx context.Context, c *call, req *openrouter.ChatRequest) error {
	if s.opt.Quotas == nil {
		return nil
	}
	tokens, cost := s.estimate(c, req)
	ctx, cancel := context.WithTimeout(ctx, quotaCheckTimeout)
	defer cancel()
	err := s.opt.Quotas.Reserve(ctx, store.ReserveInput{RequestID: c.requestID, UserID: c.userID, Tokens: tokens, Cost: cost, TTL: reservationTTL})
	var qe *store.QuotaExceeded
	switch {
	case err == nil:
		return nil
	case errors.As(err, &qe):
		s.opt.Metrics.QuotaRejections.WithLabelValues(qe.QuotaType).Inc()
		return quotaError(qe, s.opt.Now())
	case s.opt.QuotaFailClosed:
		s.opt.Log.Error().Err(err).Str("request_id", c.requestID).Msg("quota check failed; refusing the call")
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "quota_unavailable",
			Message: "Quotas cannot be checked right now; try again shortly.", RetryAfter: 1, Cause: err}
	default:
		s.opt.Log.Error().Err(err).Str("request_id", c.requestID).Msg("quota check failed; serving the call unchecked")
		return nil
	}
}

// estimate is an upper bound of the call's tokens and cost: the prompt at
// about four bytes a token plus max_tokens (or defaultMaxTokens), priced
// from the cached model list; cost 0 when the price is not cached yet.
func (s *Server) estimate(c *call, req *openrouter.ChatRequest) (int64, money.Nanos) {
	completion := int64(defaultMaxTokens)
	for _, k := range []string{"max_completion_tokens", "max_tokens"} {
		var n int64
		if raw, ok := req.Extra[k]; ok && json.Unmarshal(raw, &n) == nil && n > 0 {
			completion = n
			break
		}
	}
	prompt := c.requestSize/4 + 1
	p, ok := s.models.peek(c.model)
	if !ok || !p.Known() {
		return prompt + completion, 0
	}
	return prompt + completion, p.Cost(openrouter.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion})
}

// quotaError is the 429 of the quota contract: OpenAI's error shape, a
// message naming the quota, and X-Quota-Limit / -Remaining / -Reset
// (cost quotas in USD; reset in Unix seconds).
func quotaError(qe *store.QuotaExceeded, now time.Time) *apiError {
	f := func(v int64) string { return strconv.FormatInt(v, 10) }
	if store.IsCostQuota(qe.QuotaType) {
		f = func(v int64) string { return money.Nanos(v).String() }
	}
	reset := time.UnixMilli(qe.ResetDate)
	retry := int(reset.Sub(now).Seconds()) + 1
	return &apiError{
		Status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: "quota_exceeded",
		Message:    fmt.Sprintf("Quota %s exceeded: %s of %s used; it resets at %s.", qe.QuotaType, f(qe.Used), f(qe.Limit), reset.UTC().Format(time.RFC3339)),
		RetryAfter: max(retry, 1),
		Headers: map[string]string{
			"X-Quota-Type": qe.QuotaType, "X-Quota-Limit": f(qe.Limit), "X-Quota-Remaining": f(qe.Remaining),
			"X-Quota-Reset": strconv.FormatInt(reset.Unix(), 10),
		},
	}
}
