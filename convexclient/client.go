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

	"llmmeter/internal/retry"
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
	// Retries follow the shared policy (internal/retry): network errors,
	// 408, 429 and 5xx are retried, except 560 (a Convex function threw,
	// which is final); Retry-After up to MaxRetryAfter is honoured.
	MaxRetries    int           // default 3; negative disables
	MinBackoff    time.Duration // default 200ms
	MaxBackoff    time.Duration // default 5s
	MaxRetryAfter time.Duration // default 10s
	Now           func() time.Time
	// Sleep replaces the wait between retries, for tests; it must return
	// ctx.Err() early when ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls one Convex deployment. It is safe for concurrent use.
type Client struct {
	http   *resty.Client
	api    string
	site   string
	secret []byte
	now    func() time.Time
	policy retry.Policy
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
	} else if cfg.Secret != "" && len(cfg.Secret) < signature.MinSecretBytes {
		errs = append(errs, fmt.Errorf("convexclient: Secret must be at least %d bytes (the deployment refuses a shorter INGEST_SECRET)", signature.MinSecretBytes))
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
	// resty only sends: retries are the shared policy's (see do).
	rc := resty.NewWithClient(hc).
		SetTimeout(cfg.Timeout).
		SetLogger(quietLogger{}). // failures are returned to the caller, who logs them
		SetHeader("Content-Type", "application/json")
	policy := retry.Policy{MaxRetries: cfg.MaxRetries, MinBackoff: cfg.MinBackoff, MaxBackoff: cfg.MaxBackoff,
		MaxRetryAfter: cfg.MaxRetryAfter, Sleep: cfg.Sleep}
	return &Client{http: rc, api: strings.TrimRight(cfg.URL, "/"), site: strings.TrimRight(cfg.SiteURL, "/"), secret: []byte(cfg.Secret), now: cfg.Now, policy: policy}, nil
}

// functionThrew is Convex's status for "the function threw": final.
const functionThrew = 560

// do sends the request send builds, retried as the shared policy decides;
// answer turns a response into the call's result or error (an *HTTPError
// for a status worth retrying). Errors of the last attempt are returned.
func (c *Client) do(ctx context.Context, send func(ctx context.Context) (*resty.Response, error), answer func(*resty.Response) error) error {
	return c.policy.Do(ctx, func(ctx context.Context) error {
		res, err := send(ctx)
		if err != nil {
			return err
		}
		err = answer(res)
		if he, ok := errors.AsType[*HTTPError](err); ok {
			he.RetryAfter = retry.ParseRetryAfter(res.Header().Get("Retry-After"), c.now())
			if he.Status == functionThrew {
				return retry.Permanent(err)
			}
		}
		return err
	})
}

// Sign returns the signature header value for a POST of body to path (the
// URL path as sent, e.g. "/ingest") at t with nonce; see package signature.
// Convex accepts a nonce once, so every send needs its own.
func Sign(secret []byte, t time.Time, nonce, path string, body []byte) string {
	return signature.SignRequest(secret, t, nonce, http.MethodPost, path, body)
}

// HTTPError is a refusal by an HTTP action: 4xx, or 5xx after the retries.
type HTTPError struct {
	Route   string
	Status  int
	Code    string
	Message string
	// RetryAfter is the answer's Retry-After, 0 when absent.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("convex %s: HTTP %d %s: %s", e.Route, e.Status, e.Code, e.Message)
}

// Temporary reports whether trying again later may succeed.
func (e *HTTPError) Temporary() bool {
	return e.Status != functionThrew && retry.RetryableStatus(e.Status)
}

// HTTPStatus and RetryAfterDelay let the shared retry policy classify e.
func (e *HTTPError) HTTPStatus() int                { return e.Status }
func (e *HTTPError) RetryAfterDelay() time.Duration { return e.RetryAfter }

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
	send := func(ctx context.Context) (*resty.Response, error) {
		// The signature covers the path as sent, prefix of SiteURL included,
		// which is what the HTTP action sees in request.url. Each attempt is
		// signed afresh, with a new timestamp and nonce: Convex accepts a
		// nonce once, so a retry after a lost answer reusing the bytes would
		// be refused as a replay.
		res, err := c.http.R().SetContext(ctx).
			SetHeader(SignatureHeader, Sign(c.secret, c.now(), signature.NewNonce(), u.EscapedPath(), body)).
			SetBody(body).
			Post(target)
		if err != nil {
			return nil, fmt.Errorf("convexclient: %s: %w", route, err)
		}
		return res, nil
	}
	err = c.do(ctx, send, func(res *resty.Response) error {
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
			return fmt.Errorf("convexclient: decode %s answer: %w", route, err) // final: not a transport error
		}
		return nil
	})
	if errors.Is(err, retry.ErrInterrupted) {
		return fmt.Errorf("convexclient: %s: %w", route, err)
	}
	return err
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
