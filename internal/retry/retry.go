// Package retry is the one retry policy of the service's outbound HTTP
// (OpenRouter, Convex, alert webhooks).
//
// What it decides, in one place:
//   - what may be retried: network errors, and HTTP answers 408, 429 and
//     5xx (Retryable, RetryableStatus); other 4xx, a cancelled or expired
//     context, a certificate problem and errors marked Permanent are final;
//   - how long to wait: the answer's Retry-After when it is within
//     Policy.MaxRetryAfter (a longer one ends retrying at once: waiting that
//     long would hold the caller), else exponential backoff with full
//     jitter, uniform in [0, min(MaxBackoff, MinBackoff·2^n)];
//   - how often: at most Policy.MaxRetries retries after the first attempt.
//
// Callers build and send each attempt themselves, so they keep control of
// what may be retried at all (OpenRouter: only before a 2xx arrives) and
// drain the body of every answer they do not hand on (Drain).
package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults for the zero fields of a Policy.
const (
	DefaultMinBackoff    = 200 * time.Millisecond
	DefaultMaxBackoff    = 5 * time.Second
	DefaultMaxRetryAfter = 10 * time.Second
)

// Policy says how often and after how long a failed attempt is tried again.
// The zero value makes one attempt only; zero durations take the defaults.
type Policy struct {
	// MaxRetries is how many times a failed attempt is repeated; 0 or
	// less means none.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the jittered exponential backoff.
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After waited for.
	MaxRetryAfter time.Duration
	// Sleep waits d, returning ctx.Err() early when ctx ends; nil uses a
	// timer. Tests inject one that records the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a wait uniform in [0, ceil]; nil uses math/rand.
	// Tests inject one to make backoff exact.
	Jitter func(ceil time.Duration) time.Duration
	// RetryAttemptTimeouts retries an attempt that hit its own timeout
	// (http.Client.Timeout) while ctx is still alive. Off by default: the
	// server may still be working on the request (a Convex mutation runs
	// to its end), and trying again at once races it and adds load where
	// the caller's own backoff is the better pace. Webhooks turn it on.
	RetryAttemptTimeouts bool
}

// StatusError is implemented by errors that stand for an HTTP answer
// outside 2xx (openrouter.APIError, convexclient.HTTPError, ...), so that
// Retryable decides by the status.
type StatusError interface {
	error
	HTTPStatus() int
}

// RetryAfterError is implemented by errors that carry an answer's parsed
// Retry-After (0 when absent).
type RetryAfterError interface {
	error
	RetryAfterDelay() time.Duration
}

// ErrInterrupted is wrapped by Do's error when ctx ended while it waited
// to retry; the error also wraps ctx's error and the last attempt's.
var ErrInterrupted = errors.New("gave up waiting to retry")

// Permanent marks err as final whatever its kind, e.g. an answer the
// caller knows is a function's own failure. Do returns err itself, unmarked.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// RetryableStatus reports whether an HTTP status is transient: 408
// (request timeout), 429 (rate limited) and every 5xx. Other 4xx say the
// request itself is wrong and would fail again.
func RetryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// Retryable reports whether the failure err may succeed if tried again:
// a StatusError with a RetryableStatus, or a network error (connection
// refused or reset, EOF before an answer). A cancelled or expired context,
// a certificate problem and Permanent errors are final, as is anything
// else. (Do can also retry an attempt's own timeout, which only it can
// tell from the caller's deadline; see Policy.RetryAttemptTimeouts.)
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if _, ok := errors.AsType[*permanentError](err); ok {
		return false
	}
	if se, ok := errors.AsType[StatusError](err); ok {
		return RetryableStatus(se.HTTPStatus())
	}
	if isCertError(err) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	_, ok := errors.AsType[*url.Error](err)
	return ok
}

func isCertError(err error) bool {
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return true
	}
	_, ok := errors.AsType[x509.CertificateInvalidError](err)
	return ok
}

// Do calls try until it returns nil, fails with an error that is not
// Retryable, asks to wait longer than MaxRetryAfter, or has been retried
// MaxRetries times, or ctx ends; it returns try's last error. An attempt
// that failed on a deadline while ctx is still alive timed out on its own
// (a per-attempt timeout such as http.Client.Timeout); it is retried only
// with RetryAttemptTimeouts. When ctx ends during a
// wait, the error wraps ErrInterrupted, ctx's error and the last attempt's.
func (p Policy) Do(ctx context.Context, try func(ctx context.Context) error) error {
	for attempt := 0; ; attempt++ {
		err := try(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err // the caller stopped waiting: nothing more is tried
		}
		// A deadline while ctx is alive is the attempt's own timeout
		// (http.Client.Timeout).
		wait, ok := p.next(attempt, err, p.RetryAttemptTimeouts && errors.Is(err, context.DeadlineExceeded))
		if !ok {
			if pe, ok := err.(*permanentError); ok {
				return pe.err // the mark has done its work; callers get their own error
			}
			return err
		}
		if serr := p.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%w: %w (last error: %w)", ErrInterrupted, serr, err)
		}
	}
}

// Next decides after the failed attempt number attempt (0 for the first)
// whether to try again and after how long.
func (p Policy) Next(attempt int, err error) (time.Duration, bool) {
	return p.next(attempt, err, false)
}

func (p Policy) next(attempt int, err error, attemptTimedOut bool) (time.Duration, bool) {
	if attempt >= p.MaxRetries || !(attemptTimedOut || Retryable(err)) {
		return 0, false
	}
	if ra, ok := errors.AsType[RetryAfterError](err); ok {
		if d := ra.RetryAfterDelay(); d > 0 {
			if d > orDefault(p.MaxRetryAfter, DefaultMaxRetryAfter) {
				return 0, false
			}
			return d, true
		}
	}
	return p.Backoff(attempt), true
}

// Backoff is the wait before retry number attempt+1: exponential with full
// jitter, uniform in [0, min(MaxBackoff, MinBackoff·2^attempt)].
func (p Policy) Backoff(attempt int) time.Duration {
	minB, maxB := orDefault(p.MinBackoff, DefaultMinBackoff), orDefault(p.MaxBackoff, DefaultMaxBackoff)
	ceil := minB
	for i := 0; i < attempt && ceil < maxB; i++ {
		ceil *= 2
	}
	ceil = min(ceil, maxB)
	if ceil <= 0 {
		return 0
	}
	if p.Jitter != nil {
		return max(0, min(p.Jitter(ceil), ceil))
	}
	return rand.N(ceil + 1)
}

func (p Policy) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits d or until ctx ends, returning ctx.Err() in that case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ParseRetryAfter reads a Retry-After value, delay-seconds or an HTTP-date
// (relative to now); 0 when absent, unparsable or already past.
func ParseRetryAfter(v string, now time.Time) time.Duration {
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

// maxDrain bounds how much of an unwanted body is read so that the
// connection can be reused; a longer body costs a new connection instead.
const maxDrain = 64 << 10

// Drain reads what is left of an answer's body (up to 64 KiB) and closes
// it, so that the connection goes back to the pool.
func Drain(body io.ReadCloser) {
	if body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, body, maxDrain)
	_ = body.Close()
}

func orDefault(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}
