package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clerk/clerk-sdk-go/v2"
	clerkjwt "github.com/clerk/clerk-sdk-go/v2/jwt"

	"llmmeter/internal/auth/authtest"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

const testParty = "https://chat.example.com"

// fakeClock is the injected time; tests advance it instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingStore is a real store that counts EnsureUser calls, to prove the
// user cache saves them.
type countingStore struct {
	store.Store
	ensures atomic.Int32
}

func (s *countingStore) EnsureUser(ctx context.Context, in store.EnsureUserInput) (store.User, bool, error) {
	s.ensures.Add(1)
	return s.Store.EnsureUser(ctx, in)
}

// clerkEnv is one test's Clerk instance (its own key and kid), clock,
// SQLite store and authenticator.
type clerkEnv struct {
	t      *testing.T
	srv    *authtest.Server
	key    authtest.Key
	clock  *fakeClock
	store  *countingStore
	dbPath string
	clerk  *Clerk
}

func newClerkEnv(t *testing.T, opts func(*ClerkOptions)) *clerkEnv {
	t.Helper()
	e := &clerkEnv{t: t, key: authtest.NewKey(), clock: &fakeClock{t: time.Unix(1_700_000_000, 0)}}
	e.srv = authtest.NewServer(e.key)
	t.Cleanup(e.srv.Close)
	e.dbPath = filepath.Join(t.TempDir(), "store.db")
	s, err := sqlitestore.Open(context.Background(), e.dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e.store = &countingStore{Store: s}
	o := ClerkOptions{
		Issuer:            e.srv.URL,
		JWKSURL:           e.srv.JWKSURL(),
		AuthorizedParties: []string{testParty, "http://localhost:5173"},
		Leeway:            5 * time.Second,
		Store:             e.store,
		Now:               e.clock.Now,
	}
	if opts != nil {
		opts(&o)
	}
	if e.clerk, err = NewClerk(o); err != nil {
		t.Fatal(err)
	}
	return e
}

// claims are valid session claims for sub at the current fake time.
func (e *clerkEnv) claims(sub string) map[string]any {
	c := authtest.SessionClaims(e.srv.URL, sub, e.clock.Now())
	c["azp"] = testParty
	return c
}

// token is a valid token for user_1, after mutate changes its claims.
func (e *clerkEnv) token(mutate func(map[string]any)) string {
	c := e.claims("user_1")
	if mutate != nil {
		mutate(c)
	}
	return e.key.Sign(c)
}

func (e *clerkEnv) auth(tok string) (Principal, error) {
	r, _ := http.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return e.clerk.Authenticate(context.Background(), r)
}

// users counts the users rows, read straight from the SQLite file.
func (e *clerkEnv) users() int {
	e.t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.dbPath+"?mode=ro")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func hs256(secret []byte, header, claims any) string {
	in := authtest.SigningInput(header, claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestClerkRefuses(t *testing.T) {
	e := newClerkEnv(t, nil)
	now := e.clock.Now()
	header := func(alg string) map[string]any { return map[string]any{"alg": alg, "kid": e.key.ID, "typ": "JWT"} }
	pkix, err := x509.MarshalPKIXPublicKey(e.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})

	tests := []struct {
		name  string
		token func() string
	}{
		// exp 6s ago is past the 5s leeway.
		{"expired", func() string {
			return e.token(func(c map[string]any) {
				c["iat"], c["nbf"], c["exp"] = now.Add(-70*time.Second).Unix(), now.Add(-80*time.Second).Unix(), now.Add(-6*time.Second).Unix()
			})
		}},
		// nbf 10s ahead is beyond the leeway: not valid yet.
		{"nbf in the future", func() string {
			return e.token(func(c map[string]any) { c["nbf"] = now.Add(10 * time.Second).Unix() })
		}},
		// iat 10s ahead: issued in the future, a clock or forgery problem.
		{"iat in the future", func() string {
			return e.token(func(c map[string]any) { c["iat"] = now.Add(10 * time.Second).Unix() })
		}},
		// A Clerk-looking issuer that is not ours: the SDK's default check
		// ("any Clerk domain") would pass it; exact matching does not.
		{"wrong issuer", func() string {
			return e.token(func(c map[string]any) { c["iss"] = "https://clerk.evil.example" })
		}},
		// Exact means exact: a trailing slash is another issuer.
		{"issuer with a trailing slash", func() string {
			return e.token(func(c map[string]any) { c["iss"] = e.srv.URL + "/" })
		}},
		// A token minted for another app of the same instance.
		{"wrong authorized party", func() string {
			return e.token(func(c map[string]any) { c["azp"] = "https://evil.example" })
		}},
		// With authorized parties configured, azp is required.
		{"missing authorized party", func() string {
			return e.token(func(c map[string]any) { delete(c, "azp") })
		}},
		// alg none with no signature, naming our kid.
		{"alg none", func() string {
			return authtest.SigningInput(header("none"), e.claims("user_1")) + "."
		}},
		// alg none spelled differently.
		{"alg None", func() string {
			return authtest.SigningInput(header("None"), e.claims("user_1")) + "."
		}},
		// The classic key-confusion attack: HS256 with the RSA public key
		// (PEM, as published) used as the HMAC secret.
		{"HS256 with the public key PEM as secret", func() string {
			return hs256(pubPEM, header("HS256"), e.claims("user_1"))
		}},
		// The same with the DER bytes.
		{"HS256 with the public key DER as secret", func() string {
			return hs256(pkix, header("HS256"), e.claims("user_1"))
		}},
		// Only RS256 is accepted, whatever the key could do.
		{"alg RS512", func() string {
			return e.key.SignWithHeader(header("RS512"), e.claims("user_1"))
		}},
		// A signature over another payload: the payload was edited to make
		// the caller another user and an admin.
		{"tampered payload", func() string {
			parts := strings.Split(e.token(nil), ".")
			forged := e.claims("user_victim")
			forged["role"] = "admin"
			return parts[0] + "." + authtest.Segment(forged) + "." + parts[2]
		}},
		// Signed by an attacker's own key that claims our kid.
		{"foreign key with our kid", func() string {
			return authtest.NewKey().SignWithHeader(header("RS256"), e.claims("user_1"))
		}},
		// A signature that is not base64url.
		{"bad signature encoding", func() string {
			parts := strings.Split(e.token(nil), ".")
			return parts[0] + "." + parts[1] + ".!!!"
		}},
		// No kid: no key to verify with.
		{"no kid", func() string {
			return e.key.SignWithHeader(map[string]any{"alg": "RS256", "typ": "JWT"}, e.claims("user_1"))
		}},
		// An OAuth access token (RFC 9068) is not a session token.
		{"typ at+jwt", func() string {
			return e.key.SignWithHeader(map[string]any{"alg": "RS256", "kid": e.key.ID, "typ": "at+jwt"}, e.claims("user_1"))
		}},
		// A token without exp would never expire.
		{"no exp", func() string { return e.token(func(c map[string]any) { delete(c, "exp") }) }},
		// No subject, no user.
		{"no sub", func() string { return e.token(func(c map[string]any) { delete(c, "sub") }) }},
		// No session id: not a session token.
		{"no sid", func() string { return e.token(func(c map[string]any) { delete(c, "sid") }) }},
		// A pending session (tasks outstanding) counts as signed out.
		{"pending session", func() string { return e.token(func(c map[string]any) { c["sts"] = "pending" }) }},
		// Not a JWT at all.
		{"garbage", func() string { return "garbage" }},
		// Two segments.
		{"two segments", func() string {
			parts := strings.Split(e.token(nil), ".")
			return parts[0] + "." + parts[1]
		}},
		// Four segments.
		{"four segments", func() string { return e.token(nil) + ".x" }},
		// Empty segments.
		{"empty segments", func() string { return ".." }},
		// A header that is not JSON.
		{"header not JSON", func() string {
			parts := strings.Split(e.token(nil), ".")
			return base64.RawURLEncoding.EncodeToString([]byte("{nope")) + "." + parts[1] + "." + parts[2]
		}},
		// The JSON serialization of a JWS is not a bearer token.
		{"JSON serialization", func() string {
			parts := strings.Split(e.token(nil), ".")
			return `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`
		}},
		// Oversized input is refused before it is parsed.
		{"too long", func() string {
			return e.token(func(c map[string]any) { c["pad"] = strings.Repeat("a", maxTokenBytes) })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := e.auth(tt.token())
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %+v, %v; want ErrInvalid", p, err)
			}
			if p != (Principal{}) {
				t.Errorf("principal %+v returned with an error", p)
			}
			t.Logf("refused: %v", err)
		})
	}
	if n := e.users(); n != 0 {
		t.Errorf("refused tokens created %d users rows", n)
	}
	if n := e.store.ensures.Load(); n != 0 {
		t.Errorf("refused tokens reached the store %d times", n)
	}
	// One fetch served every case: none of them made us refetch the JWKS.
	if n := e.srv.Fetches(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1", n)
	}
}

func TestClerkAccepts(t *testing.T) {
	e := newClerkEnv(t, nil)
	now := e.clock.Now()

	p, err := e.auth(e.token(nil))
	if err != nil {
		t.Fatal(err)
	}
	if p.Method != "clerk" || p.UserID == "" || p.KeyID != "" || p.IsAdmin {
		t.Fatalf("principal %+v", p)
	}
	u, err := e.store.User(context.Background(), p.UserID)
	if err != nil || u.ClerkUserID != "user_1" {
		t.Fatalf("users row %+v, %v", u, err)
	}

	tests := []struct {
		name   string
		mutate func(map[string]any)
	}{
		// A second session of the same user reuses the row, from the cache.
		{"same user again", nil},
		// Expired 3s ago: within the 5s leeway.
		{"expired within leeway", func(c map[string]any) { c["exp"] = now.Add(-3 * time.Second).Unix() }},
		// nbf and iat 3s ahead: within the leeway.
		{"issued slightly in the future", func(c map[string]any) {
			c["nbf"], c["iat"] = now.Add(3*time.Second).Unix(), now.Add(3*time.Second).Unix()
		}},
		// A v1 session token (no v, no sts).
		{"v1 token", func(c map[string]any) { delete(c, "v"); delete(c, "sts") }},
		// The other configured authorized party.
		{"second authorized party", func(c map[string]any) { c["azp"] = "http://localhost:5173" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.auth(e.token(tt.mutate))
			if err != nil {
				t.Fatal(err)
			}
			if got != p {
				t.Fatalf("got %+v, want %+v", got, p)
			}
		})
	}
	if n := e.users(); n != 1 {
		t.Errorf("%d users rows, want 1", n)
	}
	if n := e.store.ensures.Load(); n != 1 {
		t.Errorf("EnsureUser called %d times, want 1 (then cached)", n)
	}

	// Another user gets another row.
	p2, err := e.auth(e.key.Sign(e.claims("user_2")))
	if err != nil || p2.UserID == p.UserID {
		t.Fatalf("second user: %+v, %v", p2, err)
	}
	if n := e.users(); n != 2 {
		t.Errorf("%d users rows, want 2", n)
	}
}

func TestClerkWithoutAuthorizedParties(t *testing.T) {
	// With no list configured, azp is not checked (nor required).
	e := newClerkEnv(t, func(o *ClerkOptions) { o.AuthorizedParties = nil })
	for _, azp := range []any{nil, "https://anything.example"} {
		if _, err := e.auth(e.token(func(c map[string]any) { c["azp"] = azp })); err != nil {
			t.Errorf("azp %v: %v", azp, err)
		}
	}
}

func TestClerkAdmin(t *testing.T) {
	tests := []struct {
		name      string
		opts      func(*ClerkOptions)
		mutate    func(map[string]any)
		wantAdmin bool
	}{
		// No role claim: signed in, not an admin.
		{"no role claim", nil, nil, false},
		// The default admin claim, role=admin.
		{"role admin", nil, func(c map[string]any) { c["role"] = "admin" }, true},
		// Another role.
		{"role member", nil, func(c map[string]any) { c["role"] = "member" }, false},
		// Clerk renders an unset metadata field as an empty string or null.
		{"role empty", nil, func(c map[string]any) { c["role"] = "" }, false},
		{"role null", nil, func(c map[string]any) { c["role"] = nil }, false},
		// Case matters: "Admin" is not "admin".
		{"role Admin", nil, func(c map[string]any) { c["role"] = "Admin" }, false},
		// A list of roles that holds admin.
		{"roles list", nil, func(c map[string]any) { c["role"] = []string{"member", "admin"} }, true},
		// An object never matches.
		{"role object", nil, func(c map[string]any) { c["role"] = map[string]string{"admin": "admin"} }, false},
		// A configured claim of the form claim=value.
		{"custom claim", func(o *ClerkOptions) { o.AdminClaim = "llmmeter_role=owner" },
			func(c map[string]any) { c["llmmeter_role"] = "owner"; c["role"] = "admin" }, true},
		// With a custom claim configured, role=admin no longer counts.
		{"custom claim, default absent", func(o *ClerkOptions) { o.AdminClaim = "llmmeter_role=owner" },
			func(c map[string]any) { c["role"] = "admin" }, false},
		// A boolean claim, from {"is_admin": "{{user.public_metadata.is_admin}}"}.
		{"boolean claim", func(o *ClerkOptions) { o.AdminClaim = "is_admin=true" },
			func(c map[string]any) { c["is_admin"] = true }, true},
		// Org admin in a v2 token, not enabled: not an admin.
		{"org admin v2, disabled", nil,
			func(c map[string]any) { c["o"] = map[string]any{"id": "org_1", "rol": "admin", "slg": "acme"} }, false},
		// Org admin in a v2 token (o.rol), enabled.
		{"org admin v2, enabled", func(o *ClerkOptions) { o.OrgAdmin = true },
			func(c map[string]any) { c["o"] = map[string]any{"id": "org_1", "rol": "admin", "slg": "acme"} }, true},
		// Org member in a v2 token, enabled: not an admin.
		{"org member v2, enabled", func(o *ClerkOptions) { o.OrgAdmin = true },
			func(c map[string]any) { c["o"] = map[string]any{"id": "org_1", "rol": "member", "slg": "acme"} }, false},
		// Org admin in a v1 token (org_role), enabled.
		{"org admin v1, enabled", func(o *ClerkOptions) { o.OrgAdmin = true },
			func(c map[string]any) { delete(c, "v"); c["org_id"] = "org_1"; c["org_role"] = "org:admin" }, true},
		// Org admin in a v1 token, not enabled.
		{"org admin v1, disabled", nil,
			func(c map[string]any) { delete(c, "v"); c["org_id"] = "org_1"; c["org_role"] = "org:admin" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newClerkEnv(t, tt.opts)
			p, err := e.auth(e.token(tt.mutate))
			if err != nil {
				t.Fatal(err)
			}
			if p.IsAdmin != tt.wantAdmin {
				t.Fatalf("IsAdmin = %v, want %v", p.IsAdmin, tt.wantAdmin)
			}
			err = RequireAdmin(p)
			if tt.wantAdmin && err != nil {
				t.Errorf("RequireAdmin: %v", err)
			}
			if !tt.wantAdmin && !errors.Is(err, ErrForbidden) {
				t.Errorf("RequireAdmin = %v, want ErrForbidden", err)
			}
		})
	}
}

// TestClerkUnknownKid proves the JWKS refresh: an unknown kid refreshes the
// set at most once per interval, and a key published after start (a
// rotation) is accepted once a refresh sees it.
func TestClerkUnknownKid(t *testing.T) {
	e := newClerkEnv(t, nil)
	if _, err := e.auth(e.token(nil)); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Fetches(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}
	e.clock.Advance(2 * time.Minute)

	// An unknown kid refreshes the set once; still unknown, it is refused.
	stranger := authtest.NewKey()
	if _, err := e.auth(stranger.Sign(e.claims("user_1"))); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown kid: %v, want ErrInvalid", err)
	}
	if n := e.srv.Fetches(); n != 2 {
		t.Fatalf("fetches = %d, want 2 (one refresh)", n)
	}
	// A flood of made-up kids within the interval costs Clerk nothing.
	for i := range 50 {
		h := map[string]any{"alg": "RS256", "kid": "made-up-" + string(rune('a'+i%26)), "typ": "JWT"}
		if _, err := e.auth(stranger.SignWithHeader(h, e.claims("user_1"))); !errors.Is(err, ErrInvalid) {
			t.Fatalf("made-up kid: %v, want ErrInvalid", err)
		}
	}
	if n := e.srv.Fetches(); n != 2 {
		t.Fatalf("fetches = %d after a flood of unknown kids, want 2", n)
	}

	// Rotation: a new key appears in the JWKS. Within the interval it is
	// not known yet; after it, the refresh finds it.
	rotated := authtest.NewKey()
	e.srv.Publish(rotated)
	if _, err := e.auth(rotated.Sign(e.claims("user_1"))); !errors.Is(err, ErrInvalid) {
		t.Fatalf("rotated key before refresh: %v, want ErrInvalid", err)
	}
	e.clock.Advance(time.Minute)
	p, err := e.auth(rotated.Sign(e.claims("user_1")))
	if err != nil {
		t.Fatalf("rotated key after refresh: %v", err)
	}
	if n := e.srv.Fetches(); n != 3 {
		t.Fatalf("fetches = %d, want 3", n)
	}
	// The old key still works from the same set.
	if _, err := e.auth(e.token(nil)); err != nil {
		t.Fatalf("old key: %v", err)
	}
	if n := e.users(); n != 1 || p.Method != "clerk" {
		t.Errorf("users = %d, principal %+v", n, p)
	}
}

// TestClerkWithdrawnKey: a key Clerk removed from the JWKS stops working
// once the held set is older than KeyMaxAge.
func TestClerkWithdrawnKey(t *testing.T) {
	e := newClerkEnv(t, nil)
	if _, err := e.auth(e.token(nil)); err != nil {
		t.Fatal(err)
	}
	next := authtest.NewKey()
	e.srv.Publish(next)
	e.srv.Withdraw(e.key.ID)
	e.clock.Advance(30 * time.Minute)
	if _, err := e.auth(e.token(nil)); err != nil {
		t.Fatalf("within max age the held set is used: %v", err)
	}
	e.clock.Advance(31 * time.Minute)
	if _, err := e.auth(e.token(nil)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("withdrawn key after max age: %v, want ErrInvalid", err)
	}
	if _, err := e.auth(next.Sign(e.claims("user_1"))); err != nil {
		t.Fatalf("new key: %v", err)
	}
	if n := e.srv.Fetches(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}
}

// TestClerkJWKSUnavailable: when the keys cannot be fetched the error is
// ours (not ErrInvalid, so a 5xx), retries are rate-limited, and the
// authenticator recovers once Clerk answers.
func TestClerkJWKSUnavailable(t *testing.T) {
	e := newClerkEnv(t, nil)
	e.srv.Fail(http.StatusServiceUnavailable)
	for range 3 {
		_, err := e.auth(e.token(nil))
		if err == nil || errors.Is(err, ErrInvalid) || errors.Is(err, ErrMissing) {
			t.Fatalf("got %v, want an internal error", err)
		}
	}
	if n := e.srv.Fetches(); n != 1 {
		t.Fatalf("fetches = %d, want 1 (rate-limited)", n)
	}
	e.srv.Fail(0)
	e.clock.Advance(time.Minute)
	if _, err := e.auth(e.token(nil)); err != nil {
		t.Fatal(err)
	}
	// Later failures keep the held keys in use.
	e.srv.Fail(http.StatusInternalServerError)
	e.clock.Advance(2 * time.Hour)
	if _, err := e.auth(e.token(nil)); err != nil {
		t.Fatalf("held keys during an outage: %v", err)
	}
	if n := e.srv.Fetches(); n != 3 {
		t.Fatalf("fetches = %d, want 3", n)
	}
}

// TestClerkBackendAPI fetches the JWKS from the Backend API with the secret
// key, through the SDK, when no JWKS URL is configured.
func TestClerkBackendAPI(t *testing.T) {
	backend := func(secret string) func(*ClerkOptions) {
		return func(o *ClerkOptions) {
			o.JWKSURL, o.SecretKey = "", secret
			o.apiURL = strings.TrimSuffix(o.Issuer, "/") + "/v1"
		}
	}
	e := newClerkEnv(t, backend(authtest.SecretKey))
	if _, err := e.auth(e.token(nil)); err != nil {
		t.Fatal(err)
	}

	// A wrong secret is our failure (5xx), and never shows in the error.
	e = newClerkEnv(t, backend("sk_test_wrong_and_secret"))
	_, err := e.auth(e.token(nil))
	if err == nil || errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want an internal error", err)
	}
	if strings.Contains(err.Error(), "wrong_and_secret") {
		t.Fatalf("secret leaked into %q", err)
	}
	if n := e.users(); n != 0 {
		t.Fatalf("%d users rows", n)
	}
}

// TestClerkUserCacheBounded: the cache holds at most UserCacheSize users;
// an evicted user is looked up again and gets the same row.
func TestClerkUserCacheBounded(t *testing.T) {
	e := newClerkEnv(t, func(o *ClerkOptions) { o.UserCacheSize = 2 })
	ids := map[string]string{}
	for _, sub := range []string{"user_a", "user_b", "user_c", "user_a"} {
		p, err := e.auth(e.key.Sign(e.claims(sub)))
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := ids[sub]; ok && prev != p.UserID {
			t.Fatalf("%s: user id changed from %s to %s", sub, prev, p.UserID)
		}
		ids[sub] = p.UserID
	}
	if n := e.store.ensures.Load(); n != 4 {
		t.Errorf("EnsureUser called %d times, want 4 (user_a evicted)", n)
	}
	if n := e.users(); n != 3 {
		t.Errorf("%d users rows, want 3", n)
	}
	if l := e.clerk.users.lru.Len(); l != 2 {
		t.Errorf("cache holds %d, want 2", l)
	}
}

func TestClerkConcurrent(t *testing.T) {
	// Many first requests at once, across users, under -race.
	e := newClerkEnv(t, nil)
	var wg sync.WaitGroup
	for i := range 40 {
		sub := "user_" + string(rune('a'+i%4))
		tok := e.key.Sign(e.claims(sub))
		wg.Go(func() {
			if _, err := e.auth(tok); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := e.users(); n != 4 {
		t.Errorf("%d users rows, want 4", n)
	}
	if n := e.srv.Fetches(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}
}

func TestClerkMissingBearer(t *testing.T) {
	e := newClerkEnv(t, nil)
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	if _, err := e.clerk.Authenticate(context.Background(), r); !errors.Is(err, ErrMissing) {
		t.Fatalf("got %v, want ErrMissing", err)
	}
}

func TestClerkOptionsValidate(t *testing.T) {
	_, err := NewClerk(ClerkOptions{AdminClaim: "admin", Leeway: -time.Second, AuthorizedParties: []string{""}, Audience: " convex"})
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"issuer", "JWKS URL or a secret key", "authorized parties", "leeway", "admin claim", "store", "audience"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
}

func TestParseAdminClaim(t *testing.T) {
	tests := []struct {
		in      string
		want    AdminClaim
		wantErr bool
	}{
		{"role=admin", AdminClaim{"role", "admin"}, false},                 // the default
		{" role = admin ", AdminClaim{"role", "admin"}, false},             // spaces trimmed
		{"org_role=org:admin", AdminClaim{"org_role", "org:admin"}, false}, // value may hold ':'
		{"a=b=c", AdminClaim{"a", "b=c"}, false},                           // split at the first '='
		{"role", AdminClaim{}, true},                                       // no value
		{"=admin", AdminClaim{}, true},                                     // no claim
		{"role=", AdminClaim{}, true},                                      // empty value
		{"", AdminClaim{}, true},                                           // nothing
	}
	for _, tt := range tests {
		got, err := ParseAdminClaim(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseAdminClaim(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRequireAdmin(t *testing.T) {
	if err := RequireAdmin(Principal{IsAdmin: true}); err != nil {
		t.Error(err)
	}
	if err := RequireAdmin(Principal{UserID: "u"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("got %v, want ErrForbidden", err)
	}
}

// TestSDKRefusesAlgConfusion: our own alg check stops HS256 and none before
// the SDK sees them; this proves the SDK, given our JWK (alg RS256), would
// refuse them too, should the first check ever go.
func TestSDKRefusesAlgConfusion(t *testing.T) {
	e := newClerkEnv(t, nil)
	jwk, ok := usableKey(&clerk.JSONWebKey{Key: e.key.Public(), KeyID: e.key.ID, Algorithm: "RS256", Use: "sig"})
	if !ok {
		t.Fatal("test key not usable")
	}
	pkix, _ := x509.MarshalPKIXPublicKey(e.key.Public())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	header := func(alg string) map[string]any { return map[string]any{"alg": alg, "kid": e.key.ID, "typ": "JWT"} }
	for name, tok := range map[string]string{
		"HS256 PEM": hs256(pubPEM, header("HS256"), e.claims("user_1")),
		"HS256 DER": hs256(pkix, header("HS256"), e.claims("user_1")),
		"none":      authtest.SigningInput(header("none"), e.claims("user_1")) + ".",
	} {
		_, err := clerkjwt.Verify(context.Background(), &clerkjwt.VerifyParams{
			Token: tok, JWK: jwk, Clock: clockFunc(e.clock.Now), ProxyURL: clerk.String(e.srv.URL),
		})
		if err == nil {
			t.Errorf("%s: the SDK accepted it", name)
		}
	}
	// And the genuine token passes the same call.
	if _, err := clerkjwt.Verify(context.Background(), &clerkjwt.VerifyParams{
		Token: e.token(nil), JWK: jwk, Clock: clockFunc(e.clock.Now), ProxyURL: clerk.String(e.srv.URL),
	}); err != nil {
		t.Fatal(err)
	}
}
