package openroutertest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"llmmeter/openrouter/openroutertest"
)

// lorem20 is the default 20-token answer.
const lorem20 = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do " +
	"eiusmod tempor incididunt ut labore et dolore magna aliqua ut "

func TestStreamWireShape(t *testing.T) {
	srv := newServer(t, openroutertest.Options{})
	// "Hello there, simulator!" is 23 runes: ceil(23/4)+4 = 10 prompt tokens.
	res := stream(t, srv, chatReq("openai/gpt-4o-mini", "Hello there, simulator!", true,
		map[string]any{"usage": map[string]any{"include": true}, "user": "u-1",
			"stream_options": map[string]any{"include_usage": true}}))
	if res.readErr != nil {
		t.Fatalf("read: %v", res.readErr)
	}
	h := res.resp.Header
	id := h.Get("X-Generation-Id")
	if h.Get("Content-Type") != "text/event-stream" || !strings.HasPrefix(id, "gen-") {
		t.Fatalf("headers: %v", h)
	}

	// Comments: one before the first chunk, then every 8 chunks.
	if !res.events[0].isComment() || res.events[0].comment != "OPENROUTER PROCESSING" {
		t.Fatalf("first event %+v, want the processing comment", res.events[0])
	}
	var comments int
	for _, e := range res.events {
		if e.isComment() {
			comments++
		}
	}
	if comments != 3 {
		t.Errorf("%d comments, want 3 (before chunks 1, 9, 17)", comments)
	}

	data := res.data()
	if len(data) != 22 || data[21] != "[DONE]" {
		t.Fatalf("%d data events ending %q; want 20 content, usage, [DONE]", len(data), data[len(data)-1])
	}
	for i, d := range data[:20] {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(d), &raw); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		for _, k := range []string{"id", "provider", "model", "object", "created", "choices"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("chunk %d lacks %q", i, k)
			}
		}
		wantFinish, wantNative := "null", "null"
		if i == 19 {
			wantFinish, wantNative = `"stop"`, `"stop"`
		}
		if !strings.Contains(d, `"finish_reason":`+wantFinish+`,"native_finish_reason":`+wantNative+`,"logprobs":null`) {
			t.Errorf("chunk %d: %s; want finish %s native %s", i, d, wantFinish, wantNative)
		}
	}
	chunks := res.chunks()
	for i, c := range chunks {
		if c.ID != id || c.Provider != "OpenAI" || c.Model != "openai/gpt-4o-mini" || c.Object != "chat.completion.chunk" {
			t.Errorf("chunk %d envelope: %+v", i, c)
		}
		if i < 20 && (len(c.Choices) != 1 || c.Choices[0].Delta.Role != "assistant") {
			t.Errorf("chunk %d choices: %+v", i, c.Choices)
		}
	}
	if got := res.content(); got != lorem20 {
		t.Errorf("content %q, want %q", got, lorem20)
	}

	// The usage chunk: "choices": [] and the full usage object.
	u := data[20]
	if !strings.Contains(u, `"choices":[]`) {
		t.Errorf("usage chunk %s lacks \"choices\":[]", u)
	}
	wantUsage := `"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30,"cost":0.0000135,` +
		`"is_byok":false,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0,"audio_tokens":0},` +
		`"cost_details":{"upstream_inference_cost":null,"upstream_inference_prompt_cost":0,"upstream_inference_completions_cost":0},` +
		`"completion_tokens_details":{"reasoning_tokens":0,"image_tokens":0,"audio_tokens":0}}`
	if !strings.Contains(u, wantUsage) {
		t.Errorf("usage chunk\n%s\nwant it to contain\n%s", u, wantUsage)
	}

	// Ledger = wire = price table: 10×0.00000015 + 20×0.0000006 = 0.0000135.
	want := price(t, "0.00000015").Cost(10) + price(t, "0.0000006").Cost(20)
	uc, _ := res.usageChunk()
	led := srv.Ledger()
	if len(led) != 1 {
		t.Fatalf("ledger has %d entries, want 1", len(led))
	}
	g := led[0]
	if wire := usdOf(t, uc.Usage.Cost); wire != g.Cost || g.Cost != want || want != 13500 {
		t.Errorf("cost wire %d ledger %d table %d, want all 13500", wire, g.Cost, want)
	}
	if g.ID != id || g.User != "u-1" || !g.Stream || g.FinishReason != "stop" || g.Cancelled ||
		g.PromptTokens != 10 || g.CompletionTokens != 20 || g.Model != "openai/gpt-4o-mini" || g.Provider != "OpenAI" {
		t.Errorf("ledger entry %+v", g)
	}
}

func TestNoKeepAliveComments(t *testing.T) {
	srv := newServer(t, openroutertest.Options{NoKeepAliveComments: true, AnswerTokens: 10, TokensPerChunk: 3})
	res := stream(t, srv, chatReq("openai/gpt-4o-mini", "hi", true, nil))
	for _, e := range res.events {
		if e.isComment() {
			t.Fatalf("comment %q sent with NoKeepAliveComments", e.comment)
		}
	}
	// 10 tokens at 3 per chunk: 3+3+3+1, then usage and [DONE].
	var sizes []int
	for _, c := range res.chunks() {
		if len(c.Choices) == 1 {
			sizes = append(sizes, len(strings.Fields(c.Choices[0].Delta.Content)))
		}
	}
	if !slices.Equal(sizes, []int{3, 3, 3, 1}) {
		t.Errorf("chunk sizes %v, want [3 3 3 1]", sizes)
	}
}

func TestNonStreamShape(t *testing.T) {
	srv := newServer(t, openroutertest.Options{})
	resp := do(t, waitCtx(t), srv.Client(), http.MethodPost, srv.URL+"/chat/completions",
		chatReq("anthropic/claude-3.5-sonnet", "Hello there, simulator!", false, nil), "")
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var c completion
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Generation-Id")
	if c.ID != id || c.Object != "chat.completion" || c.Provider != "Anthropic" || c.Model != "anthropic/claude-3.5-sonnet" {
		t.Errorf("envelope %+v, header id %q", c, id)
	}
	ch := c.Choices[0]
	if ch.Message == nil || ch.Message.Content != lorem20 || *ch.FinishReason != "stop" || *ch.NativeFinishReason != "end_turn" {
		t.Errorf("choice %s", body)
	}
	g, ok := srv.Generation(id)
	want := price(t, "0.000003").Cost(10) + price(t, "0.000015").Cost(20)
	if !ok || c.Usage == nil || usdOf(t, c.Usage.Cost) != want || g.Cost != want || g.Stream {
		t.Errorf("usage %+v ledger %+v, want cost %d", c.Usage, g, want)
	}
	if !strings.Contains(string(body), `"cost_details":{"upstream_inference_cost":null`) {
		t.Errorf("body lacks cost_details: %s", body)
	}
}

// TestPacing checks that the time to first token and the token rate are
// honoured (a lower bound: timers never fire early).
func TestPacing(t *testing.T) {
	srv := newServer(t, openroutertest.Options{TimeToFirstToken: 20 * time.Millisecond, TokensPerSecond: 1000, TokensPerChunk: 2})
	start := time.Now()
	res := stream(t, srv, chatReq("openai/gpt-4o-mini", "hi", true, nil))
	// 20 ms, then 10 chunks of 2 tokens with 2 ms before each but the first.
	if el := time.Since(start); el < 38*time.Millisecond || res.readErr != nil || len(res.chunks()) != 11 {
		t.Errorf("elapsed %v, %d chunks, err %v; want ≥ 38ms, 11 chunks", el, len(res.chunks()), res.readErr)
	}
	g := srv.Ledger()[0]
	if lat := g.FirstTokenAt.Sub(g.CreatedAt); lat < 20*time.Millisecond {
		t.Errorf("first token after %v, want ≥ 20ms", lat)
	}
}
