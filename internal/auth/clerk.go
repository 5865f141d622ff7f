package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/clerk/clerk-sdk-go/v2"
	clerkjwt "github.com/clerk/clerk-sdk-go/v2/jwt"
	jose "github.com/go-jose/go-jose/v3"
	josejwt "github.com/go-jose/go-jose/v3/jwt"

	"llmmeter/internal/store"
)

// ClerkOptions configure a Clerk authenticator. Validate reports every
// problem at once.
type ClerkOptions struct {
	// Issuer is the instance's Frontend API URL, e.g.
	// https://clerk.example.com; a token's iss must equal it exactly.
	Issuer string
	// JWKSURL, when set, is where the signing keys are fetched, e.g.
	// https://clerk.example.com/.well-known/jwks.json. Otherwise they are
	// fetched from Clerk's Backend API with SecretKey.
	JWKSURL   string
	SecretKey string
	// AuthorizedParties, when not empty, lists the origins a token's azp
	// must be one of; a token without azp is then refused.
	AuthorizedParties []string
	// Audience, when set, must be one of a token's aud values; a token
	// without aud is then refused. Clerk's default session tokens carry no
	// aud, so it is unset by default; Convex checks the same value
	// (convex/auth.config.ts applicationID, env CLERK_AUDIENCE).
	Audience string
	// Leeway tolerates clock skew on exp, nbf and iat. Zero means none;
	// the service's configured default is 5s.
	Leeway time.Duration
	// AdminClaim is "claim=value"; default DefaultAdminClaim.
	AdminClaim string
	// OrgAdmin also makes admins of users whose active organization role
	// is org:admin.
	OrgAdmin bool
	// Store gets a users row for each Clerk user; required.
	Store store.Store

	// HTTPClient fetches the JWKS; default a client with a 10s timeout.
	HTTPClient *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// KeyRefreshInterval is the least time between two JWKS fetches, so
	// tokens with made-up key ids cannot make us hammer Clerk; default 1m.
	KeyRefreshInterval time.Duration
	// KeyMaxAge is how long a fetched JWKS is used before it is fetched
	// again, so that a key Clerk withdrew stops working; default 1h.
	KeyMaxAge time.Duration
	// UserCacheSize bounds the Clerk user id → user id cache; default 10000.
	UserCacheSize int
	// UserWait bounds the store call that records a Clerk user seen for the
	// first time (see NewUserCache); 0: only the request's context.
	UserWait time.Duration

	apiURL string // Clerk's Backend API base URL; tests only
}

// Validate reports every problem at once.
func (o ClerkOptions) Validate() error {
	var errs []error
	if o.Issuer == "" {
		errs = append(errs, errors.New("issuer is required"))
	}
	if o.JWKSURL == "" && o.SecretKey == "" {
		errs = append(errs, errors.New("a JWKS URL or a secret key is required"))
	}
	if o.Audience != strings.TrimSpace(o.Audience) {
		errs = append(errs, errors.New("audience must not have surrounding spaces"))
	}
	if slices.Contains(o.AuthorizedParties, "") {
		errs = append(errs, errors.New("authorized parties must not be empty strings"))
	}
	if o.Leeway < 0 {
		errs = append(errs, errors.New("leeway must not be negative"))
	}
	if o.AdminClaim != "" {
		if _, err := ParseAdminClaim(o.AdminClaim); err != nil {
			errs = append(errs, fmt.Errorf("admin claim: %w", err))
		}
	}
	if o.Store == nil {
		errs = append(errs, errors.New("store is required"))
	}
	if o.KeyRefreshInterval < 0 || o.KeyMaxAge < 0 || o.UserCacheSize < 0 {
		errs = append(errs, errors.New("key refresh interval, key max age and user cache size must not be negative"))
	}
	return errors.Join(errs...)
}

// Clerk authenticates Clerk session tokens: `Authorization: Bearer <JWT>`,
// as the browser gets it from Clerk's getToken().
//
// A token is accepted when it is a compact RS256 JWS signed by a key of the
// instance's JWKS, its iss equals Issuer exactly, its azp is an authorized
// party (when any are configured), its aud holds Audience (when one is
// configured), exp, nbf and iat hold within Leeway, and it is a session
// token (sub and sid present, typ JWT, status not pending, which Clerk's own
// SDKs treat as signed out). Anything else is ErrInvalid; a JWKS that cannot
// be fetched is an internal error (5xx), not the caller's fault. The SDK
// does not check aud; we do, after it, when Audience is set.
//
// A Clerk user seen for the first time gets a users row keyed by its Clerk
// user id (store.EnsureUser); the mapping is then cached in memory.
//
// Admins: AdminRule decides, from the admin claim (default role=admin), a
// custom claim set in the Clerk dashboard under Sessions → Customize
// session token, e.g.
//
//	{"role": "{{user.public_metadata.role}}"}
//
// with public metadata {"role": "admin"} on the admin users, and, with
// OrgAdmin, the organization role org:admin.
type Clerk struct {
	issuer   string
	parties  []string
	audience string
	leeway   time.Duration
	admin    AdminRule
	now      func() time.Time
	keys     *keyCache
	users    *UserCache
}

// NewClerk returns a Clerk authenticator. It fetches nothing yet: the JWKS
// is fetched on the first token.
func NewClerk(o ClerkOptions) (*Clerk, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("auth: clerk options: %w", err)
	}
	if o.AdminClaim == "" {
		o.AdminClaim = DefaultAdminClaim
	}
	admin, _ := ParseAdminClaim(o.AdminClaim)
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KeyRefreshInterval == 0 {
		o.KeyRefreshInterval = time.Minute
	}
	if o.KeyMaxAge == 0 {
		o.KeyMaxAge = time.Hour
	}
	if o.UserCacheSize == 0 {
		o.UserCacheSize = 10_000
	}
	fetch := jwksFromURL(o.HTTPClient, o.JWKSURL)
	if o.JWKSURL == "" {
		fetch = jwksFromBackendAPI(o.HTTPClient, o.apiURL, o.SecretKey)
	}
	return &Clerk{
		issuer:   o.Issuer,
		parties:  slices.Clone(o.AuthorizedParties),
		audience: o.Audience,
		leeway:   o.Leeway,
		admin:    AdminRule{Claim: admin, OrgAdmin: o.OrgAdmin},
		now:      o.Now,
		keys:     &keyCache{fetch: fetch, now: o.Now, minInterval: o.KeyRefreshInterval, maxAge: o.KeyMaxAge},
		users:    NewUserCache(o.Store, o.UserCacheSize, o.UserWait),
	}, nil
}

// Authenticate verifies the bearer session token.
func (c *Clerk) Authenticate(ctx context.Context, r *http.Request) (Principal, error) {
	tok, ok := Bearer(r)
	if !ok {
		return Principal{}, ErrMissing
	}
	return c.verify(ctx, tok)
}

// maxTokenBytes bounds what is parsed; Clerk's session tokens are well
// under 2 KiB (Clerk keeps them small to fit in a cookie).
const maxTokenBytes = 8 << 10

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: clerk: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

func (c *Clerk) verify(ctx context.Context, tok string) (Principal, error) {
	// Shape first, so that nothing malformed reaches the JWKS cache: only
	// compact serialization (the JSON one is not a bearer token), one RS256
	// signature, a key id. alg none and HS256 stop here, before any key is
	// looked up; the SDK would refuse them too (alg must equal the JWK's).
	if len(tok) > maxTokenBytes {
		return Principal{}, invalid("token longer than %d bytes", maxTokenBytes)
	}
	if strings.Count(tok, ".") != 2 || strings.HasPrefix(tok, "{") {
		return Principal{}, invalid("not a compact JWS")
	}
	parsed, err := josejwt.ParseSigned(tok)
	if err != nil {
		return Principal{}, invalid("malformed token: %v", err)
	}
	if len(parsed.Headers) != 1 {
		return Principal{}, invalid("want one signature, got %d", len(parsed.Headers))
	}
	h := parsed.Headers[0]
	if h.Algorithm != string(jose.RS256) {
		return Principal{}, invalid("signing algorithm %q not accepted", h.Algorithm)
	}
	if typ, ok := h.ExtraHeaders[jose.HeaderType]; ok && !strings.EqualFold(fmt.Sprint(typ), "JWT") {
		return Principal{}, invalid("token type %q is not a session token", fmt.Sprint(typ))
	}
	if h.KeyID == "" {
		return Principal{}, invalid("no kid header")
	}
	jwk, err := c.keys.key(ctx, h.KeyID)
	if errors.Is(err, errUnknownKey) {
		return Principal{}, invalid("unknown kid %q", h.KeyID)
	}
	if err != nil {
		return Principal{}, err
	}

	params := &clerkjwt.VerifyParams{
		Token:  tok,
		JWK:    jwk,
		Clock:  clockFunc(c.now),
		Leeway: c.leeway,
		// The SDK checks that iss is a Clerk domain unless a proxy URL is
		// given, and then requires iss to equal it exactly. The exact match
		// with our configured issuer is what we want, in production (where
		// it is stricter than "any Clerk domain") and in tests (where the
		// issuer is an httptest URL); it is checked again below.
		ProxyURL: clerk.String(c.issuer),
		CustomClaimsConstructor: func(context.Context) any {
			return &map[string]json.RawMessage{}
		},
	}
	if len(c.parties) > 0 {
		params.AuthorizedPartyHandler = func(azp string) bool { return slices.Contains(c.parties, azp) }
	}
	claims, err := clerkjwt.Verify(ctx, params)
	if err != nil {
		return Principal{}, invalid("%v", err)
	}
	custom := *claims.Custom.(*map[string]json.RawMessage)
	switch {
	case claims.Issuer != c.issuer:
		return Principal{}, invalid("issuer %q", claims.Issuer)
	case c.audience != "" && !slices.Contains(claims.Audience, c.audience):
		// A token minted for another audience (another app on the same
		// Clerk instance) must not sign in here, let alone as an admin.
		return Principal{}, invalid("audience %q not accepted", claims.Audience)
	case claims.Expiry == nil:
		return Principal{}, invalid("no exp")
	case claims.Subject == "" || len(claims.Subject) > 256:
		return Principal{}, invalid("sub missing or too long")
	case claims.SessionID == "":
		return Principal{}, invalid("no sid: not a session token")
	case stringClaim(custom, "sts") == "pending":
		return Principal{}, invalid("session is pending")
	}

	userID, err := c.users.UserID(ctx, store.EnsureUserInput{ClerkUserID: claims.Subject})
	if errors.Is(err, store.ErrInvalid) {
		err = invalid("subject refused by the store: %v", err)
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{UserID: userID, IsAdmin: c.admin.IsAdmin(custom), Method: "clerk"}, nil
}

// stringClaim is claim name as a string, or "" when absent or not a string.
func stringClaim(claims map[string]json.RawMessage, name string) string {
	var s string
	if json.Unmarshal(claims[name], &s) != nil {
		return ""
	}
	return s
}
