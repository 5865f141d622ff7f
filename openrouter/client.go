package openrouter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"llmmeter/internal/retry"
)

// DefaultBaseURL is OpenRouter's API root.
const DefaultBaseURL = "https://openrouter.ai/api/v1"

// NoRetries as Config.MaxRetries turns retries off; 0 selects the default.
const NoRetries = -1

const (
	defaultMaxRetries     = 2
	defaultMinBackoff     = 200 * time.Millisecond
	defaultMaxBackoff     = 5 * time.Second
	defaultMaxRetryAfter  = 10 * time.Second
	defaultGenerationWait = 5 * time.Second
	defaultMaxEventBytes  = 16 << 20
	minMaxEventBytes      = 1 << 20
	// maxBodyBytes bounds a non-streamed body held in memory; image models
	// return base64 images inline, so it is generous.
	maxBodyBytes = 64 << 20
)

// Config configures a Client. The zero value of every field selects its
// default, so Config{APIKey: k} is a working configuration.
type Config struct {
	// BaseURL is the API root; default DefaultBaseURL. A trailing slash is
	// ignored. It must be an absolute http or https URL without query.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer"; it never appears in errors
	// or in the printed Config. Empty sends no Authorization header.
	APIKey string
	// HTTPClient defaults to a client without an overall Timeout (streams
	// are long) whose transport keeps enough idle connections for a gateway.
	HTTPClient *http.Client
	// UnencryptedHTTP2 makes the default client speak HTTP/2 with prior
	// knowledge (h2c) to an http:// BaseURL, as the simulator serves it,
	// instead of one HTTP/1.1 connection per open stream. OpenRouter itself
	// is https, where HTTP/2 is negotiated by TLS whatever this says; an
	// https BaseURL with it set is refused. Ignored with HTTPClient.
	UnencryptedHTTP2 bool
	// Referer and Title, when set, are sent as HTTP-Referer and X-Title.
	Referer string
	Title   string
	// MaxRetries is how many times the opening of a call is retried: 0
	// selects the default (2), NoRetries (or any negative value) disables
	// retries.
	MaxRetries int
	// MinBackoff and MaxBackoff bound exponential backoff with full jitter:
	// retry n waits a uniform random time in [0, min(MaxBackoff,
	// MinBackoff·2^n)]. Defaults 200ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After honoured by waiting; a
	// longer one returns the error at once. Default 10s.
	MaxRetryAfter time.Duration
	// GenerationWait is how long GetGeneration keeps polling while the
	// record answers 404. Default 5s.
	GenerationWait time.Duration
	// MaxEventBytes bounds one SSE line or event; a longer one ends the
	// stream with ErrEventTooLarge. Default 16 MiB, minimum 1 MiB.
	MaxEventBytes int
	// Now and Sleep replace the clock and the wait between retries, for
	// tests. Sleep must return early with ctx.Err() when ctx ends.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// String prints the config with the key as <secret>, so logging it is safe.
func (c Config) String() string {
	return fmt.Sprintf("openrouter.Config{BaseURL:%q APIKey:%s Referer:%q Title:%q MaxRetries:%d MinBackoff:%s MaxBackoff:%s MaxRetryAfter:%s GenerationWait:%s MaxEventBytes:%d}",
		c.BaseURL, redactedKey(c.APIKey), c.Referer, c.Title, c.MaxRetries,
		c.MinBackoff, c.MaxBackoff, c.MaxRetryAfter, c.GenerationWait, c.MaxEventBytes)
}

// GoString keeps %#v from printing the key.
func (c Config) GoString() string { return c.String() }

// MarshalJSON keeps structured loggers from printing the key (and from
// failing on the func fields).
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		BaseURL, APIKey, Referer, Title string
		MaxRetries                      int
		MinBackoff, MaxBackoff          string
		MaxRetryAfter, GenerationWait   string
		MaxEventBytes                   int
	}{c.BaseURL, redactedKey(c.APIKey), c.Referer, c.Title, c.MaxRetries,
		c.MinBackoff.String(), c.MaxBackoff.String(), c.MaxRetryAfter.String(),
		c.GenerationWait.String(), c.MaxEventBytes})
}

func redactedKey(k string) string {
	if k == "" {
		return `""`
	}
	return "<secret>"
}

// Client talks to OpenRouter. It is safe for concurrent use.
type Client struct {
	base           string
	key            string
	hc             *http.Client
	referer, title string
	policy         retry.Policy // opening a call; see retry.go
	generationWait time.Duration
	maxEventBytes  int
	now            func() time.Time
	sleep          func(context.Context, time.Duration) error
}

// New checks cfg, fills in defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	var problems []error
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	base = strings.TrimRight(base, "/")
	if u, err := url.Parse(base); err != nil {
		problems = append(problems, errors.New("openrouter: BaseURL is not a URL"))
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		problems = append(problems, fmt.Errorf("openrouter: BaseURL %q must be an absolute http(s) URL without query or fragment", u.Redacted()))
	} else if cfg.UnencryptedHTTP2 && u.Scheme != "http" {
		problems = append(problems, errors.New("openrouter: UnencryptedHTTP2 is for an http:// BaseURL; https negotiates HTTP/2 by TLS"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"MinBackoff", cfg.MinBackoff}, {"MaxBackoff", cfg.MaxBackoff}, {"MaxRetryAfter", cfg.MaxRetryAfter}, {"GenerationWait", cfg.GenerationWait}} {
		if d.v < 0 {
			problems = append(problems, fmt.Errorf("openrouter: %s must not be negative", d.name))
		}
	}
	if cfg.MaxEventBytes < 0 {
		problems = append(problems, errors.New("openrouter: MaxEventBytes must not be negative"))
	}
	if strings.ContainsAny(cfg.APIKey, "\r\n") {
		problems = append(problems, errors.New("openrouter: APIKey contains a line break"))
	}
	c := &Client{
		base:    base,
		key:     cfg.APIKey,
		hc:      cfg.HTTPClient,
		referer: cfg.Referer,
		title:   cfg.Title,
		policy: retry.Policy{
			MaxRetries:    cfg.MaxRetries,
			MinBackoff:    orDefault(cfg.MinBackoff, defaultMinBackoff),
			MaxBackoff:    orDefault(cfg.MaxBackoff, defaultMaxBackoff),
			MaxRetryAfter: orDefault(cfg.MaxRetryAfter, defaultMaxRetryAfter),
		},
		generationWait: orDefault(cfg.GenerationWait, defaultGenerationWait),
		maxEventBytes:  max(orDefault(cfg.MaxEventBytes, defaultMaxEventBytes), minMaxEventBytes),
		now:            cfg.Now,
		sleep:          cfg.Sleep,
	}
	switch {
	case c.policy.MaxRetries == 0:
		c.policy.MaxRetries = defaultMaxRetries
	case c.policy.MaxRetries < 0:
		c.policy.MaxRetries = 0
	}
	if c.policy.MaxBackoff < c.policy.MinBackoff {
		problems = append(problems, errors.New("openrouter: MaxBackoff must not be below MinBackoff"))
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	if c.hc == nil {
		c.hc = defaultHTTPClient(cfg.UnencryptedHTTP2)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = retry.Sleep
	}
	c.policy.Sleep = c.sleep
	return c, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// connBufSize is the upstream connections' read and write buffer size.
const connBufSize = 1 << 10

func defaultHTTPClient(h2c bool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// The defaults (2 idle connections per host, 100 in all) would make a
	// busy gateway redial OpenRouter constantly: at 1,000 calls/s a burst
	// of more than 64 concurrent calls closed the surplus connections and
	// the next burst paid a fresh dial for each.
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 1024
	// Each HTTP/1.1 connection holds a read and a write buffer for its
	// whole life, idle or streaming (4 KiB each by default). Requests and
	// bodies larger than the buffer bypass it, and the stream reader
	// buffers lines itself, so 1 KiB costs no system calls worth counting
	// and saves 6 KiB per open stream.
	t.ReadBufferSize = connBufSize
	t.WriteBufferSize = connBufSize
	if h2c {
		// One connection carries up to the server's concurrent-stream limit
		// (250 in Go's server, OpenRouter's own over TLS): per open stream
		// the transport keeps one goroutine instead of an HTTP/1.1
		// connection's read and write loops, and one descriptor fewer.
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		t.Protocols = &p
	}
	return &http.Client{Transport: t}
}

// newRequest builds one attempt's request; the body is rebuilt per attempt.
func (c *Client) newRequest(ctx context.Context, method, path string, body []byte, stream bool) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("openrouter: build request: %w", err)
	}
	h := req.Header
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	if stream {
		h.Set("Accept", "text/event-stream")
		// Transparent gzip would buffer SSE events inside the decompressor.
		h.Set("Accept-Encoding", "identity")
		h.Set("Cache-Control", "no-cache")
	} else {
		h.Set("Accept", "application/json")
	}
	if c.key != "" {
		h.Set("Authorization", "Bearer "+c.key)
	}
	if c.referer != "" {
		h.Set("HTTP-Referer", c.referer)
	}
	if c.title != "" {
		h.Set("X-Title", c.title)
	}
	return req, nil
}

// getJSON fetches path and decodes a 2xx body into out.
func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	resp, err := c.open(ctx, http.MethodGet, path, nil, false)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return fmt.Errorf("openrouter: GET %s: read body: %w", pathOnly(path), err)
	}
	// A field of the wrong type is skipped rather than losing the answer.
	if err := json.Unmarshal(b, out); (err != nil && !isTypeError(err)) || !isObject(b) {
		return fmt.Errorf("openrouter: GET %s: %w: %s", pathOnly(path), ErrMalformedResponse, decodeProblem(err))
	}
	return nil
}

func pathOnly(p string) string {
	p, _, _ = strings.Cut(p, "?")
	return p
}
