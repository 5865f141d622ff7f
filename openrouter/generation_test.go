package openrouter

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

const generationBody = `{"data":{"id":"gen-1735689600-Kx7mQp2rT9vWbN4c","total_cost":0.0000783,"created_at":"2025-01-01T00:00:00.123Z",` +
	`"model":"openai/gpt-4o-mini","origin":"https://app.example","usage":0.0000783,"is_byok":false,"upstream_id":"chatcmpl-abc",` +
	`"cache_discount":-0.0000012,"upstream_inference_cost":null,"app_id":null,"streamed":true,"cancelled":false,"provider_name":"OpenAI",` +
	`"latency":412,"moderation_latency":null,"generation_time":1830.6,"finish_reason":"stop","native_finish_reason":"stop",` +
	`"tokens_prompt":120,"tokens_completion":100,"native_tokens_prompt":118,"native_tokens_completion":100,` +
	`"native_tokens_reasoning":null,"native_tokens_cached":64,"num_media_prompt":null,"external_user":"user-42"}}`

func TestGetGeneration(t *testing.T) {
	tests := []struct {
		name     string
		notFound int // 404s before the record appears; -1 never appears
		status   int // answer after the 404s
		check    func(t *testing.T, g *Generation, err error, calls int, clk *fakeClock)
	}{
		{
			// The record lags the call: two 404s, then the record.
			name: "404 twice then found", notFound: 2, status: 200,
			check: func(t *testing.T, g *Generation, err error, calls int, _ *fakeClock) {
				if err != nil || calls != 3 {
					t.Fatalf("err %v after %d calls", err, calls)
				}
				want := Generation{
					ID: "gen-1735689600-Kx7mQp2rT9vWbN4c", Model: "openai/gpt-4o-mini", ProviderName: "OpenAI",
					FinishReason: "stop", NativeFinishReason: "stop", ExternalUser: "user-42", UpstreamID: "chatcmpl-abc",
					Origin: "https://app.example", CreatedAt: "2025-01-01T00:00:00.123Z",
					TotalCost: 78300, Usage: 78300, CacheDiscount: nanos(-1200),
					TokensPrompt: 120, TokensCompletion: 100, NativeTokensPrompt: 118, NativeTokensCompletion: 100,
					NativeTokensCached: 64, Latency: 412, GenerationTime: 1831, Streamed: true,
				}
				assertJSONEqual(t, g, &want)
			},
		},
		{
			// Never appears: ErrGenerationNotFound once GenerationWait (5s)
			// has passed on the injected clock, without overshooting it.
			name: "never found", notFound: -1,
			check: func(t *testing.T, g *Generation, err error, calls int, clk *fakeClock) {
				var apiErr *APIError
				if !errors.Is(err, ErrGenerationNotFound) || !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
					t.Fatalf("err = %v", err)
				}
				var total time.Duration
				for _, d := range clk.Slept() {
					total += d
				}
				if total != 5*time.Second || calls < 3 || calls > 10 {
					t.Errorf("waited %v over %d calls", total, calls)
				}
			},
		},
		{
			// Other errors come back as they are.
			name: "unauthorized", notFound: 0, status: 401,
			check: func(t *testing.T, g *Generation, err error, calls int, _ *fakeClock) {
				if !errors.Is(err, ErrUnauthorized) || calls != 1 {
					t.Fatalf("err = %v after %d calls", err, calls)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			c, clk := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				if r.URL.Path != "/api/v1/generation" || r.URL.Query().Get("id") != "gen-1735689600-Kx7mQp2rT9vWbN4c" {
					t.Errorf("request %s", r.URL)
				}
				if tt.notFound < 0 || n <= tt.notFound {
					w.WriteHeader(404)
					io.WriteString(w, `{"error":{"code":404,"message":"Generation not found"}}`)
					return
				}
				w.WriteHeader(tt.status)
				if tt.status == 200 {
					io.WriteString(w, generationBody)
				} else {
					io.WriteString(w, `{"error":{"code":401,"message":"No auth"}}`)
				}
			}, nil)
			g, err := c.GetGeneration(context.Background(), "gen-1735689600-Kx7mQp2rT9vWbN4c")
			tt.check(t, g, err, int(calls.Load()), clk)
		})
	}
	c, _ := New(Config{})
	if _, err := c.GetGeneration(context.Background(), ""); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("empty id: %v", err)
	}
}
