package openroutertest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"llmmeter/openrouter"
	"llmmeter/openrouter/openroutertest"
)

// TestPlainIsAssembledStream: for the same request (and directive), the
// simulator's plain body is byte for byte what openrouter.Assembler makes
// of its stream, once the two generation ids are aligned. That is what
// lets the gateway stream every call upstream and answer plain callers
// with an assembled body, and what keeps both shapes honest here.
func TestPlainIsAssembledStream(t *testing.T) {
	cases := []struct {
		name  string
		model string
		text  string
		extra map[string]any
	}{
		// The default answer, finish "stop".
		{name: "text", model: "openai/gpt-4o-mini", text: "Hello there"},
		// Cut by max_tokens: finish "length", Anthropic's native "max_tokens".
		{name: "length", model: "anthropic/claude-3.5-sonnet", text: "Hello there", extra: map[string]any{"max_tokens": 5}},
		// Reasoning tokens billed inside completion_tokens.
		{name: "reasoning", model: "perplexity/sonar-reasoning", text: "Think [sim:tokens n=7]"},
		// Cached prompt tokens in usage.
		{name: "cached", model: "anthropic/claude-3.5-sonnet", text: "A long cached prompt",
			extra: map[string]any{"prompt_cache_key": "k1"}},
		// An error after 4 tokens with a numeric code 429.
		{name: "midstream 429", model: "openai/gpt-4o-mini", text: "hi [sim:midstream after=4 code=429]"},
		// The same with the string code "rate_limit_exceeded".
		{name: "midstream string code", model: "openai/gpt-4o-mini", text: "hi [sim:midstream after=2 code=429 string_code=1]"},
		// A provider error before any content.
		{name: "provider error", model: "google/gemini-flash-1.5", text: "hi [sim:provider_error code=503]"},
		// No usage at all.
		{name: "no usage", model: "openai/gpt-4o-mini", text: "hi [sim:no_usage]"},
		// The older usage chunk (one empty choice) assembles to the same body.
		{name: "legacy usage", model: "mistralai/mistral-nemo", text: "hi [sim:legacy_usage]"},
	}
	clk := newClock()
	srv := newServer(t, openroutertest.Options{Now: clk.Now})
	client, err := openrouter.New(openrouter.Config{BaseURL: srv.URL, HTTPClient: srv.Client(), MaxRetries: openrouter.NoRetries})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, _ := json.Marshal(chatReq(c.model, c.text, false, c.extra))
			var req openrouter.ChatRequest
			if err := json.Unmarshal(body, &req); err != nil {
				t.Fatal(err)
			}
			plain, err := client.Chat(waitCtx(t), &req)
			if err != nil {
				t.Fatalf("plain: %v", err)
			}
			st, err := client.ChatStream(waitCtx(t), &req)
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			defer st.Close()
			var a openrouter.Assembler
			for {
				ev, err := st.Next()
				if err != nil {
					if !errors.Is(err, io.EOF) {
						t.Fatalf("stream: %v", err)
					}
					break
				}
				if ev.Kind == openrouter.EventData {
					if err := a.Add(ev.Raw); err != nil {
						t.Fatalf("Add: %v", err)
					}
				}
			}
			got := bytes.ReplaceAll(a.Bytes(), []byte(st.Summary().GenerationID), []byte(plain.Summary.GenerationID))
			if !bytes.Equal(got, plain.Raw) {
				t.Fatalf("assembled stream\n%s\nplain\n%s", got, plain.Raw)
			}
		})
	}
}
