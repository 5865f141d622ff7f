package openrouter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"llmmeter/internal/retry"
)

// Sentinels matched by errors.Is against an *APIError's status.
var (
	ErrBadRequest          = errors.New("openrouter: bad request")           // 400
	ErrUnauthorized        = errors.New("openrouter: unauthorized")          // 401
	ErrInsufficientCredits = errors.New("openrouter: insufficient credits")  // 402
	ErrModeration          = errors.New("openrouter: flagged by moderation") // 403
	ErrNotFound            = errors.New("openrouter: not found")             // 404
	ErrTimeout             = errors.New("openrouter: request timeout")       // 408
	ErrRateLimited         = errors.New("openrouter: rate limited")          // 429
	ErrBadGateway          = errors.New("openrouter: bad gateway")           // 502
	ErrUnavailable         = errors.New("openrouter: unavailable")           // 503
)

var (
	// ErrInvalidRequest wraps the problems Validate found before sending.
	ErrInvalidRequest = errors.New("openrouter: invalid request")
	// ErrGenerationNotFound: the generation record still answered 404 when
	// Config.GenerationWait ran out.
	ErrGenerationNotFound = errors.New("openrouter: generation not found")
	// ErrMalformedResponse: a 2xx body that is not the JSON expected.
	ErrMalformedResponse = errors.New("openrouter: malformed response")
	// ErrStreamInterrupted wraps every failure of a started stream (a cut
	// body, a cancelled context...). IsRetryable is false for it: bytes may
	// have reached the caller's client and the call may be billed.
	ErrStreamInterrupted = errors.New("openrouter: stream interrupted")
	// ErrEventTooLarge: an SSE line or event exceeded Config.MaxEventBytes.
	ErrEventTooLarge = errors.New("openrouter: stream event too large")
	// ErrStreamClosed: Next after Close.
	ErrStreamClosed = errors.New("openrouter: stream closed")
)

var statusSentinels = map[int]error{
	400: ErrBadRequest, 401: ErrUnauthorized, 402: ErrInsufficientCredits,
	403: ErrModeration, 404: ErrNotFound, 408: ErrTimeout, 429: ErrRateLimited,
	502: ErrBadGateway, 503: ErrUnavailable,
}

// APIError is a non-2xx answer from OpenRouter, received before any body
// was handed to the caller.
type APIError struct {
	StatusCode int
	// Code is error.code normalized to text ("429", "rate_limit"); the
	// status code when the body had none.
	Code string
	// Message is OpenRouter's message, fit to show to a client, with the
	// API key redacted; the status text when the body was not JSON.
	Message string
	// Metadata is error.metadata verbatim (moderation reasons, provider
	// name, raw upstream error), nil when absent.
	Metadata json.RawMessage
	// RetryAfter is the parsed Retry-After header, 0 when absent.
	RetryAfter time.Duration
	// body is a snippet of a non-JSON body, for logs only.
	body string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "openrouter: HTTP %d", e.StatusCode)
	if e.Code != "" && e.Code != strconv.Itoa(e.StatusCode) {
		fmt.Fprintf(&b, " (code %s)", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.body != "" {
		fmt.Fprintf(&b, "; body: %q", e.body)
	}
	return b.String()
}

// Retryable reports whether the status is transient: 408, 429 or 5xx
// (retry.RetryableStatus).
func (e *APIError) Retryable() bool { return retry.RetryableStatus(e.StatusCode) }

// HTTPStatus and RetryAfterDelay let the shared retry policy classify e.
func (e *APIError) HTTPStatus() int                { return e.StatusCode }
func (e *APIError) RetryAfterDelay() time.Duration { return e.RetryAfter }

// Is matches the sentinel of e's status, e.g. errors.Is(err, ErrRateLimited).
func (e *APIError) Is(target error) bool {
	s, ok := statusSentinels[e.StatusCode]
	return ok && s == target
}

// IsRetryable is the one place that decides whether a failed call may be
// tried again: network errors (but not a cancelled or expired context, nor
// a certificate problem) and APIErrors with a transient status. A failure of
// a started stream is never retryable.
func IsRetryable(err error) bool {
	return !errors.Is(err, ErrStreamInterrupted) && retry.Retryable(err)
}

const (
	maxErrorBody = 64 << 10
	maxDrain     = 256 << 10
	maxSnippet   = 200
)

// readAPIError turns a non-2xx response into an *APIError and drains and
// closes its body so the connection can be reused.
func (c *Client) readAPIError(resp *http.Response) *APIError {
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
		_ = resp.Body.Close()
	}()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{
		StatusCode: resp.StatusCode,
		Code:       strconv.Itoa(resp.StatusCode),
		RetryAfter: retry.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now()),
	}
	var wire struct {
		Error json.RawMessage `json:"error"`
	}
	var se StreamError
	if json.Unmarshal(b, &wire) == nil && len(wire.Error) > 0 && json.Unmarshal(wire.Error, &se) == nil {
		if se.Code != "" {
			e.Code = se.Code
		}
		e.Message = se.Message
		if len(se.Metadata) > 0 && !bytes.Equal(se.Metadata, []byte("null")) {
			e.Metadata = se.Metadata
		}
	} else if s := strings.TrimSpace(string(b)); s != "" {
		e.body = snippet(s)
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if c.key != "" {
		e.Message = strings.ReplaceAll(e.Message, c.key, "<secret>")
		e.body = strings.ReplaceAll(e.body, c.key, "<secret>")
		e.Metadata = bytes.ReplaceAll(e.Metadata, []byte(c.key), []byte("<secret>"))
	}
	return e
}

func snippet(s string) string {
	if len(s) <= maxSnippet {
		return s
	}
	s = s[:maxSnippet]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// redactedError keeps the cause reachable for errors.Is/As while its text
// has the key replaced.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redactErr(err error, key string) error {
	if err == nil || key == "" {
		return err
	}
	if msg := err.Error(); strings.Contains(msg, key) {
		return &redactedError{msg: strings.ReplaceAll(msg, key, "<secret>"), err: err}
	}
	return err
}
