package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"llmmeter/internal/signature"
)

// SignatureHeader carries a webhook's timestamp and HMAC:
// "t=<unix ms>,v1=<hex HMAC-SHA256(secret, "webhook\n<t>\n<body>")>". The
// "webhook" label keeps a webhook signature from ever passing as one of the
// service's Convex requests (package internal/signature).
const SignatureHeader = signature.Header

// Webhooks posts alert notifications to URLs: a Slack-compatible body
// ({"text": …}) by default, or the alert as JSON. Each request is signed
// when Secret is set, retried with exponential backoff and jitter on
// network errors, 429 and 5xx only (decided in retryableStatus), bodies
// drained; errors name the URL's host only, never its path or the secret.
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

// retryableStatus is the one place retry is decided for webhooks.
func retryableStatus(code int) bool { return code == http.StatusTooManyRequests || code >= 500 }

func (w *Webhooks) send(ctx context.Context, rawURL string, body []byte) error {
	now, sleep := w.Now, w.Sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	minB, maxB := w.MinBackoff, w.MaxBackoff
	if minB <= 0 {
		minB = 500 * time.Millisecond
	}
	if maxB <= 0 {
		maxB = 10 * time.Second
	}
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	where := redactURL(rawURL)
	var last error
	for attempt := 0; attempt <= max(w.MaxRetries, 0); attempt++ {
		if attempt > 0 {
			d := min(maxB, minB<<(attempt-1))
			d = d/2 + rand.N(d/2+1)
			if err := sleep(ctx, d); err != nil {
				return fmt.Errorf("webhook %s: %w (last error: %w)", where, err, last)
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("webhook %s: invalid request", where)
		}
		req.Header.Set("Content-Type", "application/json")
		if w.Secret != "" {
			req.Header.Set(SignatureHeader, SignWebhook([]byte(w.Secret), now(), body))
		}
		res, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("webhook %s: %w", where, ctx.Err())
			}
			// url.Error repeats the full URL; keep only the cause's kind.
			last = fmt.Errorf("webhook %s: network error: %s", where, scrub(err.Error(), rawURL, w.Secret))
			continue
		}
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		if res.StatusCode < 300 {
			return nil
		}
		last = fmt.Errorf("webhook %s: HTTP %d", where, res.StatusCode)
		if !retryableStatus(res.StatusCode) {
			return last
		}
	}
	return last
}

// scrub removes the URL and the secret from an error text.
func scrub(s, rawURL, secret string) string {
	s = strings.ReplaceAll(s, rawURL, redactURL(rawURL))
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "<secret>")
	}
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
