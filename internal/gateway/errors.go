package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"llmmeter/internal/auth"
	"llmmeter/openrouter"
)

// apiError is an error with the face a client sees: an HTTP status and
// OpenAI's error body. The cause, if any, is logged, never sent.
type apiError struct {
	Status     int
	Type       string // OpenAI error type, e.g. invalid_request_error
	Code       string
	Message    string
	Metadata   json.RawMessage
	RetryAfter int               // seconds; sets Retry-After when > 0
	Headers    map[string]string // more headers for the client
	Cause      error
}

func (e *apiError) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Message, e.Cause)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

func (e *apiError) Unwrap() error { return e.Cause }

func badRequest(format string, a ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "invalid_request", Message: fmt.Sprintf(format, a...)}
}

// bodyTooLarge is the 413 of a body over MAX_BODY_BYTES.
func bodyTooLarge(limit int64) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "request_too_large",
		Message: "Request body is larger than " + strconv.FormatInt(limit, 10) + " bytes."}
}

// body is OpenAI's error shape, plus OpenRouter's metadata when there is any.
func (e *apiError) body() []byte {
	var v struct {
		Error struct {
			Message  string          `json:"message"`
			Type     string          `json:"type"`
			Code     string          `json:"code"`
			Metadata json.RawMessage `json:"metadata,omitempty"`
		} `json:"error"`
	}
	v.Error.Message, v.Error.Type, v.Error.Code, v.Error.Metadata = e.Message, e.Type, e.Code, e.Metadata
	b, _ := json.Marshal(v)
	return b
}

func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	for k, v := range e.Headers {
		h.Set(k, v)
	}
	w.WriteHeader(e.Status)
	w.Write(e.body())
}

// asAPIError gives every error a client face. Unknown errors become a 500
// with a generic message; the cause goes to the log only.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, auth.ErrMissing):
		return &apiError{Status: 401, Type: "authentication_error", Code: "missing_api_key", Message: "Missing bearer token: send one Authorization: Bearer <key> header.", Cause: err}
	case errors.Is(err, auth.ErrForbidden):
		return &apiError{Status: 403, Type: "permission_error", Code: "forbidden", Message: "This credential may not do that.", Cause: err}
	case errors.Is(err, auth.ErrUnavailable):
		return &apiError{Status: 503, Type: "server_error", Code: "auth_unavailable", Message: "The credential cannot be checked right now; try again shortly.", RetryAfter: 5, Cause: err}
	case errors.Is(err, auth.ErrInvalid):
		return &apiError{Status: 401, Type: "authentication_error", Code: "invalid_api_key", Message: "Invalid or revoked credential.", Cause: err}
	}
	var up *openrouter.APIError
	if errors.As(err, &up) {
		return upstreamError(up)
	}
	return &apiError{Status: 500, Type: "server_error", Code: "internal_error", Message: "Internal error.", Cause: err}
}

// upstreamError maps OpenRouter's refusal to what our client should see.
// Upstream 401 means our own OpenRouter key is wrong: that is our failure,
// not the caller's, so it becomes a 502.
func upstreamError(up *openrouter.APIError) *apiError {
	e := &apiError{Status: up.StatusCode, Code: up.Code, Message: up.Message, Metadata: up.Metadata, Cause: up}
	if e.Message == "" {
		e.Message = http.StatusText(up.StatusCode)
	}
	if up.RetryAfter > 0 {
		e.RetryAfter = int((up.RetryAfter + 999_999_999) / 1_000_000_000)
	}
	switch {
	case up.StatusCode == 400:
		e.Type = "invalid_request_error"
	case up.StatusCode == 401:
		e.Status, e.Type, e.Code, e.Message, e.Metadata = 502, "server_error", "upstream_auth", "The gateway could not authenticate with its upstream.", nil
	case up.StatusCode == 402:
		e.Type = "insufficient_quota"
	case up.StatusCode == 403:
		e.Type = "permission_error"
	case up.StatusCode == 429:
		e.Type = "rate_limit_error"
	case up.StatusCode == 408:
		e.Type = "timeout_error"
	case up.StatusCode >= 500 && up.StatusCode <= 599:
		e.Type = "server_error"
	default:
		e.Type = "api_error"
		if up.StatusCode < 400 || up.StatusCode > 599 {
			e.Status = 502
		}
	}
	if e.Code == "" {
		e.Code = strconv.Itoa(e.Status)
	}
	if e.Message == "" { // a status without a text, e.g. 499
		e.Message = "The upstream model provider answered HTTP " + strconv.Itoa(up.StatusCode) + "."
	}
	return e
}

func upstreamUnreachable(err error) *apiError {
	return &apiError{Status: 502, Type: "server_error", Code: "upstream_unreachable", Message: "The upstream model provider could not be reached.", Cause: err}
}

// statusClientClosed is the status of a call whose client left before its
// response ended (nginx's 499); no client ever reads it.
const statusClientClosed = 499

// clientLeft is a call whose client hung up before the upstream answered:
// the request log says 499 client_disconnected, as for a call cut
// mid-stream, and the cause (the upstream's error, or the cancellation)
// is not an upstream failure.
func clientLeft(cause error) *apiError {
	return &apiError{Status: statusClientClosed, Type: "client_disconnected", Code: "client_disconnected",
		Message: clientLeftMessage, Cause: cause}
}

const clientLeftMessage = "The client closed the connection before the response ended."
