// Package config loads the service's configuration once at start: from
// environment variables, overridden by command-line flags, validated as a
// whole so that every bad setting is reported at once, naming its variable.
// Secrets print as <secret>.
package config

import (
	"errors"
	"flag"
	"fmt"
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
	AppReferer        string // sent upstream as HTTP-Referer
	AppTitle          string // sent upstream as X-Title

	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
	ReportingTZ     *time.Location
	IPAddresses     string // full | truncate | off
}

// Simulated reports whether no OpenRouter key is configured, in which case
// the service runs the built-in simulator as its upstream.
func (c Config) Simulated() bool { return c.OpenRouterAPIKey == "" }

type setting struct {
	env, flag, def, help string
}

var settings = []setting{
	{"APP_ENV", "env", "development", "development or production; production refuses to start without OPENROUTER_API_KEY"},
	{"LISTEN_ADDR", "listen", "127.0.0.1:8080", "address the gateway listens on"},
	{"DATA_DIR", "data-dir", "./data", "directory of the embedded store and the outbox"},
	{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"OPENROUTER_API_KEY", "openrouter-api-key", "", "OpenRouter key; empty runs the built-in simulator"},
	{"OPENROUTER_BASE_URL", "openrouter-base-url", "https://openrouter.ai/api/v1", "OpenRouter API base URL"},
	{"APP_REFERER", "app-referer", "", "HTTP-Referer sent to OpenRouter (app attribution)"},
	{"APP_TITLE", "app-title", "", "X-Title sent to OpenRouter (app attribution)"},
	{"MAX_BODY_BYTES", "max-body-bytes", "4194304", "largest request body accepted"},
	{"SHUTDOWN_TIMEOUT", "shutdown-timeout", "30s", "how long open streams may finish on shutdown"},
	{"REPORTING_TZ", "reporting-tz", "UTC", "IANA time zone of period keys"},
	{"LOG_IP_ADDRESSES", "log-ip-addresses", "full", "client IPs in request logs: full, truncate or off"},
}

// Load reads the environment (getenv) and then args as flags.
func Load(args []string, getenv func(string) string) (Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	vals := make(map[string]*string, len(settings))
	for _, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		vals[s.env] = fs.String(s.flag, def, s.help+" ($"+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
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
	return c, errors.Join(errs...)
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
