package auth

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// downStore is a real store whose key look-ups fail while down is set, as
// a remote store does during an outage.
type downStore struct {
	store.Store
	down atomic.Bool
}

func (s *downStore) APIKeyByHash(ctx context.Context, hash string) (store.APIKey, error) {
	if s.down.Load() {
		return store.APIKey{}, errors.New("dial tcp: connection refused")
	}
	return s.Store.APIKeyByHash(ctx, hash)
}

// TestKeysStaleIfError: during a store outage, keys verified before keep
// working from the cache however old; an unknown key gets ErrUnavailable
// (503), never ErrInvalid or a bare error (500); a revocation applies as
// soon as the store answers again.
func TestKeysStaleIfError(t *testing.T) {
	ctx := context.Background()
	real, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	s := &downStore{Store: real}
	u, _, err := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "chat"})
	if err != nil {
		t.Fatal(err)
	}
	known, kk, err := IssueKey(ctx, s, u.ID, "known", false)
	if err != nil {
		t.Fatal(err)
	}
	unknown, _, err := IssueKey(ctx, s, u.ID, "never used", false)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	k := &Keys{Store: s, TTL: 30 * time.Second, Now: func() time.Time { return now }}
	call := func(key string) (Principal, error) {
		r, _ := http.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		return k.Authenticate(ctx, r)
	}
	if _, err := call(known); err != nil {
		t.Fatal(err)
	}

	s.down.Store(true)
	now = now.Add(time.Hour) // far past the TTL
	if p, err := call(known); err != nil || p.KeyID != kk.ID {
		t.Fatalf("known key during an outage: %+v, %v; want it served from the cache", p, err)
	}
	if _, err := call(unknown); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown key during an outage: %v, want ErrUnavailable", err)
	}

	// Revoked during the outage: refused as soon as the store answers.
	s.down.Store(false)
	if err := s.RevokeAPIKey(ctx, kk.ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if _, err := call(known); !errors.Is(err, ErrInvalid) {
		t.Fatalf("revoked key once the store answers: %v, want ErrInvalid", err)
	}
	// And the revocation sticks through the next outage.
	s.down.Store(true)
	now = now.Add(time.Hour)
	if _, err := call(known); err == nil {
		t.Fatal("a key revoked before the outage works again during it")
	}
}
