package openroutertest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"llmmeter/internal/money"
	"llmmeter/openrouter/openroutertest"
)

// TestCostTable checks token counts and cost on the wire and in the
// ledger, streamed and not, against hand-computed prices. Every prompt is
// 44 runes: 15 prompt tokens. Prices in nanos per token: gpt-4o-mini 150 /
// 600 / cache 75; claude 3000 / 15000 / cache 300; gemini 75 / 300 / cache
// 18.75; mistral 37.5 / 80; sonar-reasoning 1000 / 5000 + 5,000,000 per
// request.
func TestCostTable(t *testing.T) {
	cached := []any{map[string]any{"type": "text", "text": text44(""),
		"cache_control": map[string]any{"type": "ephemeral"}}}
	cases := []struct {
		name    string
		model   string
		content any // string or parts; default text44("")
		extra   map[string]any
		// want
		used                                  string // model in the response, default model
		prompt, cached, completion, reasoning int64
		finish                                string
		cost                                  money.Nanos
	}{
		// plain: 15×150 + 20×600
		{name: "plain", model: "openai/gpt-4o-mini",
			prompt: 15, completion: 20, finish: "stop", cost: 14250},
		// prompt_cache_key halves the prompt into cache reads: 8×150 + 7×75 + 12000
		{name: "cache key", model: "openai/gpt-4o-mini", extra: map[string]any{"prompt_cache_key": "k"},
			prompt: 15, cached: 7, completion: 20, finish: "stop", cost: 13725},
		// a cache_control part does the same: 8×3000 + 7×300 + 20×15000
		{name: "cache_control part", model: "anthropic/claude-3.5-sonnet", content: cached,
			prompt: 15, cached: 7, completion: 20, finish: "stop", cost: 326100},
		// sub-nano cache price: 8×75 + 7×18.75 (131.25 → 131) + 20×300
		{name: "sub-nano cache read", model: "google/gemini-flash-1.5", extra: map[string]any{"prompt_cache_key": "k"},
			prompt: 15, cached: 7, completion: 20, finish: "stop", cost: 6731},
		// no cache price, no cache reads; 15×37.5 = 562.5 rounds half up to 563, + 20×80
		{name: "no cache pricing", model: "mistralai/mistral-nemo", extra: map[string]any{"prompt_cache_key": "k"},
			prompt: 15, completion: 20, finish: "stop", cost: 2163},
		// "reason" in the id: 10 reasoning tokens inside 30 completion, + request price
		{name: "reasoning model", model: "perplexity/sonar-reasoning",
			prompt: 15, completion: 30, reasoning: 10, finish: "stop", cost: 15000 + 150000 + 5000000},
		// a reasoning object turns reasoning on: 2250 + 30×600
		{name: "reasoning object", model: "openai/gpt-4o-mini", extra: map[string]any{"reasoning": map[string]any{"effort": "low"}},
			prompt: 15, completion: 30, reasoning: 10, finish: "stop", cost: 20250},
		// reasoning.max_tokens sets the reasoning budget: 2250 + 24×600
		{name: "reasoning budget", model: "openai/gpt-4o-mini", extra: map[string]any{"reasoning": map[string]any{"max_tokens": 4}},
			prompt: 15, completion: 24, reasoning: 4, finish: "stop", cost: 16650},
		// reasoning explicitly disabled
		{name: "reasoning disabled", model: "openai/gpt-4o-mini", extra: map[string]any{"reasoning": map[string]any{"enabled": false}},
			prompt: 15, completion: 20, finish: "stop", cost: 14250},
		// max_tokens cuts the answer: finish "length", 2250 + 5×600
		{name: "max_tokens", model: "openai/gpt-4o-mini", extra: map[string]any{"max_tokens": 5},
			prompt: 15, completion: 5, finish: "length", cost: 5250},
		// max_tokens below the reasoning budget: no content at all, 15000 + 4×5000 + 5000000
		{name: "max_tokens eaten by reasoning", model: "perplexity/sonar-reasoning", extra: map[string]any{"max_tokens": 4},
			prompt: 15, completion: 4, reasoning: 4, finish: "length", cost: 5035000},
		// a free model costs "0"
		{name: "free", model: "meta-llama/llama-3.1-8b-instruct:free",
			prompt: 15, completion: 20, finish: "stop", cost: 0},
		// [sim:tokens n=3] sets the answer length: 2250 + 3×600
		{name: "tokens directive", model: "openai/gpt-4o-mini", content: text44("[sim:tokens n=3]"),
			prompt: 15, completion: 3, finish: "stop", cost: 4050},
		// fallback list: the first known model is used and named: 15×75 + 20×300
		{name: "fallback models", model: "nope/unknown",
			extra: map[string]any{"models": []string{"also/unknown", "google/gemini-flash-1.5", "openai/gpt-4o-mini"},
				"provider": map[string]any{"order": []string{"Google"}}},
			used: "google/gemini-flash-1.5", prompt: 15, completion: 20, finish: "stop", cost: 7125},
	}
	srv := newServer(t, openroutertest.Options{})
	for _, c := range cases {
		for _, streamed := range []bool{true, false} {
			name := c.name + "/nonstream"
			if streamed {
				name = c.name + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				content := c.content
				if content == nil {
					content = text44("")
				}
				body := chatReq(c.model, "", streamed, c.extra)
				body["messages"] = []any{map[string]any{"role": "user", "content": content}}
				u, id, model, finish := fetchUsage(t, srv, body, streamed)
				used := c.used
				if used == "" {
					used = c.model
				}
				if model != used || finish != c.finish {
					t.Errorf("model %q finish %q, want %q %q", model, finish, used, c.finish)
				}
				if u.PromptTokens != c.prompt || u.CompletionTokens != c.completion || u.TotalTokens != c.prompt+c.completion ||
					u.PromptTokensDetails.CachedTokens != c.cached || u.CompletionTokensDetails.ReasoningTokens != c.reasoning {
					t.Errorf("usage %+v, want prompt %d cached %d completion %d reasoning %d",
						u, c.prompt, c.cached, c.completion, c.reasoning)
				}
				g, ok := srv.Generation(id)
				if wire := usdOf(t, u.Cost); !ok || wire != c.cost || g.Cost != c.cost {
					t.Errorf("cost wire %s ledger %d, want %d", u.Cost, g.Cost, c.cost)
				}
				if g.PromptTokens != c.prompt || g.CachedTokens != c.cached || g.CompletionTokens != c.completion ||
					g.ReasoningTokens != c.reasoning || g.FinishReason != c.finish || g.Model != used {
					t.Errorf("ledger %+v", g)
				}
			})
		}
	}
}

// fetchUsage runs one request and returns its usage, id, model and finish
// reason, streamed or not.
func fetchUsage(t *testing.T, srv *openroutertest.Server, body map[string]any, streamed bool) (usage, string, string, string) {
	t.Helper()
	if streamed {
		res := stream(t, srv, body)
		if res.readErr != nil || res.resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d err %v body %s", res.resp.StatusCode, res.readErr, res.body)
		}
		var finish string
		for _, c := range res.chunks() {
			if len(c.Choices) == 1 && c.Choices[0].FinishReason != nil {
				finish = *c.Choices[0].FinishReason
			}
		}
		uc, ok := res.usageChunk()
		if !ok {
			t.Fatal("no usage chunk")
		}
		return *uc.Usage, uc.ID, uc.Model, finish
	}
	resp := do(t, waitCtx(t), srv.Client(), http.MethodPost, srv.URL+"/chat/completions", body, "")
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var c completion
	if err := json.Unmarshal(raw, &c); err != nil || resp.StatusCode != http.StatusOK || c.Usage == nil {
		t.Fatalf("status %d: %s (%v)", resp.StatusCode, raw, err)
	}
	return *c.Usage, c.ID, c.Model, *c.Choices[0].FinishReason
}
