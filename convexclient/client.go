package convexclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"llmmeter/internal/signature"
)

// SignatureHeader carries a signed request's timestamp and MAC.
const SignatureHeader = signature.Header

// Config configures a Client. URL is needed for the HTTP API, SiteURL and
// Secret for the HTTP actions.
type Config struct {
	URL     string // https://<deployment>.convex.cloud
	SiteURL string // https://<deployment>.convex.site
	Secret  string // INGEST_SECRET shared with the Convex deployment

	HTTPClient *http.Client
	Timeout    time.Duration // per attempt; default 15s
	MaxRetries int           // default 3; negative disables
	MinBackoff time.Duration // default 200ms
	MaxBackoff time.Duration // default 5s
	Now        func() time.Time
}

// Client calls one Convex deployment. It is safe for concurrent use.
type Client struct {
	http   *resty.Client
	api    string
	site   string
	secret []byte
	now    func() time.Time
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	var errs []error
	for _, f := range [][2]string{{"URL", cfg.URL}, {"SiteURL", cfg.SiteURL}} {
		name, v := f[0], f[1]
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("convexclient: %s must be an http(s) URL", name))
		}
	}
	if cfg.URL == "" && cfg.SiteURL == "" {
		errs = append(errs, errors.New("convexclient: URL or SiteURL is required"))
	}
	if cfg.SiteURL != "" && cfg.Secret == "" {
		errs = append(errs, errors.New("convexclient: Secret is required to call HTTP actions"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 200 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	rc := resty.NewWithClient(hc).
		SetTimeout(cfg.Timeout).
		SetRetryCount(cfg.MaxRetries).
		SetRetryWaitTime(cfg.MinBackoff).
		SetRetryMaxWaitTime(cfg.MaxBackoff).
		AddRetryCondition(retryable).
		SetLogger(quietLogger{}). // failures are returned to the caller, who logs them
		SetHeader("Content-Type", "application/json")
	return &Client{http: rc, api: strings.TrimRight(cfg.URL, "/"), site: strings.TrimRight(cfg.SiteURL, "/"), secret: []byte(cfg.Secret), now: cfg.Now}, nil
}

// retryable is the one place retry is decided: transport failures, 429 and
// 5xx (except 560, Convex's "function threw", which is final).
func retryable(r *resty.Response, err error) bool {
	if err != nil {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	s := r.StatusCode()
	return s == http.StatusTooManyRequests || (s >= 500 && s != 560)
}

// Sign returns the signature header value for a POST of body to path (the
// URL path as sent, e.g. "/ingest") at t; see package signature.
func Sign(secret []byte, t time.Time, path string, body []byte) string {
	return signature.SignRequest(secret, t, http.MethodPost, path, body)
}

// HTTPError is a refusal by an HTTP action: 4xx, or 5xx after the retries.
type HTTPError struct {
	Route   string
	Status  int
	Code    string
	Message string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("convex %s: HTTP %d %s: %s", e.Route, e.Status, e.Code, e.Message)
}

// Temporary reports whether trying again later may succeed.
func (e *HTTPError) Temporary() bool { return e.Status == 429 || e.Status >= 500 }

// Call POSTs in as JSON to an HTTP action route (e.g. "/ingest"), signed,
// and decodes the answer into out (which may be nil).
func (c *Client) Call(ctx context.Context, route string, in, out any) error {
	if c.site == "" {
		return errors.New("convexclient: no SiteURL configured")
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("convexclient: encode %s: %w", route, err)
	}
	target := c.site + route
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("convexclient: %s: invalid route", route)
	}
	// The signature covers the path as sent, prefix of SiteURL included,
	// which is what the HTTP action sees in request.url.
	res, err := c.http.R().SetContext(ctx).
		SetHeader(SignatureHeader, Sign(c.secret, c.now(), u.EscapedPath(), body)).
		SetBody(body).
		Post(target)
	if err != nil {
		return fmt.Errorf("convexclient: %s: %w", route, err)
	}
	if res.StatusCode() != http.StatusOK {
		var v struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		json.Unmarshal(res.Body(), &v)
		if v.Error.Message == "" {
			v.Error.Message = truncate(string(res.Body()), 300)
		}
		return &HTTPError{Route: route, Status: res.StatusCode(), Code: v.Error.Code, Message: v.Error.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(res.Body(), out); err != nil {
		return fmt.Errorf("convexclient: decode %s answer: %w", route, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// quietLogger keeps resty from writing to stderr on its own.
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}
