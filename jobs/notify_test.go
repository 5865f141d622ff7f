package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"llmmeter/internal/testaddr"
	"llmmeter/jobs"
)

func TestWebhooks(t *testing.T) {
	alert := jobs.Alert{ID: "a1", ConditionKey: "errors:system", AlertType: "error_rate", Severity: jobs.SeverityWarning, Message: "error rate 50%"}
	noSleep := func(context.Context, time.Duration) error { return nil }
	tests := []struct {
		name     string
		statuses []int // answers in order; the last repeats
		wantErr  bool
		wantHits int32
	}{
		// A 5xx is retried until it succeeds.
		{"retry 5xx", []int{503, 502, 200}, false, 3},
		// A 4xx is final: one attempt.
		{"4xx final", []int{400}, true, 1},
		// 429 is retried too.
		{"retry 429", []int{429, 204}, false, 2},
		// Retries are bounded: 1 + MaxRetries attempts.
		{"give up", []int{500}, true, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := hits.Add(1)
				body, _ := io.ReadAll(r.Body)
				sig := r.Header.Get(jobs.SignatureHeader)
				ts := strings.TrimPrefix(strings.Split(sig, ",")[0], "t=")
				var ms int64
				fmt.Sscan(ts, &ms)
				if sig != jobs.SignWebhook([]byte("s3cret"), time.UnixMilli(ms), body) {
					t.Errorf("bad signature %q", sig)
				}
				var v map[string]any
				if json.Unmarshal(body, &v) != nil || !strings.Contains(fmt.Sprint(v["text"]), "[WARNING] error_rate") {
					t.Errorf("body %s", body)
				}
				w.WriteHeader(tc.statuses[min(int(n)-1, len(tc.statuses)-1)])
			}))
			defer srv.Close()
			url := srv.URL + "/services/T000/B000/tokenpath"
			w := &jobs.Webhooks{URLs: []string{url}, Secret: "s3cret", MaxRetries: 3, Client: srv.Client(), Sleep: noSleep}
			err := w.Notify(ctx, alert)
			if (err != nil) != tc.wantErr || hits.Load() != tc.wantHits {
				t.Fatalf("err %v hits %d; want err %v hits %d", err, hits.Load(), tc.wantErr, tc.wantHits)
			}
			if err != nil && (strings.Contains(err.Error(), "tokenpath") || strings.Contains(err.Error(), "s3cret")) {
				t.Fatalf("secret in error: %v", err)
			}
		})
	}
	t.Run("network error is redacted", func(t *testing.T) {
		w := &jobs.Webhooks{URLs: []string{"http://" + testaddr.Reserve(t) + "/hooks/supersecret"}, Secret: "s3cret", MaxRetries: 1, Sleep: noSleep}
		err := w.Notify(ctx, alert)
		if err == nil || strings.Contains(err.Error(), "supersecret") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestConfig(t *testing.T) {
	env := map[string]string{
		"ALERT_WEBHOOK_URLS": "https://hooks.slack.com/services/T1/B2/xyzsecret", "ALERT_WEBHOOK_SECRET": "hmac-key-of-thirty-two-bytes-ok!",
		"JOBS_SCHEDULE_FOLD": "@every 5s", "ALERT_DAILY_BUDGET_USD": "12.5", "ALERT_QUOTA_THRESHOLDS": "50, 100",
	}
	cfg, err := jobs.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Schedules[jobs.JobFold] != "@every 5s" || cfg.DailyBudgetNanoUsd != 12_500_000_000 || len(cfg.QuotaThresholds) != 2 {
		t.Fatalf("cfg %+v", cfg)
	}
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, "xyzsecret") || strings.Contains(s, "hmac-key-of") || !strings.Contains(s, "<secret>") {
			t.Fatalf("secret printed: %s", s)
		}
	}
	bad := map[string]string{"JOBS_SCHEDULE_FOLD": "nope", "JOBS_LEASE_TTL": "1ms", "ALERT_ERROR_RATE": "2", "ALERT_WEBHOOK_URLS": "ftp://x", "ALERT_WEBHOOK_SECRET": "short-secret"}
	_, err = jobs.ConfigFromEnv(func(k string) string { return bad[k] })
	for _, name := range []string{"JOBS_SCHEDULE_FOLD", "JOBS_LEASE_TTL", "ALERT_ERROR_RATE", "ALERT_WEBHOOK_URLS", "ALERT_WEBHOOK_SECRET"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}

func TestWebhookRetryAfter(t *testing.T) {
	// A 429 with Retry-After is waited exactly (through the injected Sleep)
	// by the shared retry policy; a 404 after it is final.
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch hits.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(429)
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	var slept []time.Duration
	w := &jobs.Webhooks{URLs: []string{srv.URL}, MaxRetries: 3, Client: srv.Client(),
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
	err := w.Notify(ctx, jobs.Alert{AlertType: "x", Message: "m"})
	if err == nil || !strings.Contains(err.Error(), "HTTP 404") || hits.Load() != 2 || fmt.Sprint(slept) != "[3s]" {
		t.Fatalf("err %v hits %d slept %v", err, hits.Load(), slept)
	}
}

// TestWebhookRedirect: a webhook that answers 301, 302 or 303 fails the
// notification with a message that says why, and nothing reaches the
// redirect's target. Before, the client followed it as a GET without the
// body, the target answered 200 to an empty request, and the alert (or
// report) counted as delivered. A 307 or 308 keeps the POST and its body,
// and is followed.
func TestWebhookRedirect(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		var mu sync.Mutex
		var got []string
		mux := http.NewServeMux()
		mux.HandleFunc("/hook/secretpath", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/moved", code) })
		mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got = append(got, r.Method+" "+string(b))
			mu.Unlock()
		})
		srv := httptest.NewServer(mux)
		w := &jobs.Webhooks{URLs: []string{srv.URL + "/hook/secretpath"}, Secret: "s", Client: srv.Client(),
			Sleep: func(context.Context, time.Duration) error { return nil }}
		err := w.Notify(ctx, jobs.Alert{AlertType: "quota", Message: "m"})
		srv.Close()
		mu.Lock()
		if code == 307 || code == 308 {
			if err != nil || len(got) != 1 || !strings.HasPrefix(got[0], `POST {"text"`) {
				t.Errorf("%d: err %v, target saw %q; want the POST with its body", code, err, got)
			}
		} else if err == nil || !strings.Contains(err.Error(), fmt.Sprint(code)) || !strings.Contains(err.Error(), "redirect") ||
			strings.Contains(err.Error(), "secretpath") || len(got) != 0 {
			t.Errorf("%d: err %v, target saw %q; want a failure naming the redirect, nothing sent", code, err, got)
		}
		mu.Unlock()
	}
}
