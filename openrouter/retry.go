package openrouter

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// open sends a request and returns a 2xx response whose body the caller
// owns. Failures before that point are retried as IsRetryable allows; once
// a 2xx arrives nothing is retried, since the call may already be billed.
func (c *Client) open(ctx context.Context, method, path string, body []byte, stream bool) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := c.newRequest(ctx, method, path, body, stream)
		if err != nil {
			return nil, err
		}
		resp, err := c.hc.Do(req)
		if err == nil {
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				return resp, nil
			}
			err = c.readAPIError(resp)
		} else {
			err = c.transportError(ctx, err)
		}
		if attempt >= c.maxRetries || !IsRetryable(err) {
			return nil, err
		}
		wait := c.backoff(attempt)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			if apiErr.RetryAfter > c.maxRetryAfter {
				return nil, err
			}
			wait = apiErr.RetryAfter
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("openrouter: %s %s: gave up waiting to retry: %w (last error: %w)", method, pathOnly(path), serr, err)
		}
	}
}

// transportError makes a failed Do report the context's error when the
// context is what ended it, so IsRetryable and errors.Is see it plainly.
func (c *Client) transportError(ctx context.Context, err error) error {
	err = redactErr(err, c.key)
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// backoff is exponential with full jitter: uniform in [0, min(max, min·2^n)].
func (c *Client) backoff(attempt int) time.Duration {
	ceil := c.minBackoff
	for i := 0; i < attempt && ceil < c.maxBackoff; i++ {
		ceil *= 2
	}
	ceil = min(ceil, c.maxBackoff)
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil + 1)
}

// pollDelay paces GetGeneration's 404 polling: exponential without jitter,
// because the record usually appears within a second or two and a short
// random wait would just spend requests.
func (c *Client) pollDelay(attempt int) time.Duration {
	d := c.minBackoff
	for i := 0; i < attempt && d < c.maxBackoff; i++ {
		d *= 2
	}
	return max(min(d, c.maxBackoff), time.Millisecond)
}

// parseRetryAfter reads delay-seconds or an HTTP-date; 0 when absent or
// unparsable or already past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 || secs != secs {
			return 0
		}
		if secs > float64(365*24*3600) {
			secs = 365 * 24 * 3600
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
