package retry

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"
)

// statusErr is an HTTP answer as callers' error types report it.
type statusErr struct {
	status int
	after  time.Duration
}

func (e statusErr) Error() string                  { return fmt.Sprintf("HTTP %d", e.status) }
func (e statusErr) HTTPStatus() int                { return e.status }
func (e statusErr) RetryAfterDelay() time.Duration { return e.after }

func TestRetryable(t *testing.T) {
	netErr := &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		// Success is not a failure to retry.
		{"nil", nil, false},
		// Rate limited: try later.
		{"429", statusErr{status: 429}, true},
		// The server timed out waiting for the request: transient.
		{"408", statusErr{status: 408}, true},
		// Every 5xx is the server's trouble.
		{"500", statusErr{status: 500}, true},
		{"503 wrapped", fmt.Errorf("call: %w", statusErr{status: 503}), true},
		// Other 4xx: the request itself is wrong and would fail again.
		{"400", statusErr{status: 400}, false},
		{"401", statusErr{status: 401}, false},
		{"404", statusErr{status: 404}, false},
		// A refused connection never reached the server.
		{"connection refused", netErr, true},
		// A connection cut before the answer.
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		// The caller gave up: never retried, even when it arrives as a url.Error.
		{"canceled", &url.Error{Op: "Post", URL: "http://x", Err: context.Canceled}, false},
		{"deadline", context.DeadlineExceeded, false},
		// A certificate problem will not fix itself.
		{"bad certificate", &url.Error{Op: "Get", URL: "https://x", Err: x509.UnknownAuthorityError{}}, false},
		// Permanent overrides a retryable kind.
		{"permanent 503", Permanent(statusErr{status: 503}), false},
		// An error of no known kind is final.
		{"plain error", errors.New("decode failed"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestDo(t *testing.T) {
	// ceiling makes backoff exact: always the top of its range.
	ceiling := func(d time.Duration) time.Duration { return d }
	tests := []struct {
		name       string
		policy     Policy
		errs       []error // attempt i returns errs[i]; past the end, nil
		wantCalls  int
		wantSleeps []time.Duration
		wantErr    error // nil for success
	}{
		{
			// Backoff doubles from MinBackoff: 100ms, 200ms, 400ms.
			name:      "exponential backoff then success",
			policy:    Policy{MaxRetries: 5, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second},
			errs:      []error{statusErr{status: 503}, statusErr{status: 502}, io.ErrUnexpectedEOF},
			wantCalls: 4, wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond},
		},
		{
			// The backoff is capped at MaxBackoff.
			name:      "capped",
			policy:    Policy{MaxRetries: 3, MinBackoff: 400 * time.Millisecond, MaxBackoff: time.Second},
			errs:      []error{statusErr{status: 500}, statusErr{status: 500}, statusErr{status: 500}},
			wantCalls: 4, wantSleeps: []time.Duration{400 * time.Millisecond, 800 * time.Millisecond, time.Second},
		},
		{
			// Retries spent: the last error is returned.
			name:      "gives up after MaxRetries",
			policy:    Policy{MaxRetries: 2},
			errs:      []error{statusErr{status: 503}, statusErr{status: 503}, statusErr{status: 504}},
			wantCalls: 3, wantSleeps: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}, wantErr: statusErr{status: 504},
		},
		{
			// A Permanent error ends retrying and comes back unmarked.
			name:      "permanent",
			policy:    Policy{MaxRetries: 3},
			errs:      []error{Permanent(statusErr{status: 503})},
			wantCalls: 1, wantErr: statusErr{status: 503},
		},
		{
			// The zero policy makes one attempt.
			name: "zero policy", errs: []error{statusErr{status: 503}},
			wantCalls: 1, wantSleeps: nil, wantErr: statusErr{status: 503},
		},
		{
			// A 4xx is final at once.
			name:      "4xx not retried",
			policy:    Policy{MaxRetries: 3},
			errs:      []error{statusErr{status: 422}},
			wantCalls: 1, wantErr: statusErr{status: 422},
		},
		{
			// Retry-After within MaxRetryAfter replaces the backoff exactly.
			name:      "retry-after honoured",
			policy:    Policy{MaxRetries: 2, MaxRetryAfter: 10 * time.Second},
			errs:      []error{statusErr{status: 429, after: 3 * time.Second}},
			wantCalls: 2, wantSleeps: []time.Duration{3 * time.Second},
		},
		{
			// Retry-After beyond the bound returns the answer at once.
			name:      "retry-after too long",
			policy:    Policy{MaxRetries: 2, MaxRetryAfter: 10 * time.Second},
			errs:      []error{statusErr{status: 429, after: 30 * time.Second}},
			wantCalls: 1, wantErr: statusErr{status: 429, after: 30 * time.Second},
		},
		{
			// The default bound is 10s.
			name:      "retry-after default bound",
			policy:    Policy{MaxRetries: 2},
			errs:      []error{statusErr{status: 503, after: 10 * time.Second}, statusErr{status: 503, after: 11 * time.Second}},
			wantCalls: 2, wantSleeps: []time.Duration{10 * time.Second}, wantErr: statusErr{status: 503, after: 11 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var slept []time.Duration
			p := tt.policy
			p.Jitter = ceiling
			p.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
			calls := 0
			err := p.Do(context.Background(), func(context.Context) error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			if err != tt.wantErr {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			if fmt.Sprint(slept) != fmt.Sprint(tt.wantSleeps) {
				t.Errorf("slept %v, want %v", slept, tt.wantSleeps)
			}
		})
	}
}

func TestDoStopsWhenContextEnds(t *testing.T) {
	// The context ends during the wait: the error names the interruption,
	// the context's error and the last attempt's, and is not retryable.
	ctx, cancel := context.WithCancel(context.Background())
	p := Policy{MaxRetries: 3, Sleep: func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }}
	calls := 0
	err := p.Do(ctx, func(context.Context) error { calls++; return statusErr{status: 503} })
	if calls != 1 || !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) || !errors.As(err, new(statusErr)) || Retryable(err) {
		t.Fatalf("err = %v after %d calls", err, calls)
	}
	// The real sleep returns at once on an ended context.
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep = %v", err)
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	// With the real jitter every wait stays within [0, ceiling].
	p := Policy{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for attempt := range 8 {
		ceil := min(100*time.Millisecond<<attempt, time.Second)
		for range 50 {
			if d := p.Backoff(attempt); d < 0 || d > ceil {
				t.Fatalf("Backoff(%d) = %v, outside [0, %v]", attempt, d, ceil)
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 15, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		name, v string
		want    time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "12", 12 * time.Second},
		{"fractional seconds", "1.5", 1500 * time.Millisecond},
		{"zero", "0", 0},
		{"negative", "-3", 0},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"date in the past", now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseRetryAfter(tt.v, now); got != tt.want {
				t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

// countingBody records how much was read and whether it was closed.
type countingBody struct {
	left   int
	read   int
	closed bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), b.left)
	b.left -= n
	b.read += n
	return n, nil
}
func (b *countingBody) Close() error { b.closed = true; return nil }

func TestDrain(t *testing.T) {
	// A small body is read to the end and closed; a huge one is read only
	// up to the bound.
	small, huge := &countingBody{left: 1000}, &countingBody{left: 10 << 20}
	Drain(small)
	Drain(huge)
	Drain(nil)
	if small.read != 1000 || !small.closed || huge.read != maxDrain || !huge.closed {
		t.Fatalf("small %+v huge read %d closed %v", small, huge.read, huge.closed)
	}
}

func TestDoRetriesAnAttemptsOwnTimeout(t *testing.T) {
	// With RetryAttemptTimeouts, an attempt timed out (http.Client.Timeout)
	// while the caller still waits is retried; the caller's own deadline is
	// not. Without it neither is.
	timeout := &url.Error{Op: "Post", URL: "http://x", Err: context.DeadlineExceeded}
	off := Policy{MaxRetries: 2, Sleep: func(context.Context, time.Duration) error { return nil }}
	calls := 0
	if err := off.Do(context.Background(), func(context.Context) error { calls++; return timeout }); err != timeout || calls != 1 {
		t.Fatalf("off: err %v after %d calls, want the timeout after 1", err, calls)
	}
	p := off
	p.RetryAttemptTimeouts = true
	calls = 0
	err := p.Do(context.Background(), func(context.Context) error {
		calls++
		if calls == 1 {
			return timeout
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Fatalf("attempt timeout: err %v after %d calls, want success after 2", err, calls)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	calls = 0
	err = p.Do(ctx, func(context.Context) error { calls++; return timeout })
	if err != timeout || calls != 1 {
		t.Fatalf("caller's deadline: err %v after %d calls, want the timeout after 1", err, calls)
	}
}
