// Package config loads the service's configuration once at start: from
// environment variables, overridden by command-line flags, validated as a
// whole so that every bad setting is reported at once, naming its variable.
// Secrets print as <secret>.
package config

import (
	"errors"

	"flag"
	"fmt"
	"llmmeter/internal/signature"
	"llmmeter/jobs"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Secret is a string that never prints.
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// GoString hides the value from %#v too.
func (s Secret) GoString() string { return s.String() }

// MarshalText hides the value from encoders (zerolog, encoding/json).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// IP address policies for request logs.
const (
	IPFull     = "full"
	IPTruncate = "truncate" // IPv4 /24, IPv6 /48
	IPOff      = "off"
)

// Config is everything the service reads from its environment.
type Config struct {
	AppEnv     string // "development" or "production"
	ListenAddr string
	DataDir    string
	LogLevel   string

	OpenRouterAPIKey  Secret
	OpenRouterBaseURL string
	OpenRouterH2C     bool   // OPENROUTER_H2C: HTTP/2 without TLS to an http:// OpenRouterBaseURL
	AppReferer        string // sent upstream as HTTP-Referer
	AppTitle          string // sent upstream as X-Title

	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
	ReportingTZ     *time.Location
	IPAddresses     string        // full | truncate | off
	OutboxMax       int64         // refuse requests beyond this backlog; 0 = unbounded
	PortalDir       string        // the built admin portal
	PprofAddr       string        // separate listener for net/http/pprof; "" = off
	PprofRemote     bool          // PPROF_ALLOW_REMOTE: PprofAddr may be a non-loopback address
	QuotaFailClosed bool          // QUOTA_ON_ERROR=closed: refuse calls whose quota check failed
	QuotaTimeout    time.Duration // QUOTA_CHECK_TIMEOUT
	AuthTimeout     time.Duration // AUTH_CHECK_TIMEOUT: look-up of an API key not in the cache
	WriteTimeout    time.Duration // CLIENT_WRITE_TIMEOUT: one write to a client that stopped reading
	CORSOrigins     []string      // CORS_ALLOWED_ORIGINS: pages that may call /v1/ from a browser
	Jobs            jobs.Config   // JOBS_* and ALERT_* settings, see jobs.ConfigFromEnv

	// Clerk session tokens are accepted when ClerkIssuer is set.
	ConvexURL          string // https://<deployment>.convex.cloud (HTTP API)
	ConvexSiteURL      string // https://<deployment>.convex.site (HTTP actions)
	ConvexIngestSecret Secret // INGEST_SECRET of the deployment: signs every call

	ClerkSecretKey         Secret   // Backend API key; fetches the JWKS when ClerkJWKSURL is empty
	ClerkJWKSURL           string   // e.g. https://clerk.example.com/.well-known/jwks.json
	ClerkIssuer            string   // a token's iss must equal it exactly
	ClerkAuthorizedParties []string // origins allowed in azp; empty: not checked
	ClerkLeeway            time.Duration
	ClerkAudience          string // when set, a token's aud must hold it (Convex: auth.config.ts applicationID)
	AdminRoleClaim         string // claim=value marking admins in Clerk session tokens
	ClerkOrgAdmin          bool   // the org:admin organization role also marks admins
}

// Simulated reports whether no OpenRouter key is configured, in which case
// the service runs the built-in simulator as its upstream.
func (c Config) Simulated() bool { return c.OpenRouterAPIKey == "" }

// ConvexEnabled reports whether the Convex engine is configured; without
// it the service runs on the embedded SQLite store.
func (c Config) ConvexEnabled() bool { return c.ConvexURL != "" }

// ClerkEnabled reports whether Clerk session tokens are accepted.
func (c Config) ClerkEnabled() bool { return c.ClerkIssuer != "" }

type setting struct {
	env, flag, def, help string
}

// secret reports whether the setting holds a secret: its environment value
// must not become the flag's default, which -h would print.
func (s setting) secret() bool {
	return s.env == "OPENROUTER_API_KEY" || s.env == "CLERK_SECRET_KEY" || strings.HasSuffix(s.env, "_SECRET")
}

var settings = []setting{
	{"APP_ENV", "env", "development", "development or production; production refuses to start without OPENROUTER_API_KEY"},
	{"LISTEN_ADDR", "listen", "127.0.0.1:8080", "address the gateway listens on"},
	{"DATA_DIR", "data-dir", "./data", "directory of the embedded store and the outbox"},
	{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"OPENROUTER_API_KEY", "openrouter-api-key", "", "OpenRouter key; empty runs the built-in simulator"},
	{"OPENROUTER_BASE_URL", "openrouter-base-url", "https://openrouter.ai/api/v1", "OpenRouter API base URL"},
	{"OPENROUTER_H2C", "openrouter-h2c", "false", "speak unencrypted HTTP/2 (h2c) to an http:// OPENROUTER_BASE_URL such as llmmeter simulate: one connection carries many streams; https negotiates HTTP/2 itself"},
	{"APP_REFERER", "app-referer", "", "HTTP-Referer sent to OpenRouter (app attribution)"},
	{"APP_TITLE", "app-title", "", "X-Title sent to OpenRouter (app attribution)"},
	{"MAX_BODY_BYTES", "max-body-bytes", "4194304", "largest request body accepted"},
	{"SHUTDOWN_TIMEOUT", "shutdown-timeout", "30s", "how long open streams may finish on shutdown"},
	{"REPORTING_TZ", "reporting-tz", "UTC", "IANA time zone of period keys"},
	{"QUOTA_ON_ERROR", "quota-on-error", "open", "when the store cannot answer a quota check: open serves the call unchecked, closed refuses it with 503"},
	{"QUOTA_CHECK_TIMEOUT", "quota-check-timeout", "2s", "how long a call waits for its quota check before QUOTA_ON_ERROR applies"},
	{"AUTH_CHECK_TIMEOUT", "auth-check-timeout", "2s", "how long a call waits for the store to look up an API key it has not verified before, or to record a user seen for the first time; then 503"},
	{"CLIENT_WRITE_TIMEOUT", "client-write-timeout", "60s", "how long one write to a client may block (a client that stopped reading but keeps its connection open); then the call ends as a client that left (499). Bounds a write, not the stream"},
	{"CORS_ALLOWED_ORIGINS", "cors-allowed-origins", "", "comma-separated origins whose pages may call /v1/ from the browser (CORS), e.g. https://chat.example.com; empty: no CORS headers"},
	{"PPROF_ADDR", "pprof-addr", "", "serve net/http/pprof on this separate loopback address (e.g. 127.0.0.1:6060); empty: off"},
	{"PPROF_ALLOW_REMOTE", "pprof-allow-remote", "false", "allow a PPROF_ADDR that is not loopback (profiles expose the service's internals)"},
	{"PORTAL_DIR", "portal-dir", "portal/dist", "built admin portal served at /admin (make portal builds it)"},
	{"OUTBOX_MAX_ENTRIES", "outbox-max-entries", "1000000", "requests refused with 503 while this many rows wait for delivery (0: no bound)"},
	{"CONVEX_URL", "convex-url", "", "Convex deployment URL (https://<name>.convex.cloud); empty runs the embedded SQLite store"},
	{"CONVEX_SITE_URL", "convex-site-url", "", "Convex HTTP actions URL (https://<name>.convex.site)"},
	{"CONVEX_INGEST_SECRET", "convex-ingest-secret", "", "the deployment's INGEST_SECRET (at least 32 bytes), which signs every call"},
	{"LOG_IP_ADDRESSES", "log-ip-addresses", "full", "client IPs in request logs: full, truncate or off"},
	{"CLERK_SECRET_KEY", "clerk-secret-key", "", "Clerk secret key (sk_…); fetches the JWKS from Clerk's Backend API when CLERK_JWKS_URL is empty"},
	{"CLERK_JWKS_URL", "clerk-jwks-url", "", "JWKS URL of the Clerk instance, e.g. https://clerk.example.com/.well-known/jwks.json"},
	{"CLERK_ISSUER", "clerk-issuer", "", "Clerk Frontend API URL, the session tokens' exact iss; set it to accept Clerk session tokens"},
	{"CLERK_AUTHORIZED_PARTIES", "clerk-authorized-parties", "", "comma-separated origins allowed as azp, e.g. https://chat.example.com; empty: not checked"},
	{"CLERK_AUDIENCE", "clerk-audience", "", "when set, a Clerk token's aud must hold this value (set the same on the Convex deployment); empty: aud not checked"},
	{"CLERK_LEEWAY", "clerk-leeway", "5s", "clock skew tolerated on exp, nbf and iat of Clerk session tokens"},
	{"ADMIN_ROLE_CLAIM", "admin-role-claim", "role=admin", "claim=value in a Clerk session token that marks an admin"},
	{"CLERK_ORG_ADMIN", "clerk-org-admin", "false", "also treat Clerk's org:admin organization role as admin"},
}

// Load reads the environment (getenv) and then args as flags.
// flagSet declares one flag per setting, defaulting to the environment's
// value, except for secrets.
func flagSet(getenv func(string) string) (*flag.FlagSet, map[string]*string) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	vals := make(map[string]*string, len(settings))
	for _, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" && !s.secret() {
			def = v
		}
		vals[s.env] = fs.String(s.flag, def, s.help+" ($"+s.env+")")
	}
	return fs, vals
}

// Load reads the environment (getenv) and then args as flags.
func Load(args []string, getenv func(string) string) (Config, error) {
	fs, vals := flagSet(getenv)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	for _, s := range settings {
		if s.secret() && *vals[s.env] == "" {
			*vals[s.env] = getenv(s.env)
		}
	}
	get := func(env string) string { return strings.TrimSpace(*vals[env]) }

	var errs []error
	bad := func(env, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, a...)))
	}
	c := Config{
		AppEnv:            get("APP_ENV"),
		ListenAddr:        get("LISTEN_ADDR"),
		DataDir:           get("DATA_DIR"),
		LogLevel:          strings.ToLower(get("LOG_LEVEL")),
		OpenRouterAPIKey:  Secret(get("OPENROUTER_API_KEY")),
		OpenRouterBaseURL: strings.TrimRight(get("OPENROUTER_BASE_URL"), "/"),
		AppReferer:        get("APP_REFERER"),
		AppTitle:          get("APP_TITLE"),
		IPAddresses:       get("LOG_IP_ADDRESSES"),
		PortalDir:         get("PORTAL_DIR"),
		PprofAddr:         get("PPROF_ADDR"),
	}
	switch c.AppEnv {
	case "development", "production":
	default:
		bad("APP_ENV", "must be development or production, not %q", c.AppEnv)
	}
	if c.AppEnv == "production" && c.OpenRouterAPIKey == "" {
		bad("OPENROUTER_API_KEY", "is required when APP_ENV=production (the simulator is for development only)")
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		bad("LISTEN_ADDR", "must be host:port: %v", err)
	}
	for _, t := range []struct {
		env string
		dst *time.Duration
	}{{"QUOTA_CHECK_TIMEOUT", &c.QuotaTimeout}, {"AUTH_CHECK_TIMEOUT", &c.AuthTimeout}, {"CLIENT_WRITE_TIMEOUT", &c.WriteTimeout}} {
		if d, err := time.ParseDuration(get(t.env)); err != nil || d <= 0 {
			bad(t.env, "must be a positive duration such as 2s, not %q", get(t.env))
		} else {
			*t.dst = d
		}
	}
	switch get("QUOTA_ON_ERROR") {
	case "open":
	case "closed":
		c.QuotaFailClosed = true
	default:
		bad("QUOTA_ON_ERROR", "must be open or closed, not %q", get("QUOTA_ON_ERROR"))
	}
	if b, err := strconv.ParseBool(get("PPROF_ALLOW_REMOTE")); err != nil {
		bad("PPROF_ALLOW_REMOTE", "must be true or false, not %q", get("PPROF_ALLOW_REMOTE"))
	} else {
		c.PprofRemote = b
	}
	if c.PprofAddr != "" {
		if host, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			bad("PPROF_ADDR", "must be host:port: %v", err)
		} else if !c.PprofRemote && !loopbackHost(host) {
			bad("PPROF_ADDR", "%q is not a loopback address (127.0.0.1, ::1, localhost); profiles expose the service's internals: set PPROF_ALLOW_REMOTE=true to serve them beyond this machine", c.PprofAddr)
		}
	}
	if c.DataDir == "" {
		bad("DATA_DIR", "must not be empty")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if u, err := url.Parse(c.OpenRouterBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("OPENROUTER_BASE_URL", "must be an http(s) URL, not %q", c.OpenRouterBaseURL)
	}
	if b, err := strconv.ParseBool(get("OPENROUTER_H2C")); err != nil {
		bad("OPENROUTER_H2C", "must be true or false, not %q", get("OPENROUTER_H2C"))
	} else if c.OpenRouterH2C = b; b && !strings.HasPrefix(c.OpenRouterBaseURL, "http://") {
		bad("OPENROUTER_H2C", "is for an http:// OPENROUTER_BASE_URL; https negotiates HTTP/2 by TLS")
	}
	if n, err := strconv.ParseInt(get("MAX_BODY_BYTES"), 10, 64); err != nil || n < 1024 {
		bad("MAX_BODY_BYTES", "must be an integer ≥ 1024, not %q", get("MAX_BODY_BYTES"))
	} else {
		c.MaxBodyBytes = n
	}
	if d, err := time.ParseDuration(get("SHUTDOWN_TIMEOUT")); err != nil || d < 0 {
		bad("SHUTDOWN_TIMEOUT", "must be a duration such as 30s, not %q", get("SHUTDOWN_TIMEOUT"))
	} else {
		c.ShutdownTimeout = d
	}
	if loc, err := time.LoadLocation(get("REPORTING_TZ")); err != nil {
		bad("REPORTING_TZ", "unknown time zone %q", get("REPORTING_TZ"))
	} else {
		c.ReportingTZ = loc
	}
	switch c.IPAddresses {
	case IPFull, IPTruncate, IPOff:
	default:
		bad("LOG_IP_ADDRESSES", "must be full, truncate or off, not %q", c.IPAddresses)
	}
	loadClerk(&c, get, bad)
	c.CORSOrigins = origins("CORS_ALLOWED_ORIGINS", get, bad)
	if n, err := strconv.ParseInt(get("OUTBOX_MAX_ENTRIES"), 10, 64); err != nil || n < 0 {
		bad("OUTBOX_MAX_ENTRIES", "must be a non-negative integer, not %q", get("OUTBOX_MAX_ENTRIES"))
	} else {
		c.OutboxMax = n
	}
	loadConvex(&c, get, bad)
	if jc, err := jobs.ConfigFromEnv(getenv); err != nil {
		errs = append(errs, err)
	} else {
		c.Jobs = jc
	}
	return c, errors.Join(errs...)
}

// origins reads a comma-separated list of web origins, as a browser sends
// them in Origin and Clerk in azp: scheme://host[:port], nothing more.
func origins(env string, get func(string) string, bad func(env, format string, a ...any)) []string {
	var list []string
	for _, p := range strings.Split(get(env), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if u, err := url.Parse(p); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" ||
			u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
			bad(env, "%q is not an origin such as https://chat.example.com (no path, no trailing slash)", p)
			continue
		}
		list = append(list, p)
	}
	return list
}

// loadClerk reads and checks the Clerk settings.
func loadClerk(c *Config, get func(string) string, bad func(env, format string, a ...any)) {
	c.ClerkSecretKey = Secret(get("CLERK_SECRET_KEY"))
	c.ClerkJWKSURL = get("CLERK_JWKS_URL")
	c.ClerkIssuer = get("CLERK_ISSUER")
	c.AdminRoleClaim = get("ADMIN_ROLE_CLAIM")
	c.ClerkAudience = get("CLERK_AUDIENCE")
	if c.ClerkAudience != strings.TrimSpace(c.ClerkAudience) || strings.Contains(c.ClerkAudience, ",") {
		bad("CLERK_AUDIENCE", "must be one audience without spaces or commas, such as convex, not %q", c.ClerkAudience)
	}
	c.ClerkAuthorizedParties = origins("CLERK_AUTHORIZED_PARTIES", get, bad)
	if d, err := time.ParseDuration(get("CLERK_LEEWAY")); err != nil || d < 0 || d > 5*time.Minute {
		bad("CLERK_LEEWAY", "must be a duration from 0s to 5m, such as 5s, not %q", get("CLERK_LEEWAY"))
	} else {
		c.ClerkLeeway = d
	}
	if name, value, ok := strings.Cut(c.AdminRoleClaim, "="); !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(value) == "" {
		bad("ADMIN_ROLE_CLAIM", "must be claim=value, such as role=admin, not %q", c.AdminRoleClaim)
	}
	if b, err := strconv.ParseBool(get("CLERK_ORG_ADMIN")); err != nil {
		bad("CLERK_ORG_ADMIN", "must be true or false, not %q", get("CLERK_ORG_ADMIN"))
	} else {
		c.ClerkOrgAdmin = b
	}
	if c.ClerkSecretKey != "" && !strings.HasPrefix(string(c.ClerkSecretKey), "sk_") {
		bad("CLERK_SECRET_KEY", "must be a Clerk secret key (sk_test_… or sk_live_…), not a publishable key")
	}
	if c.ClerkJWKSURL != "" && !secureURL(c.ClerkJWKSURL) {
		bad("CLERK_JWKS_URL", "must be an https URL (http only on a loopback address), not %q", c.ClerkJWKSURL)
	}
	if c.ClerkIssuer == "" {
		if c.ClerkJWKSURL != "" || len(c.ClerkAuthorizedParties) > 0 {
			bad("CLERK_ISSUER", "is required when CLERK_JWKS_URL or CLERK_AUTHORIZED_PARTIES is set (Clerk is enabled by CLERK_ISSUER)")
		}
		return
	}
	if !secureURL(c.ClerkIssuer) || strings.HasSuffix(c.ClerkIssuer, "/") {
		bad("CLERK_ISSUER", "must be the Frontend API URL exactly as in the tokens' iss, https without a trailing slash (http only on a loopback address), not %q", c.ClerkIssuer)
	}
	if c.ClerkJWKSURL == "" && c.ClerkSecretKey == "" {
		bad("CLERK_JWKS_URL", "CLERK_JWKS_URL or CLERK_SECRET_KEY is required when CLERK_ISSUER is set")
	}
}

// loopbackHost reports whether host (of host:port) listens on loopback only;
// "" (every interface) does not.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// secureURL reports whether s is an https URL, or an http one on a loopback
// address (local development and tests).
func secureURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		ip := net.ParseIP(h)
		return h == "localhost" || (ip != nil && ip.IsLoopback())
	}
	return false
}

// FromEnv is Load with the process environment.
func FromEnv(args []string) (Config, error) { return Load(args, os.Getenv) }

// Usage lists the settings, for help output.
func Usage() string {
	var b strings.Builder
	for _, s := range settings {
		fmt.Fprintf(&b, "  %-22s -%-22s default %q\n      %s\n", s.env, s.flag, s.def, s.help)
	}
	return b.String()
}

// loadConvex reads the Convex engine's settings: all three or none.
func loadConvex(c *Config, get func(string) string, bad func(env, format string, a ...any)) {
	c.ConvexURL = strings.TrimRight(get("CONVEX_URL"), "/")
	c.ConvexSiteURL = strings.TrimRight(get("CONVEX_SITE_URL"), "/")
	c.ConvexIngestSecret = Secret(get("CONVEX_INGEST_SECRET"))
	if c.ConvexURL == "" && c.ConvexSiteURL == "" && c.ConvexIngestSecret == "" {
		return
	}
	for _, v := range []struct{ env, val string }{{"CONVEX_URL", c.ConvexURL}, {"CONVEX_SITE_URL", c.ConvexSiteURL}} {
		if u, err := url.Parse(v.val); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(v.env, "must be an http(s) URL when the Convex engine is configured, not %q", v.val)
		}
	}
	if c.ConvexIngestSecret == "" {
		bad("CONVEX_INGEST_SECRET", "is required with CONVEX_URL (the same value as INGEST_SECRET in the Convex deployment)")
	} else if len(c.ConvexIngestSecret) < signature.MinSecretBytes {
		bad("CONVEX_INGEST_SECRET", "must be at least %d bytes (the deployment refuses a shorter INGEST_SECRET)", signature.MinSecretBytes)
	}
}
