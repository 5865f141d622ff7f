package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"llmmeter/internal/retry"
	"llmmeter/internal/signature"
)

// SignatureHeader carries a webhook's timestamp and HMAC:
// "t=<unix ms>,v1=<hex HMAC-SHA256(secret, "webhook\n<t>\n<body>")>". The
// "webhook" label keeps a webhook signature from ever passing as one of the
// service's Convex requests (package internal/signature).
const SignatureHeader = signature.Header

// Webhooks posts alert notifications to URLs: a Slack-compatible body
// ({"text": …}) by default, or the alert as JSON. Each request is signed
// when Secret is set and retried by the shared policy (internal/retry:
// network errors, 408, 429 and 5xx; jittered exponential backoff between
// MinBackoff and MaxBackoff; Retry-After up to 10s), bodies drained; errors
// name the URL's host only, never its path or the secret.
type Webhooks struct {
	URLs       []string
	Secret     string
	Format     string // slack (default) | json
	MaxRetries int
	Client     *http.Client
	MinBackoff time.Duration // default 500ms
	MaxBackoff time.Duration // default 10s
	Now        func() time.Time
	Sleep      func(ctx context.Context, d time.Duration) error
}

// NewWebhooks builds the notifier of cfg, or nil when no URL is configured.
func NewWebhooks(cfg Config, client *http.Client) *Webhooks {
	if len(cfg.WebhookURLs) == 0 {
		return nil
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.WebhookTimeout}
	}
	return &Webhooks{URLs: cfg.WebhookURLs, Secret: cfg.WebhookSecret, Format: cfg.WebhookFormat, MaxRetries: cfg.WebhookMaxRetries, Client: client}
}

// Notify sends a to every URL; it fails if any URL failed after retries.
func (w *Webhooks) Notify(ctx context.Context, a Alert) error {
	body, err := w.body(a)
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range w.URLs {
		if err := w.send(ctx, u, body); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (w *Webhooks) body(a Alert) ([]byte, error) {
	if w.Format == "json" {
		return json.Marshal(a)
	}
	text := fmt.Sprintf("[%s] %s: %s", strings.ToUpper(string(a.Severity)), a.AlertType, a.Message)
	return json.Marshal(map[string]any{"text": text})
}

// SignWebhook returns the SignatureHeader value for body at t.
func SignWebhook(secret []byte, t time.Time, body []byte) string {
	return signature.SignWebhook(secret, t, body)
}

func (w *Webhooks) send(ctx context.Context, rawURL string, body []byte) error {
	_, err := w.post(ctx, rawURL, body)
	return err
}

// post is send that also reports how many attempts it made.
func (w *Webhooks) post(ctx context.Context, rawURL string, body []byte) (attempts int, err error) {
	now := w.Now
	if now == nil {
		now = time.Now
	}
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	// A 301, 302 or 303 would be followed as a GET without the body: the
	// webhook would answer 200 to an empty request and the notification
	// count as delivered, unseen. Such a redirect is answered as the
	// failure it is (a 3xx, below); 307 and 308 keep the method and body
	// and are followed. A copy, not to change the caller's client.
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.Method != http.MethodPost {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	client = &c
	// A webhook that timed out is tried again, as it always was: nothing
	// else retries a notification, and a late duplicate is harmless.
	policy := retry.Policy{MaxRetries: w.MaxRetries, MinBackoff: w.MinBackoff, MaxBackoff: w.MaxBackoff, Sleep: w.Sleep,
		RetryAttemptTimeouts: true}
	if policy.MinBackoff <= 0 {
		policy.MinBackoff = 500 * time.Millisecond
	}
	if policy.MaxBackoff <= 0 {
		policy.MaxBackoff = 10 * time.Second
	}
	where := redactURL(rawURL)
	err = policy.Do(ctx, func(ctx context.Context) error {
		attempts++
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
		if err != nil {
			return retry.Permanent(errors.New("invalid request"))
		}
		req.Header.Set("Content-Type", "application/json")
		if w.Secret != "" {
			req.Header.Set(SignatureHeader, SignWebhook([]byte(w.Secret), now(), body))
		}
		res, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// url.Error repeats the full URL; keep only the cause's kind.
			return &scrubbed{msg: "network error: " + scrub(err.Error(), rawURL, w.Secret), err: err}
		}
		retry.Drain(res.Body)
		if res.StatusCode < 300 {
			return nil
		}
		return &hookStatus{status: res.StatusCode, after: retry.ParseRetryAfter(res.Header.Get("Retry-After"), now())}
	})
	if err != nil {
		return attempts, fmt.Errorf("webhook %s: %w", where, err)
	}
	return attempts, nil
}

// hookStatus is a webhook's answer outside 2xx; the shared policy retries
// 408, 429 and 5xx and honours Retry-After.
type hookStatus struct {
	status int
	after  time.Duration
}

func (e *hookStatus) Error() string {
	if e.status >= 300 && e.status < 400 {
		// Location is not shown: it may hold the webhook's secret path.
		return fmt.Sprintf("HTTP %d: a redirect that would drop the body is not followed; set the webhook URL to its new address", e.status)
	}
	return fmt.Sprintf("HTTP %d", e.status)
}
func (e *hookStatus) HTTPStatus() int                { return e.status }
func (e *hookStatus) RetryAfterDelay() time.Duration { return e.after }

// scrubbed prints a transport error without the URL or the secret while
// keeping the cause for the retry decision.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// scrub removes the URL and the secret from an error text.
func scrub(s, rawURL, secret string) string {
	s = strings.ReplaceAll(s, rawURL, redactURL(rawURL))
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "<secret>")
	}
	return s
}
