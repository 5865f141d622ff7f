package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
	"llmmeter/openrouter"
)

const (
	// defaultMaxTokens stands in for max_tokens when a request has none, in
	// the upper-bound estimate a reservation holds.
	defaultMaxTokens = 4096
	// defaultQuotaTimeout bounds the wait for a lease before a call
	// (QUOTA_CHECK_TIMEOUT): a cold user's first call, or one whose lease
	// ran out.
	defaultQuotaTimeout = 2 * time.Second
	// heldRetryAfter is the Retry-After, in seconds, of a refusal that
	// only room held by calls in flight and leases causes.
	heldRetryAfter = 2
)

// Admitter admits calls against quotas: quotalease.Manager, which answers
// warm users from its leases without a store round trip.
type Admitter interface {
	Admit(ctx context.Context, requestID, userID string, est store.Amounts) error
}

// reserve admits the call against the caller's quotas before it goes
// upstream. A reservation the store refuses as invalid (store.ErrInvalid:
// an estimate out of range) is the request's fault: 400, nothing stored.
// When the store cannot answer, the call goes ahead unchecked (an outage of
// the store must not take the gateway down) or, with QuotaFailClosed, is
// refused; either way the log says so.
func (s *Server) reserve(ctx context.Context, c *call, req *openrouter.ChatRequest) error {
	if s.opt.Quotas == nil {
		return nil
	}
	prices := s.models.view()
	if prices.byID == nil {
		// Only the first calls of a process: without any price a cost
		// quota could not be checked, so wait (as long as a quota check)
		// for the model list instead of reserving $0.
		fetch, done := context.WithTimeout(ctx, s.opt.QuotaTimeout)
		s.models.get(fetch)
		done()
		prices = s.models.view()
	}
	tokens, cost := estimate(c.requestSize, req, prices)
	ctx, cancel := context.WithTimeout(ctx, s.opt.QuotaTimeout)
	defer cancel()
	err := s.opt.Quotas.Admit(ctx, c.requestID, c.userID, store.Amounts{Requests: 1, Tokens: tokens, Cost: cost})
	var qe *store.QuotaExceeded
	switch {
	case err == nil:
		return nil
	case errors.As(err, &qe):
		s.opt.Metrics.QuotaRejections.WithLabelValues(qe.QuotaType).Inc()
		refused := quotaError(qe, s.opt.Now())
		s.recordRefusal(c, refused)
		return refused
	case errors.Is(err, store.ErrInvalid):
		s.opt.Log.Warn().Err(err).Str("request_id", c.requestID).Int64("estimate_tokens", tokens).
			Msg("quota reservation refused as invalid; refusing the call")
		return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "invalid_request",
			Message: "This request's size cannot be admitted against your quotas; lower max_tokens or n.", Cause: err}
	case s.opt.QuotaFailClosed:
		s.opt.Log.Error().Err(err).Str("request_id", c.requestID).Msg("quota check failed; refusing the call")
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "quota_unavailable",
			Message: "Quotas cannot be checked right now; try again shortly.", RetryAfter: 1, Cause: err}
	default:
		s.opt.Log.Error().Err(err).Str("request_id", c.requestID).Msg("quota check failed; serving the call unchecked")
		return nil
	}
}

// recordRefusal lists a call refused on a quota among the requests, so
// admins see it: a request log with status 429, errorType quota_exceeded
// and the message naming the quota type; no usage row (nothing went
// upstream) and no activity row. Ingest counts it nowhere
// (store.IsQuotaRefusal); llmmeter_requests_total counts it, as it counts
// every call with a request log. The answer does not wait for it to be
// durable: nothing was spent.
func (s *Server) recordRefusal(c *call, refused *apiError) {
	c.failure = refused
	b, _ := c.rows(s.opt.Now())
	c.failure = nil
	rl := b.RequestLogs[0]
	rl.ErrorType = store.ErrorQuotaExceeded
	b = store.Batch{RequestLogs: []store.RequestLog{rl}}
	s.observe(c, b, outbox.Ready)
	s.opt.Outbox.PutAsync(outbox.Item{Key: c.requestID, State: outbox.Ready, Batch: b})
}

// estimate is an upper bound of the call's tokens and cost, for its
// reservation: the prompt at about four bytes a token, plus max_tokens (or
// defaultMaxTokens) for each of the n choices. The cost is that usage at
// the most expensive model the request may use (model and the models
// fallback list; a listed model without a usable price counts at the
// highest known prices); when no candidate is in the cached list, at the
// highest known prices. It is 0 only before the list was first fetched.
// The call settles at its actual cost when its rows are ingested. Sums
// saturate at store.MaxAmount; Validate already bounds max_tokens and n.
func estimate(requestSize int64, req *openrouter.ChatRequest, prices priceView) (int64, money.Nanos) {
	maxTokens, n, _ := req.OutputLimits()
	if maxTokens == 0 {
		maxTokens = defaultMaxTokens
	}
	prompt := requestSize/4 + 1
	completion := store.MulAmounts(maxTokens, n)
	u := openrouter.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: store.AddAmounts(prompt, completion)}
	var cost money.Nanos
	priced := false
	for _, m := range candidates(req) {
		if p, ok := prices.price(m); ok {
			cost, priced = max(cost, p.Cost(u)), true
		}
	}
	if !priced && prices.byID != nil {
		cost = prices.ceiling.Cost(u)
	}
	return u.TotalTokens, money.Nanos(store.ClampAmount(int64(cost)))
}

// candidates are the models a request may run on: model, then the
// fallback list.
func candidates(req *openrouter.ChatRequest) []string {
	out := make([]string, 0, 1+len(req.Models))
	if req.Model != "" {
		out = append(out, req.Model)
	}
	return append(out, req.Models...)
}

// checkOutputLimit refuses a max_tokens (or max_completion_tokens) that no
// model the request may use can produce, when the cached model list knows
// every candidate's limit; otherwise Validate's bound of 2^31 holds.
func (s *Server) checkOutputLimit(req *openrouter.ChatRequest) error {
	maxTokens, _, _ := req.OutputLimits()
	if maxTokens == 0 {
		return nil
	}
	v := s.models.view()
	var limit int64
	for _, m := range candidates(req) {
		l := v.outputLimit(m)
		if l <= 0 {
			return nil
		}
		limit = max(limit, l)
	}
	if maxTokens > limit {
		return badRequest("max_tokens (or max_completion_tokens) %d is more than the model can produce (at most %d tokens).", maxTokens, limit)
	}
	return nil
}

// quotaError is the 429 of the quota contract: OpenAI's error shape, a
// message naming the quota, and X-Quota-Limit / -Remaining / -Reset
// (cost quotas in USD; reset in Unix seconds).
//
// The message counts what is held as well as what is used: during a burst
// the admitted calls are still in flight (reserved, or drawn from a lease)
// and nothing is settled yet, and "0 of 10 used" beside a refusal read as a
// lie. What is held is what the limit no longer leaves: limit − remaining.
func quotaError(qe *store.QuotaExceeded, now time.Time) *apiError {
	f := func(v int64) string { return strconv.FormatInt(v, 10) }
	if store.IsCostQuota(qe.QuotaType) {
		f = func(v int64) string { return money.Nanos(v).String() }
	}
	reset := time.UnixMilli(qe.ResetDate)
	retry := int(reset.Sub(now).Seconds()) + 1
	count := f(qe.Used) + " of " + f(qe.Limit) + " used"
	if taken := qe.Limit - max(qe.Remaining, 0); taken > qe.Used {
		count = fmt.Sprintf("%s of %s in use or used (%s used, %s held by calls in flight and leases)",
			f(taken), f(qe.Limit), f(qe.Used), f(taken-qe.Used))
	}
	h := map[string]string{
		"X-Quota-Type": qe.QuotaType, "X-Quota-Limit": f(qe.Limit), "X-Quota-Remaining": f(qe.Remaining),
		"X-Quota-Reset": strconv.FormatInt(reset.Unix(), 10),
	}
	// OpenAI's SDKs (Node, Python, Go) retry every 429 twice by default,
	// and ignore a Retry-After over 60 s (the reset is hours away) for
	// their own backoff of a second or two: each retry is refused again,
	// and logged as another refused request. When what is settled alone
	// fills the quota, nothing frees before the reset, so say so in the
	// header those SDKs obey. With room left that calls in flight and
	// leases hold, a retry may fit once they settle: the SDK decides.
	if qe.Used >= qe.Limit {
		h["X-Should-Retry"] = "false"
	} else {
		// What is held frees as those calls end and idle leases return,
		// and then this call fits (a call alone is admitted while used <
		// limit): a Retry-After of hours would tell a client that honours
		// it to wait for the reset it does not need.
		retry = min(retry, heldRetryAfter)
	}
	return &apiError{
		Status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: "quota_exceeded",
		Message:    fmt.Sprintf("Quota %s exceeded: %s; it resets at %s.", qe.QuotaType, count, reset.UTC().Format(time.RFC3339)),
		RetryAfter: max(retry, 1),
		Headers:    h,
	}
}
