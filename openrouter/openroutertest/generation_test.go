package openroutertest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"llmmeter/openrouter/openroutertest"
)

func TestGenerationRecord(t *testing.T) {
	clk := newClock()
	srv := newServer(t, openroutertest.Options{GenerationDelay: time.Second, Now: clk.Now})
	res := stream(t, srv, chatReq("google/gemini-flash-1.5", "hi", true,
		map[string]any{"user": "end-user-7", "max_tokens": 6}))
	id := res.resp.Header.Get("X-Generation-Id")

	get := func() (int, map[string]json.RawMessage) {
		var body struct {
			Data  map[string]json.RawMessage `json:"data"`
			Error *wireError                 `json:"error"`
		}
		status := getJSON(t, srv, "/generation?id="+id, "", &body)
		if status == http.StatusNotFound && (body.Error == nil || body.Error.Message != "Generation not found" ||
			body.Error.Code != json.Number("404")) {
			t.Errorf("404 body %+v", body.Error)
		}
		return status, body.Data
	}
	steps := []struct {
		name    string
		advance time.Duration
		status  int
	}{
		{"just ended", 0, 404},                                 // OpenRouter has not written it yet
		{"just before the delay", 999 * time.Millisecond, 404}, // still not
		{"at the delay", time.Millisecond, 200},                // now it is
	}
	var data map[string]json.RawMessage
	for _, s := range steps {
		clk.Advance(s.advance)
		status, d := get()
		if status != s.status {
			t.Fatalf("%s: status %d, want %d", s.name, status, s.status)
		}
		data = d
	}

	keys := []string{"id", "total_cost", "created_at", "model", "origin", "usage", "is_byok", "upstream_id",
		"cache_discount", "app_id", "streamed", "cancelled", "provider_name", "latency", "moderation_latency",
		"generation_time", "finish_reason", "native_finish_reason", "tokens_prompt", "tokens_completion",
		"native_tokens_prompt", "native_tokens_completion", "native_tokens_reasoning", "native_tokens_cached",
		"num_media_prompt", "num_media_completion", "num_search_results", "external_user"}
	for _, k := range keys {
		if _, ok := data[k]; !ok {
			t.Errorf("record lacks %q", k)
		}
	}
	g, _ := srv.Generation(id)
	str := func(k string) string { return string(data[k]) }
	want := map[string]string{
		"id": `"` + id + `"`, "model": `"google/gemini-flash-1.5"`, "provider_name": `"Google"`,
		"streamed": "true", "cancelled": "false", "is_byok": "false", "origin": `""`,
		"finish_reason": `"length"`, "native_finish_reason": `"MAX_TOKENS"`,
		"tokens_prompt": "5", "tokens_completion": "6", "native_tokens_cached": "0",
		"external_user": `"end-user-7"`, "cache_discount": "null", "app_id": "null",
		"created_at": `"2024-01-15T13:00:00.000000+00:00"`,
		// 5×75 + 6×300 nanos
		"total_cost": "0.000002175", "usage": "0.000002175",
	}
	for k, v := range want {
		if str(k) != v {
			t.Errorf("%s = %s, want %s", k, str(k), v)
		}
	}
	if g.Cost != 2175 {
		t.Errorf("ledger cost %d, want 2175", g.Cost)
	}

	// Unknown ids and a missing id.
	var e errorBody
	if st := getJSON(t, srv, "/generation?id=gen-0-nope", "", &e); st != 404 {
		t.Errorf("unknown id: status %d", st)
	}
	if st := getJSON(t, srv, "/generation", "", &e); st != 400 {
		t.Errorf("no id: status %d", st)
	}
}

// TestGenerationInFlight checks that a generation still streaming is 404
// and becomes visible once the client has gone.
func TestGenerationInFlight(t *testing.T) {
	srv := newServer(t, openroutertest.Options{})
	ctx, cancel := context.WithCancel(waitCtx(t))
	resp := do(t, ctx, srv.Client(), http.MethodPost, srv.URL+"/chat/completions",
		chatReq("openai/gpt-4o-mini", "hi [sim:stall after=2]", true, nil), "")
	defer resp.Body.Close()
	id := resp.Header.Get("X-Generation-Id")
	r := newSSE(resp.Body)
	for n := 0; n < 2; {
		e, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		if !e.isComment() {
			n++
		}
	}
	var e errorBody
	if st := getJSON(t, srv, "/generation?id="+id, "", &e); st != 404 {
		t.Errorf("in flight: status %d, want 404", st)
	}
	if _, ok := srv.Generation(id); ok || len(srv.Ledger()) != 0 {
		t.Error("in-flight generation visible in the ledger")
	}
	cancel()
	g, err := srv.WaitGeneration(waitCtx(t), id)
	if err != nil || !g.Cancelled {
		t.Fatalf("WaitGeneration: %+v, %v", g, err)
	}
	var ok struct {
		Data struct {
			Cancelled    bool    `json:"cancelled"`
			FinishReason *string `json:"finish_reason"`
		} `json:"data"`
	}
	if st := getJSON(t, srv, "/generation?id="+id, "", &ok); st != 200 || !ok.Data.Cancelled || ok.Data.FinishReason != nil {
		t.Errorf("after cancel: status %d data %+v", st, ok.Data)
	}
}

func TestModels(t *testing.T) {
	srv := newServer(t, openroutertest.Options{APIKey: "sk-or-v1-needed-for-chat-only-000000"})
	var body struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	if st := getJSON(t, srv, "/models", "", &body); st != 200 {
		t.Fatalf("status %d (models need no key)", st)
	}
	if len(body.Data) != len(openroutertest.DefaultModels()) {
		t.Fatalf("%d models", len(body.Data))
	}
	byID := map[string]map[string]json.RawMessage{}
	for _, m := range body.Data {
		var id string
		_ = json.Unmarshal(m["id"], &id)
		byID[id] = m
		for _, k := range []string{"id", "canonical_slug", "name", "created", "description", "context_length",
			"architecture", "pricing", "top_provider", "per_request_limits", "supported_parameters"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s lacks %q", id, k)
			}
		}
	}
	cases := []struct {
		id      string
		pricing string // exact JSON
	}{
		// cheap model with a cache read price
		{"openai/gpt-4o-mini", `{"prompt":"0.00000015","completion":"0.0000006","request":"0","image":"0","web_search":"0","internal_reasoning":"0","input_cache_read":"0.000000075"}`},
		// both cache prices
		{"anthropic/claude-3.5-sonnet", `{"prompt":"0.000003","completion":"0.000015","request":"0","image":"0","web_search":"0","internal_reasoning":"0","input_cache_read":"0.0000003","input_cache_write":"0.00000375"}`},
		// sub-nano prices, no exponent notation
		{"google/gemini-flash-1.5", `{"prompt":"0.000000075","completion":"0.0000003","request":"0","image":"0","web_search":"0","internal_reasoning":"0","input_cache_read":"0.00000001875"}`},
		{"mistralai/mistral-nemo", `{"prompt":"0.0000000375","completion":"0.00000008","request":"0","image":"0","web_search":"0","internal_reasoning":"0"}`},
		// a per-request price
		{"perplexity/sonar-reasoning", `{"prompt":"0.000001","completion":"0.000005","request":"0.005","image":"0","web_search":"0","internal_reasoning":"0"}`},
		// free is "0"
		{"meta-llama/llama-3.1-8b-instruct:free", `{"prompt":"0","completion":"0","request":"0","image":"0","web_search":"0","internal_reasoning":"0"}`},
	}
	for _, c := range cases {
		if got := string(byID[c.id]["pricing"]); got != c.pricing {
			t.Errorf("%s pricing\n got %s\nwant %s", c.id, got, c.pricing)
		}
	}
	if got := string(byID["meta-llama/llama-3.1-8b-instruct:free"]["canonical_slug"]); got != `"meta-llama/llama-3.1-8b-instruct"` {
		t.Errorf("canonical_slug %s", got)
	}
	var params []string
	_ = json.Unmarshal(byID["perplexity/sonar-reasoning"]["supported_parameters"], &params)
	if !slices.Contains(params, "reasoning") {
		t.Errorf("reasoning model parameters %v", params)
	}
	if !strings.Contains(string(byID["openai/gpt-4o-mini"]["architecture"]), `"tokenizer":"GPT"`) {
		t.Errorf("architecture %s", byID["openai/gpt-4o-mini"]["architecture"])
	}
}
