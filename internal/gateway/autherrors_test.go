package gateway

import (
	"errors"
	"fmt"
	"testing"

	"llmmeter/internal/auth"
)

// TestAuthErrorFaces pins what a client sees for each authentication
// outcome: an outage of the key store is 503 with Retry-After, never a 500.
func TestAuthErrorFaces(t *testing.T) {
	tests := []struct {
		err        error
		status     int
		code       string
		retryAfter bool
	}{
		{auth.ErrMissing, 401, "missing_api_key", false},
		{auth.ErrInvalid, 401, "invalid_api_key", false},
		{auth.ErrForbidden, 403, "forbidden", false},
		// The key could not be checked: the store is down and the key is not cached.
		{fmt.Errorf("auth: key lookup: %w", fmt.Errorf("%w: dial tcp: refused", auth.ErrUnavailable)), 503, "auth_unavailable", true},
		// Anything else is our own failure.
		{errors.New("boom"), 500, "internal_error", false},
	}
	for _, tt := range tests {
		got := asAPIError(tt.err)
		if got.Status != tt.status || got.Code != tt.code || (got.RetryAfter > 0) != tt.retryAfter {
			t.Errorf("%v: %d %s retry=%d; want %d %s retry=%v", tt.err, got.Status, got.Code, got.RetryAfter, tt.status, tt.code, tt.retryAfter)
		}
	}
}
