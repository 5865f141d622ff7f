package openrouter

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"testing"

	"llmmeter/internal/money"
)

func assertJSONEqual(t *testing.T, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("\n got %s\nwant %s", g, w)
	}
}

func price(t *testing.T, s string) money.Price {
	t.Helper()
	p, err := money.ParsePrice(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const modelsBody = `{"data":[
 {"id":"openai/gpt-4o-mini","name":"OpenAI: GPT-4o-mini","created":1721260800,"context_length":128000,
  "pricing":{"prompt":"0.00000015","completion":"0.0000006","request":"0","image":"0.000217","web_search":"0","internal_reasoning":"0","input_cache_read":"0.000000075"},
  "top_provider":{"context_length":128000,"max_completion_tokens":16384,"is_moderated":true}},
 {"id":"anthropic/claude-3.5-sonnet","name":"Anthropic: Claude 3.5 Sonnet","context_length":200000,
  "pricing":{"prompt":"0.000003","completion":"0.000015","input_cache_read":"0.0000003","input_cache_write":"0.00000375"},
  "top_provider":{"max_completion_tokens":null}},
 {"id":"meta-llama/llama-3.2-3b-instruct:free","name":"Llama free","context_length":null,
  "pricing":{"prompt":"0","completion":"0","input_cache_read":"0"}},
 {"id":"openrouter/auto","name":"Auto Router","context_length":2000000,"pricing":{"prompt":"-1","completion":"-1"}},
 {"id":"odd/model","name":"Odd","context_length":4096.0,"pricing":{"prompt":0.000001,"completion":"n/a","request":null}}
]}`

func TestModels(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/models" {
			t.Errorf("path %s", r.URL.Path)
		}
		io.WriteString(w, modelsBody)
	}, nil)
	models, err := c.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(models) != 5 {
		t.Fatalf("%d models", len(models))
	}
	tests := []struct {
		name  string
		m     Model
		id    string
		ctx   int64
		p     Pricing
		known bool
	}{
		// Every price as a string, sub-nano precision kept exactly.
		{"priced", models[0], "openai/gpt-4o-mini", 128000, Pricing{Prompt: price(t, "0.00000015"), Completion: price(t, "0.0000006"),
			Image: price(t, "0.000217"), InputCacheRead: price(t, "0.000000075"), quoted: quotedCacheRead}, true},
		// Cache write priced too.
		{"cache prices", models[1], "anthropic/claude-3.5-sonnet", 200000, Pricing{Prompt: price(t, "0.000003"), Completion: price(t, "0.000015"),
			InputCacheRead: price(t, "0.0000003"), InputCacheWrite: price(t, "0.00000375"), quoted: quotedCacheRead | quotedCacheWrite}, true},
		// Free: "0" everywhere; a null context length reads as 0.
		{"free", models[2], "meta-llama/llama-3.2-3b-instruct:free", 0, Pricing{quoted: quotedCacheRead}, true},
		// Router models quote -1: unknown.
		{"router", models[3], "openrouter/auto", 2000000, Pricing{Prompt: UnknownPrice, Completion: UnknownPrice}, false},
		// A numeric price parses; an unreadable one is unknown.
		{"odd", models[4], "odd/model", 4096, Pricing{Prompt: price(t, "0.000001"), Completion: UnknownPrice}, false},
	}
	// The output limit comes from top_provider; null or absent reads as 0 (unknown).
	if models[0].MaxCompletionTokens != 16384 || models[1].MaxCompletionTokens != 0 || models[3].MaxCompletionTokens != 0 {
		t.Errorf("max completion tokens %d, %d, %d", models[0].MaxCompletionTokens, models[1].MaxCompletionTokens, models[3].MaxCompletionTokens)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.m.ID != tt.id || tt.m.ContextLength != tt.ctx || tt.m.Pricing != tt.p || tt.m.Pricing.Known() != tt.known {
				t.Errorf("got %+v (known %v)", tt.m, tt.m.Pricing.Known())
			}
		})
	}
}

func TestPricingCost(t *testing.T) {
	mini := Pricing{Prompt: price(t, "0.00000015"), Completion: price(t, "0.0000006"), InputCacheRead: price(t, "0.000000075"), quoted: quotedCacheRead}
	sonnet := Pricing{Prompt: price(t, "0.000003"), Completion: price(t, "0.000015"), InputCacheRead: price(t, "0.0000003"),
		InputCacheWrite: price(t, "0.00000375"), quoted: quotedCacheRead | quotedCacheWrite}
	usage := func(prompt, completion, cached, written int64) Usage {
		return Usage{PromptTokens: prompt, CompletionTokens: completion,
			PromptTokensDetails: PromptTokensDetails{CachedTokens: cached, CacheWriteTokens: written}}
	}
	tests := []struct {
		name string
		p    Pricing
		u    Usage
		want money.Nanos
	}{
		// 1000×150 + 500×600 nanos... in nanos: 150000 + 300000.
		{"plain", mini, usage(1000, 500, 0, 0), 450_000},
		// 256 uncached×3000 + 1536 cached×300 + 256 written×3750 + 300×15000.
		{"cache read and write", sonnet, usage(2048, 300, 1536, 256), 768_000 + 460_800 + 960_000 + 4_500_000},
		// Cached tokens at the read price, the rest at the prompt price: 500×150 + 500×75 = 112500.
		{"cache read only", mini, usage(1000, 0, 500, 0), 112_500},
		// Cache write price missing on the wire: written tokens at the prompt price.
		{"write falls back to prompt", mini, usage(1000, 0, 0, 400), 150_000},
		// Reasoning tokens are inside completion_tokens: not counted twice.
		{"reasoning", mini, Usage{PromptTokens: 10, CompletionTokens: 100, CompletionTokensDetails: CompletionTokensDetails{ReasoningTokens: 60}}, 1_500 + 60_000},
		// Sub-nano terms are summed exactly and rounded once: 0.4 + 0.4 nanos → 1, not 0 + 0.
		{"round once", Pricing{Prompt: price(t, "0.0000000004"), Completion: price(t, "0.0000000004")}, usage(1, 1, 0, 0), 1},
		// Exactly half a nano rounds up: 3 × 37.5 = 112.5 → 113.
		{"half up", Pricing{Prompt: price(t, "0.0000000375")}, usage(3, 0, 0, 0), 113},
		// A per-request price is added once.
		{"per request", Pricing{Prompt: price(t, "0.000001"), Request: price(t, "0.005")}, usage(10, 0, 0, 0), 10_000 + 5_000_000},
		// Free model, even with cached tokens ("0" quoted for cache reads).
		{"free", Pricing{quoted: quotedCacheRead}, usage(5000, 5000, 4000, 0), 0},
		// A Pricing built in code with no cache price charges cached tokens at the prompt price.
		{"built in code", Pricing{Prompt: price(t, "0.000001")}, usage(100, 0, 100, 0), 100_000},
		// Unknown (-1) prices contribute nothing; Known says so.
		{"unknown", Pricing{Prompt: UnknownPrice, Completion: UnknownPrice}, usage(100, 100, 0, 0), 0},
		// Inconsistent usage (more cached than prompt) does not go negative.
		{"inconsistent", mini, usage(10, 0, 20, 0), 1_500},
		// Absurd counts saturate instead of wrapping.
		{"saturate", Pricing{Prompt: money.Price(math.MaxInt64), Completion: money.Price(math.MaxInt64)}, usage(math.MaxInt64, math.MaxInt64, 0, 0), math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Cost(tt.u); got != tt.want {
				t.Errorf("Cost = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		name string
		body string
		want KeyInfo
	}{
		{
			// No limit: limit and limit_remaining are null.
			name: "unlimited",
			body: `{"data":{"label":"sk-or-v1-abc...xyz","limit":null,"limit_remaining":null,"limit_reset":null,"usage":12.3456789012,"usage_daily":0.5,"usage_weekly":2,"usage_monthly":10.000000001,"is_free_tier":false}}`,
			want: KeyInfo{Label: "sk-or-v1-abc...xyz", Usage: 12_345_678_901, UsageDaily: 500_000_000, UsageWeekly: 2_000_000_000, UsageMonthly: 10_000_000_001},
		},
		{
			// A limit with its remainder; missing usage fields read as 0.
			name: "limited",
			body: `{"data":{"label":"team","limit":25,"limit_remaining":24.75,"limit_reset":"monthly","usage":0.25,"is_free_tier":true}}`,
			want: KeyInfo{Label: "team", Limit: nanos(25_000_000_000), LimitRemaining: nanos(24_750_000_000), LimitReset: "monthly", Usage: 250_000_000, IsFreeTier: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v1/key" {
					t.Errorf("path %s", r.URL.Path)
				}
				io.WriteString(w, tt.body)
			}, nil)
			got, err := c.Key(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, got, &tt.want)
		})
	}
}
