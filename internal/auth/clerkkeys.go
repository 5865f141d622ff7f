package auth

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/clerk/clerk-sdk-go/v2"
	"github.com/clerk/clerk-sdk-go/v2/jwks"
)

// errUnknownKey: the token's kid is not in the JWKS, even after a refresh
// (or while refreshes are rate-limited). The token is refused.
var errUnknownKey = errors.New("unknown key id")

// fetchKeys returns an instance's signing keys.
type fetchKeys func(ctx context.Context) ([]*clerk.JSONWebKey, error)

// keyCache holds the JWKS by kid. It fetches the set on first use, again
// when it is older than maxAge, and when a token names an unknown kid, but
// never twice within minInterval (failed attempts count), so a stream of
// made-up kids costs Clerk at most one request per interval. When a fetch
// fails the keys already held stay in use.
type keyCache struct {
	fetch       fetchKeys
	now         func() time.Time
	minInterval time.Duration
	maxAge      time.Duration

	fetching sync.Mutex // one fetch at a time; held while fetching

	mu        sync.Mutex
	keys      map[string]*clerk.JSONWebKey
	fetchedAt time.Time // of the keys held
	triedAt   time.Time // of the last attempt, successful or not
	tried     bool
}

// fetchTimeout bounds one fetch, which is detached from the request that
// triggered it: a client hanging up must not fail it for everyone.
const fetchTimeout = 10 * time.Second

// key returns the verification key with id kid.
func (c *keyCache) key(ctx context.Context, kid string) (*clerk.JSONWebKey, error) {
	if k, ok := c.lookup(kid); ok {
		return k, nil
	}
	c.fetching.Lock()
	defer c.fetching.Unlock()
	if k, ok := c.lookup(kid); ok { // someone else fetched meanwhile
		return k, nil
	}
	var fetchErr error
	if c.mayFetch() {
		fetchErr = c.refresh(ctx)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := c.keys[kid]; k != nil {
		return k, nil // possibly stale, when the refresh failed
	}
	if c.keys == nil { // never fetched successfully: our failure, not the caller's
		if fetchErr == nil {
			fetchErr = errors.New("previous fetch failed; retrying later")
		}
		return nil, fmt.Errorf("auth: clerk: JWKS unavailable: %w", fetchErr)
	}
	return nil, errUnknownKey
}

// lookup returns the key when it is held and the set is fresh enough, or
// when it is held and a refresh is not allowed yet.
func (c *keyCache) lookup(kid string) (*clerk.JSONWebKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.keys[kid]
	if k == nil {
		return nil, false
	}
	if c.now().Sub(c.fetchedAt) < c.maxAge || !c.mayFetchLocked() {
		return k, true
	}
	return nil, false
}

func (c *keyCache) mayFetch() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mayFetchLocked()
}

func (c *keyCache) mayFetchLocked() bool {
	return !c.tried || c.now().Sub(c.triedAt) >= c.minInterval
}

func (c *keyCache) refresh(ctx context.Context) error {
	c.mu.Lock()
	c.tried, c.triedAt = true, c.now()
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	fetched, err := c.fetch(ctx)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	keys := make(map[string]*clerk.JSONWebKey, len(fetched))
	for _, k := range fetched {
		if k, ok := usableKey(k); ok {
			keys[k.KeyID] = k
		}
	}
	if len(keys) == 0 {
		return errors.New("fetch JWKS: no usable RS256 signing key in the set")
	}
	c.mu.Lock()
	c.keys, c.fetchedAt = keys, c.now()
	c.mu.Unlock()
	return nil
}

// usableKey keeps RSA public signing keys of at least 2048 bits, for RS256
// only. Setting Algorithm makes the SDK refuse any other alg header.
func usableKey(k *clerk.JSONWebKey) (*clerk.JSONWebKey, bool) {
	if k == nil || k.KeyID == "" || (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != "RS256") {
		return nil, false
	}
	pub, ok := k.Key.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < 2048 {
		return nil, false
	}
	return &clerk.JSONWebKey{Key: pub, KeyID: k.KeyID, Algorithm: "RS256", Use: "sig"}, true
}

// maxJWKSBytes bounds a JWKS response; Clerk's holds a key or two.
const maxJWKSBytes = 1 << 20

// jwksFromURL fetches a public JWKS document, such as the Frontend API's
// /.well-known/jwks.json. Keys that do not parse are skipped.
func jwksFromURL(client *http.Client, url string) fetchKeys {
	return func(ctx context.Context) ([]*clerk.JSONWebKey, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		defer io.Copy(io.Discard, io.LimitReader(resp.Body, maxJWKSBytes))
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&set); err != nil {
			return nil, fmt.Errorf("GET %s: decode JWKS: %w", url, err)
		}
		keys := make([]*clerk.JSONWebKey, 0, len(set.Keys))
		for _, raw := range set.Keys {
			k := new(clerk.JSONWebKey)
			if k.UnmarshalJSON(raw) == nil {
				keys = append(keys, k)
			}
		}
		return keys, nil
	}
}

// jwksFromBackendAPI fetches the instance's JWKS from Clerk's Backend API
// (GET /v1/jwks) with the secret key, through the SDK. apiURL "" is Clerk's.
func jwksFromBackendAPI(client *http.Client, apiURL, secretKey string) fetchKeys {
	cfg := &clerk.ClientConfig{}
	cfg.HTTPClient = client
	cfg.Key = clerk.String(secretKey)
	if apiURL != "" {
		cfg.URL = clerk.String(apiURL)
	}
	jc := jwks.NewClient(cfg)
	return func(ctx context.Context) ([]*clerk.JSONWebKey, error) {
		set, err := jc.Get(ctx, &jwks.GetParams{})
		if err != nil {
			return nil, fmt.Errorf("clerk backend API: %w", err)
		}
		return set.Keys, nil
	}
}
