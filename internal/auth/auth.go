// Package auth says who is calling. An Authenticator turns a request's
// bearer credential into a Principal. Two kinds are accepted, side by side
// behind Chain, which tells them apart by their prefix:
//
//   - API keys (Keys), for server-to-server calls: random, starting with
//     KeyPrefix, shown once, stored only as a SHA-256 hash, tied to a user.
//     A revoked key stops working at once (no cache). A service key
//     (Principal.IsService) belongs to a server that names the end user of
//     each call; the gateway then attributes the call to that user, found
//     or created through a UserCache.
//   - Clerk session tokens (Clerk), for the browser: RS256 JWTs verified
//     against the instance's JWKS (fetched, cached, refreshed on an unknown
//     kid at most once a minute), exact issuer, authorized parties, the
//     audience when one is configured, a small leeway. A Clerk user seen
//     for the first time gets a users row; AdminRule, the same rule as the
//     Convex backend's (contract/identities.json), marks admins by a custom
//     claim (default role=admin) or, when enabled, the org:admin role.
//
// ErrMissing and ErrInvalid mean 401; ErrForbidden (see RequireAdmin) means
// authenticated but not allowed, 403. Any other error is the service's own
// failure (a store or JWKS outage), never the caller's. Tokens and keys
// never appear in errors.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"llmmeter/internal/store"
)

// Principal is an authenticated caller.
type Principal struct {
	UserID  string
	KeyID   string // set for API keys
	IsAdmin bool
	// IsService: a service key, which may name the end user of a call
	// (see the gateway's X-Llmmeter-User).
	IsService bool
	Method    string // "api_key" or "clerk"
}

// Errors an Authenticator returns; both answer 401, with a message a client
// may see.
var (
	ErrMissing = errors.New("missing bearer credential")
	ErrInvalid = errors.New("invalid credential")
)

// ErrUnavailable means the credential could not be checked (the store is
// unreachable and the key is not in the cache): 503, try again.
var ErrUnavailable = errors.New("credential cannot be checked right now")

// Authenticator checks a request's credential.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (Principal, error)
}

// KeyPrefix starts every API key, so a leaked key is recognisable.
const KeyPrefix = "llm_"

// NewKey returns a fresh secret key and the hash and display prefix to store.
func NewKey() (secret, hash, prefix string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	secret = KeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashKey(secret), secret[:len(KeyPrefix)+6]
}

// HashKey is the stored form of a key.
func HashKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Bearer returns the token of an Authorization: Bearer header. Two
// Authorization headers are no credential: the field is a singleton (RFC
// 9110 §11.6.2), and a proxy in front that reads the other one than we
// do would authorize one caller while we bill another.
func Bearer(r *http.Request) (string, bool) {
	if len(r.Header.Values("Authorization")) != 1 {
		return "", false
	}
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(h[7:])
	return tok, tok != ""
}

// Keys authenticates API keys against a store. With a TTL, lookups are
// cached for that long (for a remote store, where each lookup is a round
// trip): a revocation then takes up to TTL to take effect. A key in use is
// looked up again in the background in the last third of its TTL, so its
// calls do not wait for the store when the entry expires. Without one,
// every request reads the store and revocation is immediate. While the
// store is unreachable, keys found before keep working from the cache
// however old (stale-if-error); unknown ones get ErrUnavailable.
type Keys struct {
	Store store.Store
	TTL   time.Duration
	// Wait bounds the look-up of a key not verified before (AUTH_CHECK_TIMEOUT):
	// a store that hangs instead of refusing then costs such a call Wait,
	// answered ErrUnavailable (503), rather than the store client's whole
	// timeout. 0: only the request's context bounds it.
	Wait time.Duration
	Now  func() time.Time // default time.Now

	mu         sync.Mutex
	cache      map[string]cachedKey // by hash
	refreshing map[string]bool      // hashes with a refresh under way
}

type cachedKey struct {
	key     store.APIKey
	found   bool
	expires time.Time
	retryAt time.Time // after a failed look-up: served stale, unasked, until then
}

// staleWait bounds the look-up of a key that was verified before and could
// be served stale instead. A store that hangs rather than refusing (a
// network partition, an overloaded deployment) would otherwise hold every
// call for the client's whole timeout (15 s to Convex) before stale-if-error
// served it: seen by hand as 18 s calls for a known key.
const staleWait = time.Second

// staleRetry is how long a known key is served from its stale entry with
// no look-up after one failed, so that during an outage calls do not each
// pay staleWait; a revocation applies within that of the store answering.
const staleRetry = 2 * time.Second

// maxCachedKeys bounds the cache; a full cache is simply emptied.
const maxCachedKeys = 10_000

// Authenticate looks the bearer key up by hash.
func (k *Keys) Authenticate(ctx context.Context, r *http.Request) (Principal, error) {
	tok, ok := Bearer(r)
	if !ok {
		return Principal{}, ErrMissing
	}
	if !strings.HasPrefix(tok, KeyPrefix) {
		return Principal{}, ErrInvalid
	}
	key, found, err := k.lookup(ctx, HashKey(tok))
	if err != nil {
		return Principal{}, fmt.Errorf("auth: key lookup: %w", err)
	}
	if !found || key.Revoked() {
		return Principal{}, ErrInvalid
	}
	return Principal{UserID: key.UserID, KeyID: key.ID, IsAdmin: key.IsAdmin, IsService: key.IsService, Method: "api_key"}, nil
}

func (k *Keys) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

func (k *Keys) lookup(ctx context.Context, hash string) (store.APIKey, bool, error) {
	now := k.now()
	k.mu.Lock()
	c, ok := k.cache[hash]
	refresh := ok && c.found && now.Before(c.expires) && !now.Before(c.expires.Add(-k.TTL/3)) && !k.refreshing[hash]
	if refresh {
		if k.refreshing == nil {
			k.refreshing = map[string]bool{}
		}
		k.refreshing[hash] = true
	}
	k.mu.Unlock()
	if refresh {
		go k.refresh(ctx, hash)
	}
	stale := ok && c.found
	if ok && (now.Before(c.expires) || stale && now.Before(c.retryAt)) {
		return c.key, c.found, nil
	}
	lookCtx, wait := ctx, k.Wait
	if stale {
		wait = staleWait
	}
	if wait > 0 {
		var cancel context.CancelFunc
		lookCtx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	key, err := k.Store.APIKeyByHash(lookCtx, hash)
	found := err == nil
	if errors.Is(err, store.ErrNotFound) {
		err = nil
	}
	if err != nil {
		// Stale-if-error: a key verified before keeps working while the store
		// is unreachable; an answer after staleRetry applies any revocation.
		if stale {
			k.mu.Lock()
			if cur, ok := k.cache[hash]; ok && cur.found {
				cur.retryAt = now.Add(staleRetry)
				k.cache[hash] = cur
			}
			k.mu.Unlock()
			return c.key, true, nil
		}
		return store.APIKey{}, false, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if k.TTL > 0 {
		k.mu.Lock()
		k.put(hash, cachedKey{key: key, found: found, expires: now.Add(k.TTL)})
		k.mu.Unlock()
	}
	return key, found, nil
}

// put caches e; k.mu is held.
func (k *Keys) put(hash string, e cachedKey) {
	if k.cache == nil || len(k.cache) >= maxCachedKeys {
		k.cache = map[string]cachedKey{}
	}
	k.cache[hash] = e
}

// refresh looks a cached key up again in the last third of its TTL, off
// the calls' path: a key in use is renewed before it expires, so no call
// waits on the store for it in steady state (before, every TTL each call
// of a hot key waited for its own look-up, and while Convex answered
// slower than staleWait, one call every staleRetry waited that second:
// p99 1.1 s through the Convex test backend under load). The answer,
// a revocation included, applies when it comes; a failure changes nothing
// (the entry then expires, and the look-up at expiry is the calls' again).
func (k *Keys) refresh(ctx context.Context, hash string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.TTL/3)
	defer cancel()
	key, err := k.Store.APIKeyByHash(ctx, hash)
	found := err == nil
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.refreshing, hash)
	if found || errors.Is(err, store.ErrNotFound) {
		k.put(hash, cachedKey{key: key, found: found, expires: k.now().Add(k.TTL)})
	}
}

// IssueKey creates a key for user and returns the secret, shown once.
func IssueKey(ctx context.Context, s store.Store, userID, name string, admin bool) (string, store.APIKey, error) {
	return issue(ctx, s, store.NewAPIKey{UserID: userID, Name: name, IsAdmin: admin})
}

// IssueServiceKey creates a service key for user (see store.APIKey.IsService)
// and returns the secret, shown once.
func IssueServiceKey(ctx context.Context, s store.Store, userID, name string) (string, store.APIKey, error) {
	return issue(ctx, s, store.NewAPIKey{UserID: userID, Name: name, IsService: true})
}

func issue(ctx context.Context, s store.Store, in store.NewAPIKey) (string, store.APIKey, error) {
	secret, hash, prefix := NewKey()
	in.Hash, in.Prefix = hash, prefix
	k, err := s.CreateAPIKey(ctx, in)
	if err != nil {
		return "", store.APIKey{}, err
	}
	return secret, k, nil
}

// Bootstrap makes sure an empty store has an admin: when no key exists, it
// creates the "admin" user and an admin key and returns the secret, which
// the caller prints once. It returns "" when keys already exist, also when
// another replica created the first key since the list was read.
func Bootstrap(ctx context.Context, s store.Store) (string, error) {
	keys, err := s.ListAPIKeys(ctx, "")
	if err != nil || len(keys) > 0 {
		return "", err
	}
	u, _, err := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "admin", Name: "Administrator"})
	if err != nil {
		return "", err
	}
	secret, _, err := issue(ctx, s, store.NewAPIKey{UserID: u.ID, Name: "bootstrap admin key", IsAdmin: true, OnlyFirst: true})
	if errors.Is(err, store.ErrKeysExist) {
		return "", nil
	}
	return secret, err
}
