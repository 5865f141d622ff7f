package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/outbox"
	"llmmeter/openrouter"
	"llmmeter/openrouter/openroutertest"
)

// TestClientLeftBeforeUpstreamAnswered: a client that hangs up while the
// gateway still waits for OpenRouter's first byte (a slow provider, or the
// backoff before a retry the upstream asked for) is logged as 499
// client_disconnected, like a client that leaves mid-stream: neither the
// request log nor the access log blames the upstream. Found by driving the
// service with curl -m: before the fix such a call was a 502
// upstream_unreachable (or the upstream's first 503) with an error-level
// "could not be reached" line, an outage that never happened.
func TestClientLeftBeforeUpstreamAnswered(t *testing.T) {
	cases := []struct {
		name   string
		stream bool
		// retry: the upstream answers 503 with Retry-After and the client
		// leaves during the wait; otherwise the upstream sends nothing
		// until the client is gone.
		retry bool
	}{
		{"plain, upstream slow to answer", false, false},
		{"stream, upstream slow to answer", true, false},
		{"plain, waiting to retry a 503", false, true},
		{"stream, waiting to retry a 503", true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			waiting := make(chan struct{}, 1) // the gateway is waiting on the upstream
			h := newHarnessWith(t, openroutertest.Options{}, func(opt *Options) {
				if !c.retry {
					release := make(chan struct{})
					slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						waiting <- struct{}{}
						select {
						case <-r.Context().Done():
						case <-release:
						}
					}))
					t.Cleanup(slow.Close)
					t.Cleanup(func() { close(release) }) // runs first
					up, err := openrouter.New(openrouter.Config{BaseURL: slow.URL, HTTPClient: slow.Client(), MaxRetries: openrouter.NoRetries})
					if err != nil {
						t.Fatal(err)
					}
					opt.Upstream = up
				}
			})
			if c.retry {
				h.sim.Enqueue(openroutertest.Fault{Kind: openroutertest.FaultStatus, Status: http.StatusServiceUnavailable, RetryAfter: time.Second})
				up, err := openrouter.New(openrouter.Config{BaseURL: h.sim.URL, HTTPClient: h.sim.Client(), MaxRetries: 2,
					Sleep: func(ctx context.Context, d time.Duration) error {
						waiting <- struct{}{}
						<-ctx.Done()
						return ctx.Err()
					}})
				if err != nil {
					t.Fatal(err)
				}
				h.opt.Upstream = up
				h.srv = New(h.opt)
				h.handler = h.srv.Handler()
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(c.stream, "hi")))
			r.Header.Set("Authorization", "Bearer test")
			w := httptest.NewRecorder()
			done := make(chan struct{})
			go func() { defer close(done); h.handler.ServeHTTP(w, r) }()
			<-waiting
			cancel()
			<-done

			rl := h.onlyEntry(outbox.Ready).Batch.RequestLogs[0]
			if rl.StatusCode != 499 || rl.ErrorType != "client_disconnected" {
				t.Fatalf("request log %d %s %q, want 499 client_disconnected", rl.StatusCode, rl.ErrorType, rl.ErrorMessage)
			}
			if l := h.accessLine(); l["status"] != float64(499) || l["level"] != "info" || l["client_gone"] != true {
				t.Fatalf("access line %v", l)
			}
			if errs := strings.Count(h.log.String(), `"level":"error"`); errs != 0 {
				t.Fatalf("%d error-level lines for a client that left:\n%s", errs, h.log.String())
			}
		})
	}
}
