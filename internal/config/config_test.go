package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != "127.0.0.1:8080" || c.DataDir != "./data" || !c.Simulated() || c.ReportingTZ.String() != "UTC" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	c, err := Load([]string{"-listen", "127.0.0.1:9999"}, env(map[string]string{"LISTEN_ADDR": "127.0.0.1:1111", "DATA_DIR": "/tmp/x"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != "127.0.0.1:9999" || c.DataDir != "/tmp/x" {
		t.Fatalf("got %+v", c)
	}
}

func TestInvalidNamesEveryVariable(t *testing.T) {
	_, err := Load(nil, env(map[string]string{
		"APP_ENV":             "production", // without a key
		"LISTEN_ADDR":         "nope",
		"LOG_LEVEL":           "loud",
		"OPENROUTER_BASE_URL": "ftp://x",
		"MAX_BODY_BYTES":      "12",
		"SHUTDOWN_TIMEOUT":    "soon",
		"REPORTING_TZ":        "Mars/Olympus",
		"LOG_IP_ADDRESSES":    "some",
	}))
	if err == nil {
		t.Fatal("want error")
	}
	for _, v := range []string{"OPENROUTER_API_KEY", "LISTEN_ADDR", "LOG_LEVEL", "OPENROUTER_BASE_URL", "MAX_BODY_BYTES", "SHUTDOWN_TIMEOUT", "REPORTING_TZ", "LOG_IP_ADDRESSES"} {
		if !strings.Contains(err.Error(), v+":") {
			t.Errorf("error does not name %s: %v", v, err)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"OPENROUTER_API_KEY": "sk-or-v1-verysecret"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(c.OpenRouterAPIKey)} {
		if strings.Contains(s, "verysecret") {
			t.Fatalf("secret leaked: %s", s)
		}
	}
	if string(c.OpenRouterAPIKey) != "sk-or-v1-verysecret" {
		t.Fatal("secret value lost")
	}
}

func TestClerkDisabledByDefault(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClerkEnabled() || c.ClerkLeeway != 5*time.Second || c.AdminRoleClaim != "role=admin" || c.ClerkOrgAdmin || c.ClerkAudience != "" {
		t.Fatalf("unexpected Clerk defaults: %+v", c)
	}
}

func TestClerkSettings(t *testing.T) {
	c, err := Load([]string{"-clerk-org-admin=true"}, env(map[string]string{
		"CLERK_ISSUER":             "https://clerk.example.com",
		"CLERK_JWKS_URL":           "https://clerk.example.com/.well-known/jwks.json",
		"CLERK_SECRET_KEY":         "sk_test_abc",
		"CLERK_AUTHORIZED_PARTIES": " https://chat.example.com, http://localhost:5173 ,",
		"CLERK_LEEWAY":             "10s",
		"ADMIN_ROLE_CLAIM":         "llmmeter_role=owner",
		"CLERK_AUDIENCE":           "convex",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://chat.example.com", "http://localhost:5173"}
	if !c.ClerkEnabled() || c.ClerkIssuer != "https://clerk.example.com" || c.ClerkJWKSURL != "https://clerk.example.com/.well-known/jwks.json" ||
		!slices.Equal(c.ClerkAuthorizedParties, want) || c.ClerkLeeway != 10*time.Second || c.AdminRoleClaim != "llmmeter_role=owner" ||
		!c.ClerkOrgAdmin || c.ClerkSecretKey != "sk_test_abc" || c.ClerkAudience != "convex" {
		t.Fatalf("got %+v", c)
	}

	// A loopback http issuer and JWKS URL are allowed (local development
	// and tests); the secret key alone is a JWKS source.
	if _, err := Load(nil, env(map[string]string{"CLERK_ISSUER": "http://127.0.0.1:4000", "CLERK_JWKS_URL": "http://localhost:4000/jwks"})); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(nil, env(map[string]string{"CLERK_ISSUER": "https://clerk.example.com", "CLERK_SECRET_KEY": "sk_live_x"})); err != nil {
		t.Fatal(err)
	}
}

func TestClerkInvalidNamesEveryVariable(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		// Every Clerk setting wrong at once.
		{"all wrong", map[string]string{
			"CLERK_ISSUER":             "http://clerk.example.com/", // plain http, trailing slash
			"CLERK_JWKS_URL":           "http://clerk.example.com/jwks",
			"CLERK_SECRET_KEY":         "pk_test_publishable",
			"CLERK_AUTHORIZED_PARTIES": "https://ok.example.com,https://chat.example.com/",
			"CLERK_LEEWAY":             "1h",
			"ADMIN_ROLE_CLAIM":         "admin",
			"CLERK_ORG_ADMIN":          "maybe",
			"CLERK_AUDIENCE":           "convex, other",
		}, []string{"CLERK_ISSUER", "CLERK_JWKS_URL", "CLERK_SECRET_KEY", "CLERK_AUTHORIZED_PARTIES", "CLERK_LEEWAY", "ADMIN_ROLE_CLAIM", "CLERK_ORG_ADMIN", "CLERK_AUDIENCE"}},
		// Clerk on without a JWKS source.
		{"no JWKS source", map[string]string{"CLERK_ISSUER": "https://clerk.example.com"}, []string{"CLERK_JWKS_URL"}},
		// Clerk settings without the issuer that enables Clerk.
		{"no issuer", map[string]string{"CLERK_JWKS_URL": "https://clerk.example.com/.well-known/jwks.json"}, []string{"CLERK_ISSUER"}},
		// A negative leeway.
		{"negative leeway", map[string]string{"CLERK_LEEWAY": "-1s"}, []string{"CLERK_LEEWAY"}},
		// An admin claim without a value.
		{"empty claim value", map[string]string{"ADMIN_ROLE_CLAIM": "role="}, []string{"ADMIN_ROLE_CLAIM"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(nil, env(tt.env))
			if err == nil {
				t.Fatal("want error")
			}
			for _, v := range tt.want {
				if !strings.Contains(err.Error(), v+":") {
					t.Errorf("error does not name %s: %v", v, err)
				}
			}
		})
	}
}

func TestClerkSecretNeverPrints(t *testing.T) {
	c, err := Load(nil, env(map[string]string{
		"CLERK_ISSUER":     "https://clerk.example.com",
		"CLERK_SECRET_KEY": "sk_live_verysecretclerk",
	}))
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(c.ClerkSecretKey), string(js)} {
		if strings.Contains(s, "verysecretclerk") {
			t.Fatalf("secret leaked: %s", s)
		}
	}
	if !strings.Contains(fmt.Sprintf("%+v", c), "ClerkSecretKey:<secret>") {
		t.Errorf("secret not shown as <secret>: %+v", c)
	}
	if string(c.ClerkSecretKey) != "sk_live_verysecretclerk" {
		t.Fatal("secret value lost")
	}
	// Errors about the key do not quote it either.
	_, err = Load(nil, env(map[string]string{"CLERK_SECRET_KEY": "pk_verysecretclerk"}))
	if err == nil || strings.Contains(err.Error(), "verysecretclerk") {
		t.Fatalf("want an error that does not quote the key, got %v", err)
	}
}

// TestHelpHidesSecrets: -h prints flag defaults, which must not be secrets
// taken from the environment; the secrets still load.
func TestHelpHidesSecrets(t *testing.T) {
	getenv := env(map[string]string{"OPENROUTER_API_KEY": "sk-or-v1-verysecret", "CLERK_SECRET_KEY": "sk_test_verysecret", "DATA_DIR": "/srv/x"})
	fs, _ := flagSet(getenv)
	for _, name := range []string{"openrouter-api-key", "clerk-secret-key"} {
		if d := fs.Lookup(name).DefValue; d != "" {
			t.Errorf("-%s defaults to %q", name, d)
		}
	}
	if d := fs.Lookup("data-dir").DefValue; d != "/srv/x" {
		t.Errorf("non-secret default lost: %q", d)
	}
	c, err := Load(nil, getenv)
	if err != nil || string(c.OpenRouterAPIKey) != "sk-or-v1-verysecret" || string(c.ClerkSecretKey) != "sk_test_verysecret" {
		t.Fatalf("secrets from the environment lost: %v", err)
	}
}

func TestConvexSettingsAllOrNone(t *testing.T) {
	_, err := Load(nil, env(map[string]string{"CONVEX_URL": "https://happy-cat-123.convex.cloud"}))
	if err == nil || !strings.Contains(err.Error(), "CONVEX_SITE_URL:") || !strings.Contains(err.Error(), "CONVEX_INGEST_SECRET:") {
		t.Fatalf("partial Convex settings: %v", err)
	}
	c, err := Load(nil, env(map[string]string{"CONVEX_URL": "https://happy-cat-123.convex.cloud",
		"CONVEX_SITE_URL": "https://happy-cat-123.convex.site", "CONVEX_INGEST_SECRET": "0123456789abcdef0123456789abcdef"}))
	if err != nil || !c.ConvexEnabled() {
		t.Fatalf("full Convex settings: %v", err)
	}
	if strings.Contains(fmt.Sprintf("%+v", c), "0123456789abcdef0123456789abcdef") {
		t.Fatal("ingest secret printed")
	}
}

// TestConvexIngestSecretMinimum: a CONVEX_INGEST_SECRET under 32 bytes
// (it used to take 16) is refused, naming the variable and the minimum,
// never the secret; 32 bytes are enough.
func TestConvexIngestSecretMinimum(t *testing.T) {
	convex := func(secret string) func(string) string {
		return env(map[string]string{"CONVEX_URL": "https://happy-cat-123.convex.cloud",
			"CONVEX_SITE_URL": "https://happy-cat-123.convex.site", "CONVEX_INGEST_SECRET": secret})
	}
	for _, short := range []string{"k", "0123456789abcdef", strings.Repeat("k", 31)} {
		_, err := Load(nil, convex(short))
		if err == nil || !strings.Contains(err.Error(), "CONVEX_INGEST_SECRET: must be at least 32 bytes") || strings.Contains(err.Error(), short) {
			t.Errorf("%d-byte secret: %v", len(short), err)
		}
	}
	if _, err := Load(nil, convex(strings.Repeat("k", 32))); err != nil {
		t.Fatalf("32-byte secret: %v", err)
	}
}

// TestPprofLoopbackOnly: PPROF_ADDR=0.0.0.0:6060 used to be accepted and
// served profiles (and the command line) to the network; now a non-loopback
// address is refused, naming the variable, unless PPROF_ALLOW_REMOTE=true.
func TestPprofLoopbackOnly(t *testing.T) {
	for _, c := range []struct {
		addr, allow string
		ok          bool
	}{
		{"127.0.0.1:6060", "", true},      // IPv4 loopback
		{"127.9.9.9:6060", "", true},      // all of 127/8 is loopback
		{"[::1]:6060", "", true},          // IPv6 loopback
		{"localhost:6060", "", true},      // the loopback name
		{"0.0.0.0:6060", "", false},       // every interface: the reported hole
		{":6060", "", false},              // empty host: every interface too
		{"[::]:6060", "", false},          // every IPv6 interface
		{"10.0.0.5:6060", "", false},      // a LAN address
		{"pprof.example:6060", "", false}, // a name that may resolve anywhere
		{"0.0.0.0:6060", "true", true},    // allowed on purpose
		{"0.0.0.0:6060", "false", false},  // explicitly not allowed
	} {
		cfg, err := Load(nil, env(map[string]string{"PPROF_ADDR": c.addr, "PPROF_ALLOW_REMOTE": c.allow}))
		if c.ok && (err != nil || cfg.PprofAddr != c.addr) {
			t.Errorf("%s allow=%q: refused: %v", c.addr, c.allow, err)
		}
		if !c.ok && (err == nil || !strings.Contains(err.Error(), "PPROF_ADDR:") || !strings.Contains(err.Error(), "PPROF_ALLOW_REMOTE")) {
			t.Errorf("%s allow=%q: want an error naming PPROF_ADDR and PPROF_ALLOW_REMOTE, got %v", c.addr, c.allow, err)
		}
	}
	if _, err := Load(nil, env(map[string]string{"PPROF_ALLOW_REMOTE": "yes please"})); err == nil || !strings.Contains(err.Error(), "PPROF_ALLOW_REMOTE:") {
		t.Errorf("a bad PPROF_ALLOW_REMOTE: %v", err)
	}
}

// TestTimeouts: QUOTA_CHECK_TIMEOUT and AUTH_CHECK_TIMEOUT default to 2s,
// CLIENT_WRITE_TIMEOUT to 60s; a bad or non-positive value is refused by
// name.
func TestTimeouts(t *testing.T) {
	for name, tc := range map[string]struct {
		field func(Config) time.Duration
		def   time.Duration
	}{
		"QUOTA_CHECK_TIMEOUT":  {func(c Config) time.Duration { return c.QuotaTimeout }, 2 * time.Second},
		"AUTH_CHECK_TIMEOUT":   {func(c Config) time.Duration { return c.AuthTimeout }, 2 * time.Second},
		"CLIENT_WRITE_TIMEOUT": {func(c Config) time.Duration { return c.WriteTimeout }, time.Minute},
	} {
		field := tc.field
		cfg, err := Load(nil, env(nil))
		if err != nil || field(cfg) != tc.def {
			t.Fatalf("%s default: %v, %v", name, field(cfg), err)
		}
		if cfg, err = Load(nil, env(map[string]string{name: "250ms"})); err != nil || field(cfg) != 250*time.Millisecond {
			t.Fatalf("%s=250ms: %v, %v", name, field(cfg), err)
		}
		for _, bad := range []string{"0s", "-1s", "soon"} {
			if _, err := Load(nil, env(map[string]string{name: bad})); err == nil || !strings.Contains(err.Error(), name+":") {
				t.Errorf("%s=%q: want an error naming it, got %v", name, bad, err)
			}
		}
	}
}

// TestCORSOrigins: CORS_ALLOWED_ORIGINS is a list of exact origins, read as
// CLERK_AUTHORIZED_PARTIES is; a wildcard, a path or a bare host is refused
// by name.
func TestCORSOrigins(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"CORS_ALLOWED_ORIGINS": " https://chat.example.com, http://localhost:5173 ,"}))
	if err != nil || !slices.Equal(c.CORSOrigins, []string{"https://chat.example.com", "http://localhost:5173"}) {
		t.Fatalf("%v, %v", c.CORSOrigins, err)
	}
	if c, err := Load(nil, env(nil)); err != nil || len(c.CORSOrigins) != 0 {
		t.Fatalf("default: %v, %v", c.CORSOrigins, err)
	}
	for _, bad := range []string{"*", "https://chat.example.com/", "chat.example.com", "https://chat.example.com#x", "https://chat.example.com?", "ftp://chat.example.com"} {
		if _, err := Load(nil, env(map[string]string{"CORS_ALLOWED_ORIGINS": "https://ok.example.com," + bad})); err == nil || !strings.Contains(err.Error(), "CORS_ALLOWED_ORIGINS:") {
			t.Errorf("%q: want an error naming CORS_ALLOWED_ORIGINS, got %v", bad, err)
		}
	}
}
