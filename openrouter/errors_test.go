package openrouter

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestAPIErrorMapping(t *testing.T) {
	clk := newFakeClock()
	c, err := New(Config{APIKey: testKey, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		sentinel   error
		code       string
		message    string
		metadata   string
		retryAfter time.Duration
		retryable  bool
	}{
		{
			// Bad parameters: not retryable.
			name: "400", status: 400, body: `{"error":{"code":400,"message":"openai/gpt-5x is not a valid model ID"}}`,
			sentinel: ErrBadRequest, code: "400", message: "openai/gpt-5x is not a valid model ID",
		},
		{
			// A revoked key.
			name: "401", status: 401, body: `{"error":{"code":401,"message":"No auth credentials found"}}`,
			sentinel: ErrUnauthorized, code: "401", message: "No auth credentials found",
		},
		{
			// Out of credits.
			name: "402", status: 402, body: `{"error":{"code":402,"message":"Insufficient credits. Add more using https://openrouter.ai/credits"}}`,
			sentinel: ErrInsufficientCredits, code: "402", message: "Insufficient credits. Add more using https://openrouter.ai/credits",
		},
		{
			// Moderation keeps its reasons in metadata.
			name: "403 moderation", status: 403,
			body:     `{"error":{"code":403,"message":"Input was flagged","metadata":{"reasons":["harassment"],"flagged_input":"...","provider_name":"OpenAI","model_slug":"openai/gpt-4o"}}}`,
			sentinel: ErrModeration, code: "403", message: "Input was flagged",
			metadata: `{"reasons":["harassment"],"flagged_input":"...","provider_name":"OpenAI","model_slug":"openai/gpt-4o"}`,
		},
		{
			// Timeout: retryable.
			name: "408", status: 408, body: `{"error":{"code":408,"message":"Request timed out"}}`,
			sentinel: ErrTimeout, code: "408", message: "Request timed out", retryable: true,
		},
		{
			// Rate limit with Retry-After in seconds.
			name: "429 seconds", status: 429, header: http.Header{"Retry-After": {"3"}},
			body:     `{"error":{"code":429,"message":"Rate limit exceeded"}}`,
			sentinel: ErrRateLimited, code: "429", message: "Rate limit exceeded", retryAfter: 3 * time.Second, retryable: true,
		},
		{
			// Rate limit with Retry-After as an HTTP date, against the injected clock.
			name: "429 date", status: 429, header: http.Header{"Retry-After": {clk.Now().Add(7 * time.Second).Format(http.TimeFormat)}},
			body:     `{"error":{"code":"rate_limit_exceeded","message":"Slow down"}}`,
			sentinel: ErrRateLimited, code: "rate_limit_exceeded", message: "Slow down", retryAfter: 7 * time.Second, retryable: true,
		},
		{
			// Provider down, code as a string.
			name: "502", status: 502, body: `{"error":{"code":"provider_error","message":"Provider returned error","metadata":{"provider_name":"Together","raw":"upstream 500"}}}`,
			sentinel: ErrBadGateway, code: "provider_error", message: "Provider returned error", metadata: `{"provider_name":"Together","raw":"upstream 500"}`, retryable: true,
		},
		{
			// A gateway's HTML page: the status text stands in for the message.
			name: "503 html", status: 503, body: "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
			sentinel: ErrUnavailable, code: "503", message: "Service Unavailable", retryable: true,
		},
		{
			// Other 5xx are retryable too, even with an empty body.
			name: "500 empty", status: 500, body: "", code: "500", message: "Internal Server Error", retryable: true,
		},
		{
			// An error given as a bare string.
			name: "404 string error", status: 404, body: `{"error":"Not Found"}`, sentinel: ErrNotFound, code: "404", message: "Not Found",
		},
	}
	all := []error{ErrBadRequest, ErrUnauthorized, ErrInsufficientCredits, ErrModeration, ErrNotFound, ErrTimeout, ErrRateLimited, ErrBadGateway, ErrUnavailable}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			for k, v := range tt.header {
				rec.Header()[k] = v
			}
			rec.WriteHeader(tt.status)
			io.WriteString(rec, tt.body)
			e := c.readAPIError(rec.Result())
			var err error = fmt.Errorf("wrapped: %w", e)
			for _, s := range all {
				if got := errors.Is(err, s); got != (s == tt.sentinel) {
					t.Errorf("errors.Is(err, %v) = %v", s, got)
				}
			}
			if e.StatusCode != tt.status || e.Code != tt.code || e.Message != tt.message || e.RetryAfter != tt.retryAfter {
				t.Errorf("got %+v", e)
			}
			if string(e.Metadata) != tt.metadata {
				t.Errorf("Metadata = %s", e.Metadata)
			}
			if e.Retryable() != tt.retryable || IsRetryable(err) != tt.retryable {
				t.Errorf("Retryable = %v, IsRetryable = %v", e.Retryable(), IsRetryable(err))
			}
			if !strings.Contains(e.Error(), tt.message) || !strings.Contains(e.Error(), fmt.Sprint(tt.status)) {
				t.Errorf("Error() = %q", e.Error())
			}
		})
	}
}

func TestKeyNeverInErrors(t *testing.T) {
	// A hostile or buggy upstream echoes the credentials back everywhere.
	echo := func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		switch r.URL.Path {
		case "/api/v1/chat/completions":
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"error":{"code":401,"message":"bad key %s","metadata":{"key":%q}}}`, auth, auth)
		default:
			w.WriteHeader(502)
			fmt.Fprintf(w, "<html>%s</html>", auth)
		}
	}
	c, _ := newTestClient(t, echo, func(cfg *Config) { cfg.MaxRetries = NoRetries })
	_, err1 := c.Chat(context.Background(), testRequest(t))
	_, err2 := c.Models(context.Background())
	var apiErr *APIError
	if !errors.As(err1, &apiErr) || strings.Contains(string(apiErr.Metadata), testKey) {
		t.Errorf("metadata leaks: %v", err1)
	}
	// A transport failure against a closed server.
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	dead, _ := New(Config{BaseURL: srv.URL, APIKey: testKey, MaxRetries: NoRetries})
	_, err3 := dead.Chat(context.Background(), testRequest(t))
	for i, err := range []error{err1, err2, err3} {
		if err == nil || strings.Contains(err.Error(), testKey) || strings.Contains(fmt.Sprintf("%+v", err), testKey) {
			t.Errorf("error %d = %v", i, err)
		}
	}
}

func TestIsRetryable(t *testing.T) {
	connRefused := &url.Error{Op: "Post", URL: "https://openrouter.ai/api/v1/chat/completions",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil is not a failure", nil, false},
		{"caller cancelled", context.Canceled, false},
		{"deadline, wrapped in a transport error", &url.Error{Op: "Post", URL: "u", Err: context.DeadlineExceeded}, false},
		{"rate limited", &APIError{StatusCode: 429}, true},
		{"server error", &APIError{StatusCode: 500}, true},
		{"bad request", &APIError{StatusCode: 400}, false},
		{"insufficient credits", &APIError{StatusCode: 402}, false},
		{"connection refused", connRefused, true},
		{"connection closed before the response", &url.Error{Op: "Post", URL: "u", Err: io.EOF}, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"a started stream broke", fmt.Errorf("%w: %w", ErrStreamInterrupted, io.ErrUnexpectedEOF), false},
		{"certificate problem", &url.Error{Op: "Post", URL: "u", Err: x509.UnknownAuthorityError{}}, false},
		{"our own bug", errors.New("boom"), false},
		{"json error", &json.SyntaxError{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRetryable(tt.err); got != tt.want {
				t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestStreamErrorJSON(t *testing.T) {
	tests := []struct {
		name, in     string
		code, msg    string
		text, marshl string
	}{
		// Numeric code, written back as a number.
		{"numeric", `{"code":502,"message":"down","metadata":{"p":"x"}}`, "502", "down", "openrouter: upstream error (code 502): down", `{"code":502,"message":"down","metadata":{"p":"x"}}`},
		// String code stays a string.
		{"string", `{"code":"server_error","message":"busy","metadata":null}`, "server_error", "busy", "openrouter: upstream error (code server_error): busy", `{"code":"server_error","message":"busy"}`},
		// A bare string is the message.
		{"bare", `"oops"`, "", "oops", "openrouter: upstream error: oops", `{"message":"oops"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e StreamError
			if err := json.Unmarshal([]byte(tt.in), &e); err != nil {
				t.Fatal(err)
			}
			out, _ := json.Marshal(e)
			if e.Code != tt.code || e.Message != tt.msg || e.Error() != tt.text || string(out) != tt.marshl {
				t.Errorf("got %+v, %q, %s", e, e.Error(), out)
			}
		})
	}
}

func TestRedactErr(t *testing.T) {
	cause := &url.Error{Op: "Post", URL: "https://x/?k=" + testKey, Err: io.ErrUnexpectedEOF}
	err := redactErr(cause, testKey)
	if strings.Contains(err.Error(), testKey) || !errors.Is(err, io.ErrUnexpectedEOF) || !IsRetryable(err) {
		t.Errorf("redactErr = %v", err)
	}
}
