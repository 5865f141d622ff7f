package store

import (
	"context"
	"encoding/json"
	"errors"
)

// Error codes of FunctionError, the same as the Convex backend's
// ConvexError({code, message}) codes (packages/convex/src/lib/errors.ts).
const (
	CodeUnauthenticated = "unauthenticated"
	CodeForbidden       = "forbidden"
	CodeBadRequest      = "bad_request"
	CodeNotFound        = "not_found"
)

// FunctionError is an expected failure of an admin function: Convex's
// ConvexError with data {code, message}. Over the HTTP API it is the
// errorData of a status "error" answer; Message is safe to show a client.
type FunctionError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *FunctionError) Error() string { return e.Message }

// Fail returns a *FunctionError.
func Fail(code, message string) error { return &FunctionError{Code: code, Message: message} }

// ArgumentError is a call whose arguments do not match the function's
// argument validators (Convex's ArgumentValidationError). Like Convex, it
// carries no code: over the HTTP API it is an "error" answer without
// errorData.
type ArgumentError struct {
	Message string
}

func (e *ArgumentError) Error() string { return "ArgumentValidationError: " + e.Message }

// ErrNoFunction is returned for a path that names no public function of
// the requested kind.
var ErrNoFunction = errors.New("no such public function")

// Caller is who calls a function, as the HTTP layer authenticated them.
type Caller struct {
	Authenticated bool
	UserID        string
	IsAdmin       bool
}

// Functions runs public functions by path ("llmmeter:overview") and kind
// ("query" or "mutation") with JSON arguments, returning a JSON-encodable
// value. Errors: *FunctionError, *ArgumentError, ErrNoFunction (wrapped),
// or the engine's own failure.
type Functions interface {
	Call(ctx context.Context, kind, path string, args json.RawMessage, c Caller) (any, error)
}
