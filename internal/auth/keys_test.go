package auth

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// downStore is a real store whose key look-ups fail while down is set, as
// a remote store does during an outage, and block until their context ends
// while hang is set, as one behind a partition does.
type downStore struct {
	store.Store
	down, hang atomic.Bool
	lookups    atomic.Int64
}

func (s *downStore) APIKeyByHash(ctx context.Context, hash string) (store.APIKey, error) {
	s.lookups.Add(1)
	if s.hang.Load() {
		<-ctx.Done() // a partition: no answer, no refusal
		return store.APIKey{}, ctx.Err()
	}
	if s.down.Load() {
		return store.APIKey{}, errors.New("dial tcp: connection refused")
	}
	return s.Store.APIKeyByHash(ctx, hash)
}

// EnsureUser hangs as APIKeyByHash does.
func (s *downStore) EnsureUser(ctx context.Context, in store.EnsureUserInput) (store.User, bool, error) {
	if s.hang.Load() {
		<-ctx.Done()
		return store.User{}, false, ctx.Err()
	}
	return s.Store.EnsureUser(ctx, in)
}

// downKeys is a store that can be taken down (downStore) over a real file,
// with two keys of one user: one to be looked up before the outage (known,
// its stored record kk) and one never looked up (unknown).
func downKeys(t *testing.T) (s *downStore, known string, kk store.APIKey, unknown string) {
	t.Helper()
	ctx := context.Background()
	real, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	s = &downStore{Store: real}
	u, _, err := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "chat"})
	if err != nil {
		t.Fatal(err)
	}
	if known, kk, err = IssueKey(ctx, s, u.ID, "known", false); err != nil {
		t.Fatal(err)
	}
	if unknown, _, err = IssueKey(ctx, s, u.ID, "never used", false); err != nil {
		t.Fatal(err)
	}
	return s, known, kk, unknown
}

// TestKeysDoNotWaitOnAHangingStore: a store that hangs instead of refusing
// holds a known key's look-up at most staleWait, then the key is served
// stale, and for staleRetry no call asks again. Before the fix every call
// of a known key waited the store client's whole timeout (18 s calls seen
// by hand through a Convex outage that hung).
func TestKeysDoNotWaitOnAHangingStore(t *testing.T) {
	ctx := context.Background()
	s, known, kk, unknown := downKeys(t)
	now := time.Unix(1_700_000_000, 0)
	k := &Keys{Store: s, TTL: 30 * time.Second, Now: func() time.Time { return now }}
	// A request's context: the failing run would wait all of it.
	call := func(key string, within time.Duration) (Principal, error) {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, within)
		defer cancel()
		r, _ := http.NewRequestWithContext(rctx, http.MethodPost, "/", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		return k.Authenticate(rctx, r)
	}
	if _, err := call(known, time.Minute); err != nil {
		t.Fatal(err)
	}

	s.hang.Store(true)
	now = now.Add(time.Hour) // far past the TTL
	start := time.Now()
	if p, err := call(known, 20*time.Second); err != nil || p.KeyID != kk.ID {
		t.Fatalf("known key while the store hangs: %+v, %v; want it served stale", p, err)
	}
	// staleWait (1 s) plus a busy machine's slack; the request allowed 20 s.
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("known key waited %v on a hanging store", d)
	}
	before := s.lookups.Load()
	now = now.Add(staleRetry - time.Millisecond)
	for range 5 {
		if _, err := call(known, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.lookups.Load() - before; n != 0 {
		t.Fatalf("%d look-ups within staleRetry of a failed one, want 0", n)
	}
	// An unknown key has nothing to fall back on: it waits for the store
	// as long as its request allows, then 503.
	if _, err := call(unknown, 2*time.Second); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("unknown key while the store hangs: %v, want ErrUnavailable", err)
	}
	// With Wait (AUTH_CHECK_TIMEOUT), at most Wait however long the request
	// may last: before it, a request allowed a minute waited a minute.
	k.Wait = 500 * time.Millisecond
	start = time.Now()
	if _, err := call(unknown, time.Minute); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("unknown key while the store hangs, with Wait: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("unknown key waited %v on a hanging store with Wait %v", d, k.Wait)
	}

	// The store answers again: past staleRetry, a revocation applies.
	s.hang.Store(false)
	if err := s.RevokeAPIKey(ctx, kk.ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Millisecond)
	if _, err := call(known, time.Minute); !errors.Is(err, ErrInvalid) {
		t.Fatalf("revoked key once the store answers: %v, want ErrInvalid", err)
	}
	// Nothing was cached from the failed look-ups: the unknown key works.
	if p, err := call(unknown, time.Minute); err != nil || p.UserID != kk.UserID {
		t.Fatalf("unknown key once the store answers: %+v, %v", p, err)
	}
}

// TestKeysStaleIfError: during a store outage, keys verified before keep
// working from the cache however old; an unknown key gets ErrUnavailable
// (503), never ErrInvalid or a bare error (500); a revocation applies as
// soon as the store answers again.
func TestKeysStaleIfError(t *testing.T) {
	ctx := context.Background()
	s, known, kk, unknown := downKeys(t)
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

// TestUserCacheDoesNotWaitOnAHangingStore: a user seen for the first time
// (a Clerk user, an end user a service key names) while the store hangs
// waits at most the cache's wait, then ErrUnavailable (503, never a 500);
// nothing is cached from it, so the user is recorded once the store
// answers.
func TestUserCacheDoesNotWaitOnAHangingStore(t *testing.T) {
	s, _, _, _ := downKeys(t)
	c := NewUserCache(s, 0, 500*time.Millisecond)
	s.hang.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // the failing run waited all of it
	defer cancel()
	start := time.Now()
	if _, err := c.UserID(ctx, store.EnsureUserInput{ExternalID: "first-seen"}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("first-seen user while the store hangs: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("waited %v on a hanging store with a wait of 500ms", d)
	}
	s.hang.Store(false)
	id, err := c.UserID(ctx, store.EnsureUserInput{ExternalID: "first-seen"})
	if err != nil || id == "" {
		t.Fatalf("once the store answers: %q, %v", id, err)
	}
}

// slowKeys is a store whose key look-ups take delay (the Convex test
// backend under load answered in over a second) and can be revoked.
type slowKeys struct {
	store.Store
	delay   time.Duration
	revoked atomic.Bool
	lookups atomic.Int64
}

func (s *slowKeys) APIKeyByHash(ctx context.Context, hash string) (store.APIKey, error) {
	s.lookups.Add(1)
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return store.APIKey{}, ctx.Err()
	}
	k, err := s.Store.APIKeyByHash(ctx, hash)
	if s.revoked.Load() {
		k.RevokedAt = 1
	}
	return k, err
}

// TestKeysInUseAreRenewedOffThePath: a hot key's cache entry expired every
// TTL, and then its calls waited for the store: each call its own
// look-up, and with a store slower than staleWait, one call every
// staleRetry waited a second, for as long as the store stayed slow
// (seen through the Convex test backend under load: p99 1.1 s for a
// service key called every 50 ms). Now a key in use is looked up again in
// the background before it expires: over two minutes of calls every
// second, none waits, one look-up at a time, and a revocation still
// applies within the TTL.
func TestKeysInUseAreRenewedOffThePath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		real, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "s.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer real.Close()
		u, _, err := real.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "chat"})
		if err != nil {
			t.Fatal(err)
		}
		secret, _, err := IssueKey(ctx, real, u.ID, "svc", false)
		if err != nil {
			t.Fatal(err)
		}
		s := &slowKeys{Store: real, delay: 1500 * time.Millisecond}
		k := &Keys{Store: s, TTL: 30 * time.Second, Wait: 2 * time.Second}
		req := func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			r.Header.Set("Authorization", "Bearer "+secret)
			return r
		}
		if _, err := k.Authenticate(ctx, req()); err != nil { // the first look-up is the call's
			t.Fatal(err)
		}
		for i := range 120 {
			time.Sleep(time.Second)
			start := time.Now()
			if _, err := k.Authenticate(ctx, req()); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			if d := time.Since(start); d > 0 {
				t.Fatalf("call %d (%d s after the first) waited %v for the store", i, i+1, d)
			}
		}
		if n := s.lookups.Load(); n > 1+120/10 {
			t.Fatalf("%d look-ups in two minutes with a TTL of 30 s", n)
		}
		s.revoked.Store(true)
		revokedAt := time.Now()
		for {
			time.Sleep(time.Second)
			if _, err := k.Authenticate(ctx, req()); errors.Is(err, ErrInvalid) {
				break
			}
			if time.Since(revokedAt) > 30*time.Second {
				t.Fatal("a revoked key still served 30 s after the revocation")
			}
		}
		synctest.Wait() // no refresh left running
	})
}
