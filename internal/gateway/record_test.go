package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/auth"
	"llmmeter/internal/config"
	"llmmeter/internal/metrics"
	"llmmeter/internal/money"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
	"llmmeter/openrouter"
	"llmmeter/openrouter/openroutertest"
)

var t0 = time.UnixMilli(1_700_000_000_000)

// baseCall is a streamed call that ended normally with a generation, before
// its usage is known.
func baseCall() *call {
	return &call{
		requestID: "req_1", userID: "u1", conversationID: "conv", messageID: "msg", model: "asked/model",
		stream: true, start: t0, requestSize: 400, userAgent: "sdk/1", ip: "10.0.0.0",
		ttft: 120 * time.Millisecond, upstreamDur: time.Second, responseLen: 900,
		summary: openrouter.Summary{GenerationID: "gen-1", Model: "used/model", Provider: "Prov", FinishReason: "stop", CompletionChars: 41},
	}
}

func nanos(n int64) *money.Nanos { v := money.Nanos(n); return &v }

// TestRowsStatus pins how a call's outcome becomes the request log's status,
// code, error type and message, including which outcome wins when several
// apply (the switch order in rows).
func TestRowsStatus(t *testing.T) {
	quota := &apiError{Status: 429, Type: "rate_limit_error", Message: "slow down"}
	cases := []struct {
		name     string
		set      func(c *call)
		status   string
		code     int
		errType  string
		errMatch string
	}{
		// Nothing went wrong: success, 200, no error.
		{"success", func(c *call) {}, store.StatusSuccess, 200, "", ""},
		// The in-flight rows, as they read if the service dies mid-stream.
		{"interrupted", func(c *call) { c.interrupted = true }, store.StatusError, 500, "service_interrupted", "service stopped"},
		// interrupted wins over every other outcome: it is what the rows say
		// while the call is still open.
		{"interrupted beats failure", func(c *call) { c.interrupted, c.failure = true, quota }, store.StatusError, 500, "service_interrupted", "service stopped"},
		// Cut by the service's shutdown: 503 service_shutdown.
		{"shutdown", func(c *call) { c.shutdown = true }, store.StatusError, 503, "service_shutdown", "service shut down"},
		// shutdown wins over the failure it caused and a client gone with it.
		{"shutdown beats failure", func(c *call) { c.shutdown, c.failure, c.clientGone = true, quota, true }, store.StatusError, 503, "service_shutdown", "service shut down"},
		// A failure before any byte keeps the client's status and message.
		{"failure", func(c *call) { c.failure = quota }, store.StatusError, 429, "rate_limit_error", "slow down"},
		// failure wins over a client that left meanwhile.
		{"failure beats clientGone", func(c *call) { c.failure, c.clientGone = quota, true }, store.StatusError, 429, "rate_limit_error", "slow down"},
		// The client closed the connection: nginx's 499.
		{"clientGone", func(c *call) { c.clientGone = true }, store.StatusError, 499, "client_disconnected", "client closed"},
		// clientGone wins over an upstream error seen afterwards.
		{"clientGone beats sum.Err", func(c *call) {
			c.clientGone, c.summary.Err = true, &openrouter.StreamError{Code: "429", Message: "x"}
		}, store.StatusError, 499, "client_disconnected", ""},
		// OpenRouter's mid-stream error keeps its code and message.
		{"sum.Err numeric", func(c *call) { c.summary.Err = &openrouter.StreamError{Code: "429", Message: "Rate limited upstream"} },
			store.StatusError, 429, "upstream_error", "Rate limited upstream"},
		// A string code becomes 502.
		{"sum.Err string code", func(c *call) { c.summary.Err = &openrouter.StreamError{Code: "server_error", Message: "boom"} },
			store.StatusError, 502, "upstream_error", "boom"},
		// sum.Err wins over the broken stream it explains.
		{"sum.Err beats upstreamErr", func(c *call) {
			c.summary.Err, c.upstreamErr = &openrouter.StreamError{Code: "503", Message: "down"}, errors.New("eof")
		}, store.StatusError, 503, "upstream_error", "down"},
		// The stream broke without a word from OpenRouter.
		{"upstreamErr", func(c *call) { c.upstreamErr = errors.New("unexpected EOF") }, store.StatusError, 502, "upstream_stream_broken", "ended unexpectedly"},
		// A long upstream message is cut at 1024 bytes.
		{"long message truncated", func(c *call) {
			c.summary.Err = &openrouter.StreamError{Code: "500", Message: strings.Repeat("m", 2000)}
		},
			store.StatusError, 500, "upstream_error", strings.Repeat("m", 1024)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := baseCall()
			tc.set(c)
			b, _ := c.rows(t0.Add(2 * time.Second))
			rl := b.RequestLogs[0]
			if rl.Status != tc.status || rl.StatusCode != tc.code || rl.ErrorType != tc.errType || !strings.Contains(rl.ErrorMessage, tc.errMatch) {
				t.Fatalf("got %s %d %q %q", rl.Status, rl.StatusCode, rl.ErrorType, rl.ErrorMessage)
			}
			if len(rl.ErrorMessage) > 1024 || (tc.errType == "") != (rl.ErrorMessage == "") {
				t.Fatalf("message %q", rl.ErrorMessage)
			}
			if got := b.Activity[0].Metadata["status"]; got != tc.status {
				t.Fatalf("activity status %v", got)
			}
		})
	}
}

// TestRowsFields pins the request log and activity fields that do not
// depend on the outcome.
func TestRowsFields(t *testing.T) {
	c := baseCall()
	c.userAgent = strings.Repeat("a", 600)
	b, _ := c.rows(t0.Add(2500 * time.Millisecond))
	rl := b.RequestLogs[0]
	want := store.RequestLog{
		RequestID: "req_1", UserID: "u1", ConversationID: "conv", MessageID: "msg", RequestType: "chat.completions", Method: "POST", Endpoint: "/v1/chat/completions",
		Model: "used/model", GenerationID: "gen-1", Status: "success", StatusCode: 200, RequestSize: 400, ResponseSize: 900,
		ProcessingTime: 2500, TimeToFirstToken: 120, UserAgent: strings.Repeat("a", 512), IPAddress: "10.0.0.0", Timestamp: t0.UnixMilli(),
	}
	if rl != want {
		t.Fatalf("request log\n got %+v\nwant %+v", rl, want)
	}
	a := b.Activity[0]
	if a.ActivityKey != "req_1" || a.UserID != "u1" || a.ActivityType != store.ActivityChatCompletion || a.Timestamp != t0.UnixMilli() {
		t.Fatalf("activity %+v", a)
	}
	m := a.Metadata
	if m["model"] != "used/model" || m["stream"] != true || m["generationId"] != "gen-1" || m["conversationId"] != "conv" || len(m) != 5 {
		t.Fatalf("metadata %v", m)
	}

	// [DONE] still to be written counts in the response size; not when the
	// client is gone (it will never be written).
	c = baseCall()
	c.holdDone = true
	if b, _ := c.rows(t0); b.RequestLogs[0].ResponseSize != 900+int64(len(doneEvent)) {
		t.Fatalf("size with [DONE] held: %d", b.RequestLogs[0].ResponseSize)
	}
	c.clientGone = true
	if b, _ := c.rows(t0); b.RequestLogs[0].ResponseSize != 900 {
		t.Fatalf("size when the client left: %d", b.RequestLogs[0].ResponseSize)
	}

	// Without a generation: the requested model, no generation keys in the
	// metadata, no conversation key when there is none.
	c = baseCall()
	c.summary, c.conversationID = openrouter.Summary{}, ""
	b, _ = c.rows(t0)
	if b.RequestLogs[0].Model != "asked/model" || len(b.Activity[0].Metadata) != 3 {
		t.Fatalf("no generation: %+v %v", b.RequestLogs[0], b.Activity[0].Metadata)
	}
}

// TestRowsUsage pins the usage row and the outbox state: ready when
// OpenRouter reported the cost, pending otherwise, none without a
// generation.
func TestRowsUsage(t *testing.T) {
	reported := &openrouter.Usage{PromptTokens: 7, CompletionTokens: 4, TotalTokens: 11, Cost: nanos(1234), IsBYOK: true,
		PromptTokensDetails: openrouter.PromptTokensDetails{CachedTokens: 3}, CompletionTokensDetails: openrouter.CompletionTokensDetails{ReasoningTokens: 2}}
	cases := []struct {
		name  string
		set   func(c *call)
		state outbox.State
		want  *store.Usage // nil: no usage row
	}{
		// No generation happened upstream: nothing was spent, nothing waits.
		{"no generation", func(c *call) { c.summary = openrouter.Summary{} }, outbox.Ready, nil},
		// Usage with a cost: the row is final.
		{"reported", func(c *call) { c.summary.Usage = reported }, outbox.Ready, &store.Usage{
			PromptTokens: 7, CompletionTokens: 4, TotalTokens: 11, CachedTokens: 3, ReasoningTokens: 2, IsBYOK: true,
			Cost: 1234, CostStatus: store.CostReported}},
		// Usage without a cost waits for the generation record.
		{"usage, cost null", func(c *call) { u := *reported; u.Cost = nil; c.summary.Usage = &u }, outbox.Pending, &store.Usage{
			PromptTokens: 7, CompletionTokens: 4, TotalTokens: 11, CachedTokens: 3, ReasoningTokens: 2, IsBYOK: true,
			CostStatus: store.CostEstimated}},
		// A usage object without total_tokens gets the sum.
		{"total missing", func(c *call) {
			c.summary.Usage = &openrouter.Usage{PromptTokens: 5, CompletionTokens: 6, Cost: nanos(9)}
		},
			outbox.Ready, &store.Usage{PromptTokens: 5, CompletionTokens: 6, TotalTokens: 11, Cost: 9, CostStatus: store.CostReported}},
		// No usage chunk: four bytes a token for the prompt, four characters
		// (rounded up) for the completion, pending.
		{"no usage", func(c *call) {}, outbox.Pending, &store.Usage{PromptTokens: 100, CompletionTokens: 11, TotalTokens: 111, CostStatus: store.CostEstimated}},
		// ... marked cancelled when the client left ...
		{"no usage, client gone", func(c *call) { c.clientGone = true }, outbox.Pending,
			&store.Usage{PromptTokens: 100, CompletionTokens: 11, TotalTokens: 111, CostStatus: store.CostEstimated, Cancelled: true}},
		// ... or the service is going down with it.
		{"no usage, interrupted", func(c *call) { c.interrupted = true }, outbox.Pending,
			&store.Usage{PromptTokens: 100, CompletionTokens: 11, TotalTokens: 111, CostStatus: store.CostEstimated, Cancelled: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := baseCall()
			tc.set(c)
			b, state := c.rows(t0.Add(3 * time.Second))
			if state != tc.state {
				t.Fatalf("state %s, want %s", state, tc.state)
			}
			if tc.want == nil {
				if len(b.Usage) != 0 {
					t.Fatalf("usage %+v", b.Usage)
				}
				return
			}
			w := *tc.want
			w.GenerationID, w.RequestID, w.UserID, w.ConversationID, w.MessageID = "gen-1", "req_1", "u1", "conv", "msg"
			w.Model, w.Provider, w.FinishReason, w.Timestamp, w.ProcessingTime, w.Stream = "used/model", "Prov", "stop", t0.UnixMilli(), 3000, true
			if len(b.Usage) != 1 || b.Usage[0] != w {
				t.Fatalf("usage\n got %+v\nwant %+v", b.Usage, w)
			}
		})
	}
}

// TestEntries: a final row goes out as one entry; a row waiting for the
// generation record is split so that the request log ships at once.
func TestEntries(t *testing.T) {
	b := store.Batch{RequestLogs: []store.RequestLog{{RequestID: "r"}}, Activity: []store.Activity{{ActivityKey: "r"}}, Usage: []store.Usage{{GenerationID: "g"}}}
	ready := entries("r", b, outbox.Ready)
	if len(ready) != 1 || ready[0].Key != "r" || ready[0].State != outbox.Ready || ready[0].Batch.Len() != 3 {
		t.Fatalf("ready: %+v", ready)
	}
	pending := entries("r", b, outbox.Pending)
	if len(pending) != 2 {
		t.Fatalf("pending: %+v", pending)
	}
	logs, usage := pending[0], pending[1]
	if logs.Key != "r" || logs.State != outbox.Ready || len(logs.Batch.RequestLogs) != 1 || len(logs.Batch.Activity) != 1 || len(logs.Batch.Usage) != 0 {
		t.Fatalf("request log entry: %+v", logs)
	}
	if usage.Key != "r/usage" || usage.State != outbox.Pending || len(usage.Batch.Usage) != 1 || usage.Batch.Len() != 1 {
		t.Fatalf("usage entry: %+v", usage)
	}
}

// TestErrorStatus: OpenRouter's mid-stream code, a number or a string,
// becomes the HTTP status the request log keeps.
func TestErrorStatus(t *testing.T) {
	for _, c := range []struct {
		code string
		want int
	}{
		{"429", 429}, // a client error code is kept
		{"400", 400}, // the lowest error status
		{"599", 599}, // the highest
		{"503", 503}, // a server error code is kept
		{"399", 502}, // below the error range: not a failure status
		{"600", 502}, // above the range
		{"200", 502}, // a success code cannot describe a failure
		{"server_error", 502},
		{"", 502},
		{"-429", 502},
	} {
		if got := errorStatus(c.code); got != c.want {
			t.Errorf("errorStatus(%q) = %d, want %d", c.code, got, c.want)
		}
	}
}

// TestClientIP pins the privacy policies.
func TestClientIP(t *testing.T) {
	cases := []struct {
		remote, policy, want string
	}{
		{"203.0.113.7:4000", config.IPFull, "203.0.113.7"},              // full: the address without port
		{"203.0.113.7:4000", config.IPTruncate, "203.0.113.0"},          // IPv4 to /24
		{"203.0.113.7:4000", config.IPOff, ""},                          // off: nothing
		{"[2001:db8:aa:bb::1]:443", config.IPFull, "2001:db8:aa:bb::1"}, // IPv6 full
		{"[2001:db8:aa:bb::1]:443", config.IPTruncate, "2001:db8:aa::"}, // IPv6 to /48
		{"[::ffff:203.0.113.7]:1", config.IPTruncate, "203.0.113.0"},    // v4-mapped counts as IPv4
		{"203.0.113.7", config.IPTruncate, "203.0.113.0"},               // no port (a unix-socket proxy)
		{"@", config.IPTruncate, "@"},                                   // not an address: kept as is
		{"@", config.IPFull, "@"},
		{"unix:4", config.IPOff, ""},
	}
	for _, c := range cases {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{"X-Forwarded-For": {"1.1.1.1"}}}
		if got := clientIP(r, c.policy); got != c.want {
			t.Errorf("clientIP(%q, %s) = %q, want %q", c.remote, c.policy, got, c.want)
		}
	}
}

// TestTruncate cuts at n bytes and leaves shorter strings alone.
func TestTruncate(t *testing.T) {
	if truncate("abc", 3) != "abc" || truncate("abcd", 3) != "abc" || truncate("", 0) != "" {
		t.Fatal("truncate")
	}
}

// TestUpstreamError: OpenRouter's refusals keep their status, except a 401
// (our key is wrong: a 502) and statuses outside 4xx/5xx.
func TestUpstreamError(t *testing.T) {
	cases := []struct {
		in         openrouter.APIError
		status     int
		typ, code  string
		retryAfter int
		message    string
	}{
		{openrouter.APIError{StatusCode: 400, Code: "400", Message: "bad"}, 400, "invalid_request_error", "400", 0, "bad"},
		// Our own key was refused: the caller is not at fault.
		{openrouter.APIError{StatusCode: 401, Code: "401", Message: "No auth"}, 502, "server_error", "upstream_auth", 0, "could not authenticate"},
		{openrouter.APIError{StatusCode: 402, Message: "credits"}, 402, "insufficient_quota", "402", 0, "credits"},
		{openrouter.APIError{StatusCode: 403, Message: "flagged"}, 403, "permission_error", "403", 0, "flagged"},
		{openrouter.APIError{StatusCode: 408}, 408, "timeout_error", "408", 0, "Request Timeout"},
		// Retry-After is rounded up to whole seconds.
		{openrouter.APIError{StatusCode: 429, Code: "rate_limit", RetryAfter: 1500 * time.Millisecond}, 429, "rate_limit_error", "rate_limit", 2, "Too Many Requests"},
		{openrouter.APIError{StatusCode: 429, RetryAfter: 2 * time.Second}, 429, "rate_limit_error", "429", 2, ""},
		{openrouter.APIError{StatusCode: 500}, 500, "server_error", "500", 0, ""},
		{openrouter.APIError{StatusCode: 503}, 503, "server_error", "503", 0, ""},
		// The top of the server-error range is still a server_error.
		{openrouter.APIError{StatusCode: 599}, 599, "server_error", "599", 0, ""},
		// Other 4xx keep their status as a generic api_error.
		{openrouter.APIError{StatusCode: 404}, 404, "api_error", "404", 0, "Not Found"},
		{openrouter.APIError{StatusCode: 499}, 499, "api_error", "499", 0, ""},
		// A status outside the error range is never passed on (before the
		// fix a 600 went out as a 600 "server_error"; a 499 had no message).
		{openrouter.APIError{StatusCode: 302}, 502, "api_error", "502", 0, ""},
		{openrouter.APIError{StatusCode: 600}, 502, "api_error", "502", 0, ""},
	}
	for _, c := range cases {
		in := c.in
		e := upstreamError(&in)
		if e.Status != c.status || e.Type != c.typ || e.Code != c.code || e.RetryAfter != c.retryAfter || !strings.Contains(e.Message, c.message) || e.Message == "" {
			t.Errorf("%d: got %d %s %s retry %d %q", c.in.StatusCode, e.Status, e.Type, e.Code, e.RetryAfter, e.Message)
		}
		if !errors.Is(e, &in) && e.Cause != &in {
			t.Errorf("%d: cause lost", c.in.StatusCode)
		}
	}
}

// TestAsAPIError: every error gets a client face; causes stay private.
func TestAsAPIError(t *testing.T) {
	own := badRequest("nope %d", 1)
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{own, 400, "invalid_request"},
		{errors.Join(errors.New("wrapped"), own), 400, "invalid_request"},
		{fmt.Errorf("auth: %w", auth.ErrMissing), 401, "missing_api_key"},
		{fmt.Errorf("auth: %w", auth.ErrForbidden), 403, "forbidden"},
		{fmt.Errorf("auth: %w", auth.ErrInvalid), 401, "invalid_api_key"},
		{&openrouter.APIError{StatusCode: 429}, 429, "429"},
		{errors.New("disk on fire"), 500, "internal_error"},
	}
	for _, c := range cases {
		e := asAPIError(c.err)
		if e.Status != c.status || e.Code != c.code {
			t.Errorf("%v: got %d %s", c.err, e.Status, e.Code)
		}
		if strings.Contains(string(e.body()), "disk on fire") {
			t.Errorf("cause leaked into the body: %s", e.body())
		}
	}
	if own.Message != "nope 1" || own.Error() != "400 nope 1" {
		t.Errorf("badRequest: %q %q", own.Message, own.Error())
	}
	wrapped := &apiError{Status: 502, Message: "m", Cause: errors.New("c")}
	if wrapped.Error() != "502 m: c" || errors.Unwrap(wrapped).Error() != "c" {
		t.Errorf("Error/Unwrap: %q", wrapped.Error())
	}
	if _, ok := any(upstreamOrUnreachable(errors.New("dial"))).(*apiError); !ok || upstreamOrUnreachable(errors.New("dial")).Code != "upstream_unreachable" {
		t.Error("unreachable")
	}
	if upstreamOrUnreachable(&openrouter.APIError{StatusCode: 503}).Status != 503 {
		t.Error("upstream status lost")
	}
}

// TestWriteError: OpenAI's shape, Retry-After and extra headers.
func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	writeError(w, &apiError{Status: 429, Type: "rate_limit_error", Code: "quota_exceeded", Message: "m",
		Metadata: []byte(`{"k":1}`), RetryAfter: 7, Headers: map[string]string{"X-Quota-Type": "daily"}})
	if w.Code != 429 || w.Header().Get("Retry-After") != "7" || w.Header().Get("X-Quota-Type") != "daily" || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	if got := w.Body.String(); got != `{"error":{"message":"m","type":"rate_limit_error","code":"quota_exceeded","metadata":{"k":1}}}` {
		t.Fatalf("body %s", got)
	}
	w = httptest.NewRecorder()
	writeError(w, &apiError{Status: 400, Type: "t", Code: "c", Message: "m"})
	if w.Header().Get("Retry-After") != "" || w.Body.String() != `{"error":{"message":"m","type":"t","code":"c"}}` {
		t.Fatalf("%v %s", w.Header(), w.Body)
	}
}

// TestFail: a failure before any byte keeps OpenRouter's refusal, or says
// the upstream was unreachable; a cancelled context means the client left.
func TestFail(t *testing.T) {
	c := &call{}
	c.fail(context.Background(), &openrouter.APIError{StatusCode: 429})
	if c.failure.Status != 429 || c.clientGone || c.upstreamErr == nil {
		t.Fatalf("%+v", c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c = &call{}
	c.fail(ctx, errors.New("dial tcp: refused"))
	// The client left first: its hang-up is the cause, not the upstream.
	if c.failure.Code != "client_disconnected" || c.failure.Status != 499 || !c.clientGone || c.upstreamErr == nil {
		t.Fatalf("%+v", c)
	}
}

// TestApplyGeneration: the generation record's billed figures replace the
// row's; native token counts win over normalized ones; the row keeps its
// model, provider and finish reason when the record has none.
func TestApplyGeneration(t *testing.T) {
	cases := []struct {
		name string
		row  store.Usage
		gen  openrouter.Generation
		want store.Usage
	}{
		// Native counts are what the provider billed.
		{"native wins", store.Usage{Model: "m0", Provider: "p0", FinishReason: "stop", CostStatus: store.CostEstimated},
			openrouter.Generation{Model: "m1", ProviderName: "p1", FinishReason: "length", TotalCost: 99, TokensPrompt: 1, TokensCompletion: 2,
				NativeTokensPrompt: 10, NativeTokensCompletion: 20, NativeTokensCached: 3, NativeTokensReasoning: 4, Cancelled: true, IsBYOK: true},
			store.Usage{Model: "m1", Provider: "p1", FinishReason: "stop", PromptTokens: 10, CompletionTokens: 20, TotalTokens: 30,
				CachedTokens: 3, ReasoningTokens: 4, Cost: 99, CostStatus: store.CostConfirmed, Cancelled: true, IsBYOK: true}},
		// Without native counts the normalized ones stand; an empty record
		// keeps the row's model, provider; a missing finish reason is filled.
		{"normalized, row keeps names", store.Usage{Model: "m0", Provider: "p0", PromptTokens: 500, CompletionTokens: 500, TotalTokens: 1000, Cancelled: true},
			openrouter.Generation{FinishReason: "length", TotalCost: 7, TokensPrompt: 5, TokensCompletion: 6},
			store.Usage{Model: "m0", Provider: "p0", FinishReason: "length", PromptTokens: 5, CompletionTokens: 6, TotalTokens: 11, Cost: 7, CostStatus: store.CostConfirmed}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := c.row
			gen := c.gen
			applyGeneration(&u, &gen)
			if u != c.want {
				t.Fatalf("\n got %+v\nwant %+v", u, c.want)
			}
		})
	}
}

// TestResolverLeavesRowsWithoutUsage: an entry with no usage row (a request
// log that was final) resolves to itself, without asking upstream.
func TestResolverLeavesRowsWithoutUsage(t *testing.T) {
	r := &Resolver{} // no upstream: any call would panic
	b := store.Batch{RequestLogs: []store.RequestLog{{RequestID: "r"}}}
	got, err := r.Resolve(context.Background(), outbox.Entry{Batch: b})
	if err != nil || len(got.RequestLogs) != 1 || got.RequestLogs[0].RequestID != "r" {
		t.Fatalf("%+v %v", got, err)
	}
	r.count("m", store.Usage{Cost: 1}) // no metrics: nothing to count, no panic
	r.Metrics = metrics.New(nil)
	r.count("", store.Usage{PromptTokens: 3})
	if v := value(r.Metrics.Tokens.WithLabelValues("none", "prompt")); v != 3 {
		t.Fatalf("a record without a model is counted under %v", v)
	}
}

// TestResolverGivesUpAfterItsWait: while the generation record does not
// answer, an entry younger than GiveUpAfter is left for later, one exactly
// that old settles for the estimate, and so does any entry at its last
// chance (the service is shutting down).
func TestResolverGivesUpAfterItsWait(t *testing.T) {
	h := newHarness(t, openroutertest.Options{GenerationDelay: 24 * time.Hour})
	r := h.srv.NewResolver(time.Hour)
	r.Now = func() time.Time { return t0 }
	u := store.Usage{GenerationID: "gen-x", RequestID: "r", UserID: "u", Model: "openai/gpt-4o-mini", PromptTokens: 10, CompletionTokens: 10, TotalTokens: 20}
	cases := []struct {
		name    string
		created time.Time
		last    bool
		settled bool
	}{
		// 1 ms short of the wait: try again later.
		{"younger", t0.Add(-time.Hour + time.Millisecond), false, false},
		// Exactly the wait: settle for the estimate.
		{"exactly GiveUpAfter", t0.Add(-time.Hour), false, true},
		// Young, but the last chance: settle.
		{"last chance", t0, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := r.Resolve(context.Background(), outbox.Entry{CreatedAt: c.created.UnixMilli(), LastChance: c.last, Batch: store.Batch{Usage: []store.Usage{u}}})
			if settled := err == nil; settled != c.settled {
				t.Fatalf("settled %v (%v), want %v", settled, err, c.settled)
			}
			if c.settled && (b.Usage[0].CostStatus != store.CostEstimated || b.Usage[0].Cost == 0) {
				t.Fatalf("estimate %+v", b.Usage[0])
			}
		})
	}
	// A row that already has a cost keeps it.
	priced := u
	priced.Cost = 5
	if b, err := r.Resolve(context.Background(), outbox.Entry{LastChance: true, Batch: store.Batch{Usage: []store.Usage{priced}}}); err != nil || b.Usage[0].Cost != 5 {
		t.Fatalf("a row's own cost replaced: %+v %v", b, err)
	}
}
