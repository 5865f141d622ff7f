package store

import (
	"errors"
	"strings"
	"testing"
)

// TestEnsureUserInputBounds: a name and an email are bounded as Convex's
// /users/ensure bounds them, in UTF-16 code units (an emoji is two), so
// the embedded store refuses what Convex would; SQLite stored any length.
func TestEnsureUserInputBounds(t *testing.T) {
	for _, tc := range []struct {
		in EnsureUserInput
		ok bool
	}{
		{EnsureUserInput{ExternalID: "u", Name: strings.Repeat("n", 256), Email: strings.Repeat("e", 320)}, true},
		{EnsureUserInput{ExternalID: "u", Name: strings.Repeat("é", 256)}, true}, // 512 bytes, 256 characters
		{EnsureUserInput{ExternalID: "u", Name: strings.Repeat("n", 257)}, false},
		{EnsureUserInput{ExternalID: "u", Name: strings.Repeat("😀", 128) + "n"}, false},
		{EnsureUserInput{ExternalID: "u", Name: strings.Repeat("😀", 128)}, true},
		{EnsureUserInput{ExternalID: "u", Email: strings.Repeat("e", 321)}, false},
	} {
		err := tc.in.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("name %d bytes, email %d bytes: %v, want ok=%v", len(tc.in.Name), len(tc.in.Email), err, tc.ok)
		}
	}
}
