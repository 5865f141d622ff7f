package auth

import (
	"context"
	"net/http"
	"strings"
)

// Chain sends each bearer credential to the authenticator of its kind: API
// keys (starting with KeyPrefix) to Keys, anything else to Clerk when it is
// configured. API keys keep working beside Clerk; without Clerk, anything
// that is not an API key is ErrInvalid.
type Chain struct {
	Keys  Authenticator // usually &Keys{Store: s}
	Clerk *Clerk        // nil when Clerk is not configured
}

// Authenticate implements Authenticator.
func (c Chain) Authenticate(ctx context.Context, r *http.Request) (Principal, error) {
	tok, ok := Bearer(r)
	switch {
	case !ok:
		return Principal{}, ErrMissing
	case strings.HasPrefix(tok, KeyPrefix):
		if c.Keys == nil {
			return Principal{}, ErrInvalid
		}
		return c.Keys.Authenticate(ctx, r)
	case c.Clerk != nil:
		return c.Clerk.Authenticate(ctx, r)
	}
	return Principal{}, ErrInvalid
}
