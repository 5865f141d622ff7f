package auth

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"llmmeter/internal/store"
)

func TestChain(t *testing.T) {
	e := newClerkEnv(t, nil)
	ctx := context.Background()
	admin, _, err := e.store.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := IssueKey(ctx, e.store, admin.ID, "server to server", true)
	if err != nil {
		t.Fatal(err)
	}
	revoked, rk, err := IssueKey(ctx, e.store, admin.ID, "old", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.RevokeAPIKey(ctx, rk.ID); err != nil {
		t.Fatal(err)
	}
	withClerk := Chain{Keys: &Keys{Store: e.store}, Clerk: e.clerk}
	keysOnly := Chain{Keys: &Keys{Store: e.store}}

	tests := []struct {
		name       string
		chain      Chain
		header     string // Authorization
		wantErr    error
		wantMethod string
	}{
		// An API key beside Clerk goes to the key store.
		{"api key with clerk", withClerk, "Bearer " + key, nil, "api_key"},
		// A session token goes to Clerk.
		{"session token", withClerk, "Bearer " + e.token(nil), nil, "clerk"},
		// A revoked key stays refused, and is not tried as a JWT.
		{"revoked key", withClerk, "Bearer " + revoked, ErrInvalid, ""},
		// An unknown llm_ key is refused by the key store.
		{"unknown key", withClerk, "Bearer llm_nope", ErrInvalid, ""},
		// No credential.
		{"missing", withClerk, "", ErrMissing, ""},
		// Not a bearer credential.
		{"basic auth", withClerk, "Basic dXNlcjpwYXNz", ErrMissing, ""},
		// API keys work without Clerk.
		{"api key without clerk", keysOnly, "Bearer " + key, nil, "api_key"},
		// Without Clerk a session token is just an invalid credential.
		{"session token without clerk", keysOnly, "Bearer " + e.token(nil), ErrInvalid, ""},
		// Without any key store, keys are refused rather than panicking.
		{"no key store", Chain{}, "Bearer " + key, ErrInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			p, err := tt.chain.Authenticate(ctx, r)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if p.Method != tt.wantMethod {
				t.Fatalf("method %q, want %q", p.Method, tt.wantMethod)
			}
		})
	}
	// Two Authorization headers are no credential: the first used to win,
	// and a proxy reading the other would have vouched for someone else.
	t.Run("two headers", func(t *testing.T) {
		r, _ := http.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
		r.Header.Add("Authorization", "Bearer "+key)
		r.Header.Add("Authorization", "Bearer llm_someone_else")
		if _, err := keysOnly.Authenticate(ctx, r); !errors.Is(err, ErrMissing) {
			t.Fatalf("two Authorization headers: %v, want ErrMissing", err)
		}
	})
	// Only the session token routed to Clerk reached the JWKS.
	if n := e.srv.Fetches(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}
}
