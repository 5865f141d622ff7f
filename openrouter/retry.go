package openrouter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"llmmeter/internal/retry"
)

// open sends a request and returns a 2xx response whose body the caller
// owns. Failures before that point are retried as the shared retry policy
// allows (network errors, 408, 429, 5xx; Retry-After up to MaxRetryAfter);
// once a 2xx arrives nothing is retried, since the call may already be
// billed.
func (c *Client) open(ctx context.Context, method, path string, body []byte, stream bool) (*http.Response, error) {
	var ok *http.Response
	err := c.policy.Do(ctx, func(ctx context.Context) error {
		req, err := c.newRequest(ctx, method, path, body, stream)
		if err != nil {
			return retry.Permanent(err)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return c.transportError(ctx, err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			ok = resp
			return nil
		}
		return c.readAPIError(resp) // drains and closes the body
	})
	if errors.Is(err, retry.ErrInterrupted) {
		return nil, fmt.Errorf("openrouter: %s %s: %w", method, pathOnly(path), err)
	}
	if err != nil {
		return nil, err
	}
	return ok, nil
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

// pollDelay paces GetGeneration's 404 polling: exponential without jitter,
// because the record usually appears within a second or two and a short
// random wait would just spend requests.
func (c *Client) pollDelay(attempt int) time.Duration {
	d := c.policy.MinBackoff
	for i := 0; i < attempt && d < c.policy.MaxBackoff; i++ {
		d *= 2
	}
	return max(min(d, c.policy.MaxBackoff), time.Millisecond)
}
