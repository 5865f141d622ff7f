package gateway

import "testing"

// TestErrorStatusCodes: the status a request log keeps for an error that
// came inside an HTTP 200 body. Before, every string code (and a plain
// choice's error, which was not read at all) was logged 502.
func TestErrorStatusCodes(t *testing.T) {
	cases := []struct {
		code string
		want int
	}{
		{"429", 429},                 // a numeric code is the status
		{"503", 503},                 // likewise
		{"rate_limit_exceeded", 429}, // the string form of a rate limit: 429, not 502
		{"RATE_LIMIT_EXCEEDED", 429}, // case does not matter
		{"service_unavailable", 503}, // the simulator's string form of 503
		{"invalid_request_error", 400},
		{"context_length_exceeded", 400},
		{"server_error", 502}, // a provider's own failure is a bad gateway to us
		{"", 502},             // no code: the provider returned an error
		{"200", 502},          // a number that is not an error status
		{"9999", 502},         // nor this
		{"something_new", 502},
	}
	for _, c := range cases {
		if got := errorStatus(c.code); got != c.want {
			t.Errorf("errorStatus(%q) = %d, want %d", c.code, got, c.want)
		}
	}
}
