package openroutertest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// FaultKind names a failure the simulator can inject into one chat request.
type FaultKind string

const (
	// FaultNone is a normal response.
	FaultNone FaultKind = ""
	// FaultStatus answers HTTP Fault.Status (default 503) before any
	// streaming, body {"error":{"code","message","metadata"}} with the
	// metadata OpenRouter sends for that status (403: moderation reasons;
	// 429: rate-limit headers; 400/408/502/503: provider_name and raw; none
	// for 401/402). Fault.RetryAfter sets Retry-After on 429 and 503. No
	// generation is created, so nothing enters the ledger.
	FaultStatus FaultKind = "status"
	// FaultMidStream sends, after AfterTokens content tokens, a chunk with a
	// top-level error {code, message, metadata} (code Fault.Status, default
	// 502, or a string such as "server_error" when StringCode) and a choice
	// with finish_reason "error", then ends the stream: no usage chunk, no
	// [DONE]. Ledger: prompt plus tokens so far, FinishReason "error".
	// Non-streaming: HTTP 200 with the partial text, finish_reason "error"
	// and the error on the choice, no usage.
	FaultMidStream FaultKind = "midstream"
	// FaultDisconnect closes the TCP connection after AfterTokens content
	// tokens, with no terminating chunk (non-streaming: before any byte of
	// the response). OpenRouter cannot tell this from a client that left,
	// so the ledger records it as Cancelled with the tokens so far.
	FaultDisconnect FaultKind = "disconnect"
	// FaultStall stops sending after AfterTokens content tokens for
	// Fault.Stall (0: until the client goes away or the simulator closes),
	// then continues normally. No keep-alive comments are sent meanwhile.
	FaultStall FaultKind = "stall"
	// FaultMalformed inserts one truncated-JSON data line after AfterTokens
	// content tokens, then continues normally (non-streaming: the body is
	// cut short). The ledger records the full generation.
	FaultMalformed FaultKind = "malformed"
	// FaultNoUsage omits the usage chunk (still sends [DONE]; non-streaming:
	// omits "usage"). The ledger and /generation keep the true usage.
	FaultNoUsage FaultKind = "no_usage"
	// FaultProviderError answers HTTP 200 whose first chunk (non-streaming:
	// choices[0]) has finish_reason "error" and an error object, then ends
	// with no usage and no [DONE] (non-streaming: no usage either). Nothing was
	// generated: the ledger records zero tokens and zero cost.
	FaultProviderError FaultKind = "provider_error"
	// FaultLegacyUsage sends the usage chunk in the earlier shape: one
	// choice with an empty delta instead of "choices": []. No effect on
	// non-streaming responses.
	FaultLegacyUsage FaultKind = "legacy_usage"
)

var faultKinds = map[FaultKind]bool{
	FaultStatus: true, FaultMidStream: true, FaultDisconnect: true, FaultStall: true,
	FaultMalformed: true, FaultNoUsage: true, FaultProviderError: true, FaultLegacyUsage: true,
}

// Fault is one injected failure. Fields that do not apply to Kind are
// ignored.
type Fault struct {
	Kind FaultKind
	// Status is the HTTP status for FaultStatus (default 503) and the
	// numeric error code for FaultMidStream and FaultProviderError
	// (default 502).
	Status int
	// RetryAfter is sent as Retry-After (whole seconds, rounded up) with
	// FaultStatus 429 and 503.
	RetryAfter time.Duration
	// AfterTokens is the number of content tokens sent before the fault.
	AfterTokens int
	// Stall is how long FaultStall pauses; 0 pauses until the client leaves.
	Stall time.Duration
	// StringCode makes a mid-stream or provider error's code a string.
	StringCode bool
	// Message replaces the default error message.
	Message string
}

// Validate reports every problem with the fault at once.
func (f Fault) Validate() error {
	var errs []error
	if f.Kind != FaultNone && !faultKinds[f.Kind] {
		errs = append(errs, fmt.Errorf("unknown kind %q", f.Kind))
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		errs = append(errs, fmt.Errorf("status %d is not 400..599", f.Status))
	}
	if f.AfterTokens < 0 {
		errs = append(errs, errors.New("negative AfterTokens"))
	}
	if f.RetryAfter < 0 || f.Stall < 0 {
		errs = append(errs, errors.New("negative duration"))
	}
	return errors.Join(errs...)
}

// withDefaults fills in the status/code defaults.
func (f Fault) withDefaults() Fault {
	if f.Status == 0 {
		switch f.Kind {
		case FaultStatus:
			f.Status = http.StatusServiceUnavailable
		case FaultMidStream, FaultProviderError:
			f.Status = http.StatusBadGateway
		}
	}
	return f
}

// Enqueue queues faults for the next chat requests that pass validation,
// one per request, in order. It panics on an invalid fault, like
// httptest does on misuse.
func (s *Simulator) Enqueue(faults ...Fault) {
	for _, f := range faults {
		if err := f.Validate(); err != nil {
			panic("openroutertest: Enqueue: " + err.Error())
		}
	}
	s.mu.Lock()
	s.faults = append(s.faults, faults...)
	s.mu.Unlock()
}

func (s *Simulator) nextFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

// upstreamError is the error object of a mid-stream or provider error.
func (f Fault) upstreamError(m Model) *wireError {
	var code any = f.Status
	if f.StringCode {
		code = stringCode(f.Status)
	}
	msg := f.Message
	if msg == "" {
		msg = "Provider returned error"
	}
	return &wireError{Code: code, Message: msg, Metadata: map[string]any{
		"provider_name": m.Provider,
		"raw":           `{"error":{"message":"upstream failure (simulated)","type":"server_error"}}`,
	}}
}

func stringCode(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "rate_limit_exceeded"
	case http.StatusServiceUnavailable:
		return "service_unavailable"
	case http.StatusBadRequest:
		return "invalid_request_error"
	}
	return "server_error"
}

// writeStatus answers a FaultStatus the way OpenRouter does for that status.
func (f Fault) writeStatus(w http.ResponseWriter, m Model, lastText string, now time.Time) {
	raw := map[string]any{"provider_name": m.Provider,
		"raw": `{"error":{"message":"upstream failure (simulated)"}}`}
	var msg string
	var meta map[string]any
	switch f.Status {
	case http.StatusUnauthorized:
		msg = "User not found."
	case http.StatusPaymentRequired:
		msg = "Insufficient credits. Add more using https://openrouter.ai/settings/credits"
	case http.StatusForbidden:
		flagged := []rune(lastText)
		if len(flagged) > 100 {
			flagged = flagged[:100]
		}
		msg = fmt.Sprintf("%s requires moderation on %s. Your input was flagged for %q. No credits were charged.",
			m.ID, m.Provider, "harassment")
		meta = map[string]any{"reasons": []string{"harassment"}, "flagged_input": string(flagged),
			"provider_name": m.Provider, "model_slug": m.ID}
	case http.StatusRequestTimeout:
		msg, meta = "Request timed out", raw
	case http.StatusTooManyRequests:
		msg = "Rate limit exceeded: free-models-per-min."
		reset := now.Add(time.Minute).UnixMilli()
		meta = map[string]any{"headers": map[string]string{"X-RateLimit-Limit": "20",
			"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset, 10)}}
	case http.StatusServiceUnavailable:
		msg, meta = "No instances available", raw
	default:
		msg, meta = "Provider returned error", raw
	}
	if f.Message != "" {
		msg = f.Message
	}
	if f.RetryAfter > 0 && (f.Status == http.StatusTooManyRequests || f.Status == http.StatusServiceUnavailable) {
		secs := (f.RetryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	writeError(w, f.Status, msg, meta)
}

// RandomFaults is the mix Options.FaultRate draws from, each equally
// likely: what goes wrong upstream in practice, before streaming (503,
// 429, 502), during it (an error chunk with a numeric or string code, a
// dropped connection, a malformed line) and in the accounting (no usage
// chunk, a provider error answered as HTTP 200). A drawn fault's
// AfterTokens is then set at random within the answer.
func RandomFaults() []Fault {
	return []Fault{
		{Kind: FaultStatus, Status: http.StatusServiceUnavailable, RetryAfter: time.Second},
		{Kind: FaultStatus, Status: http.StatusTooManyRequests, RetryAfter: time.Second},
		{Kind: FaultStatus, Status: http.StatusBadGateway},
		{Kind: FaultMidStream},
		{Kind: FaultMidStream, Status: http.StatusTooManyRequests, StringCode: true},
		{Kind: FaultDisconnect},
		{Kind: FaultMalformed},
		{Kind: FaultNoUsage},
		{Kind: FaultProviderError},
	}
}

// randomFault draws from RandomFaults for an answer of n content tokens.
func randomFault(n int64) Fault {
	mix := RandomFaults()
	f := mix[rand.IntN(len(mix))]
	if n > 0 {
		f.AfterTokens = rand.IntN(int(n))
	}
	return f
}
