package openrouter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// reply is one scripted answer; status 0 hangs up without answering.
type reply struct {
	status     int
	retryAfter string
}

const okChat = `{"id":"gen-ok","model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"ok"}}]}`

func scripted(t *testing.T, replies []reply, calls *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1)) - 1
		if n >= len(replies) {
			t.Errorf("unexpected call %d", n+1)
			w.WriteHeader(500)
			return
		}
		rp := replies[n]
		if rp.status == 0 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		if rp.retryAfter != "" {
			w.Header().Set("Retry-After", rp.retryAfter)
		}
		w.WriteHeader(rp.status)
		if rp.status == 200 {
			io.WriteString(w, okChat)
		} else {
			fmt.Fprintf(w, `{"error":{"code":%d,"message":"scripted"}}`, rp.status)
		}
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name       string
		maxRetries int
		replies    []reply
		wantErr    error // nil for success
		wantCalls  int
		wantSleeps []time.Duration // exact waits; nil to check only the count via backoff bounds
		sleeps     int
	}{
		{
			// A rate limit without Retry-After is retried after a backoff.
			name: "429 then 200", replies: []reply{{status: 429}, {status: 200}}, wantCalls: 2, sleeps: 1,
		},
		{
			// Two retries allowed: the third 503 is returned.
			name: "503 x3", maxRetries: 2, replies: []reply{{status: 503}, {status: 503}, {status: 503}},
			wantErr: ErrUnavailable, wantCalls: 3, sleeps: 2,
		},
		{
			// Retry-After within MaxRetryAfter is waited exactly.
			name: "retry-after honoured", replies: []reply{{status: 429, retryAfter: "2"}, {status: 200}},
			wantCalls: 2, wantSleeps: []time.Duration{2 * time.Second},
		},
		{
			// Retry-After beyond MaxRetryAfter (10s) returns the 429 at once.
			name: "retry-after too long", replies: []reply{{status: 429, retryAfter: "30"}},
			wantErr: ErrRateLimited, wantCalls: 1, wantSleeps: []time.Duration{},
		},
		{
			// Client errors are final.
			name: "400 not retried", replies: []reply{{status: 400}}, wantErr: ErrBadRequest, wantCalls: 1, wantSleeps: []time.Duration{},
		},
		{
			// Moderation is final too.
			name: "403 not retried", replies: []reply{{status: 403}}, wantErr: ErrModeration, wantCalls: 1, wantSleeps: []time.Duration{},
		},
		{
			// NoRetries turns retrying off.
			name: "no retries", maxRetries: NoRetries, replies: []reply{{status: 503}}, wantErr: ErrUnavailable, wantCalls: 1, wantSleeps: []time.Duration{},
		},
		{
			// Mixed transient failures, including a dropped connection.
			name: "500, hang-up, 200", replies: []reply{{status: 500}, {status: 0}, {status: 200}}, wantCalls: 3, sleeps: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			c, clk := newTestClient(t, scripted(t, tt.replies, &calls), func(cfg *Config) { cfg.MaxRetries = tt.maxRetries })
			res, err := c.Chat(context.Background(), testRequest(t))
			switch {
			case tt.wantErr == nil && (err != nil || res.Summary.GenerationID != "gen-ok"):
				t.Fatalf("Chat = %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			slept := clk.Slept()
			if tt.wantSleeps != nil {
				if len(slept) != len(tt.wantSleeps) {
					t.Fatalf("slept %v, want %v", slept, tt.wantSleeps)
				}
				for i := range slept {
					if slept[i] != tt.wantSleeps[i] {
						t.Errorf("slept %v, want %v", slept, tt.wantSleeps)
					}
				}
				return
			}
			if len(slept) != tt.sleeps {
				t.Fatalf("slept %v, want %d waits", slept, tt.sleeps)
			}
			for i, d := range slept {
				if ceil := min(200*time.Millisecond<<i, 5*time.Second); d < 0 || d > ceil {
					t.Errorf("wait %d = %v, outside [0, %v]", i, d, ceil)
				}
			}
		})
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	// The context ends while waiting to retry: the caller's cancellation is
	// reported, not retried.
	var calls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	c, _ := newTestClient(t, scripted(t, []reply{{status: 503}}, &calls), func(cfg *Config) {
		cfg.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	})
	_, err := c.Chat(ctx, testRequest(t))
	if !errors.Is(err, context.Canceled) || IsRetryable(err) || calls.Load() != 1 {
		t.Fatalf("err = %v after %d calls", err, calls.Load())
	}
}
