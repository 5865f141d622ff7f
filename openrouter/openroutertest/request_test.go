package openroutertest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"llmmeter/openrouter/openroutertest"
)

// TestBadRequests checks that invalid requests get OpenRouter's error
// shape with a useful message, create no generation and consume no fault.
func TestBadRequests(t *testing.T) {
	const key = "sk-or-v1-0123456789abcdef0123456789abcdef"
	ok := chatReq("openai/gpt-4o-mini", "hi", true, nil)
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		key    string
		status int
		msg    string // substring of error.message
	}{
		// not JSON at all
		{name: "bad json", body: `{"model":`, status: 400, msg: "Invalid JSON"},
		// no messages
		{name: "missing messages", body: map[string]any{"model": "openai/gpt-4o-mini"}, status: 400, msg: "messages"},
		// an empty list
		{name: "empty messages", body: map[string]any{"model": "openai/gpt-4o-mini", "messages": []any{}}, status: 400, msg: "messages"},
		// content that is neither a string nor parts
		{name: "bad content", body: map[string]any{"model": "openai/gpt-4o-mini",
			"messages": []any{map[string]any{"role": "user", "content": 42}}}, status: 400, msg: "messages[0].content"},
		// the message names the unknown model
		{name: "unknown model", body: chatReq("openai/gpt-9", "hi", true, nil), status: 400, msg: "openai/gpt-9 is not a valid model ID"},
		// unknown models in the fallback list too
		{name: "unknown fallbacks", body: chatReq("", "hi", true, map[string]any{"models": []string{"x/a", "x/b"}}),
			status: 400, msg: "x/a, x/b"},
		// no model at all
		{name: "no model", body: chatReq("", "hi", true, nil), status: 400, msg: `"model" is required`},
		// provider must be an object
		{name: "bad provider", body: chatReq("openai/gpt-4o-mini", "hi", true, map[string]any{"provider": "OpenAI"}),
			status: 400, msg: "provider"},
		// unknown directive kind
		{name: "unknown directive", body: chatReq("openai/gpt-4o-mini", "[sim:explode]", true, nil), status: 400, msg: `unknown kind "explode"`},
		// a key the kind does not take
		{name: "wrong key", body: chatReq("openai/gpt-4o-mini", "[sim:disconnect ms=5]", true, nil), status: 400, msg: `no key "ms"`},
		// a value out of range
		{name: "bad value", body: chatReq("openai/gpt-4o-mini", "[sim:status code=200]", true, nil), status: 400, msg: "code"},
		// unterminated
		{name: "unterminated directive", body: chatReq("openai/gpt-4o-mini", "[sim:stall after=1", true, nil), status: 400, msg: "unterminated"},
		// two faults
		{name: "two faults", body: chatReq("openai/gpt-4o-mini", "[sim:stall] [sim:no_usage]", true, nil), status: 400, msg: "second fault"},
		// wrong method
		{name: "GET chat", method: http.MethodGet, status: 405, msg: "Method"},
		// unknown path
		{name: "unknown path", method: http.MethodGet, path: "/nope", status: 404, msg: "Not Found"},
		// missing key
		{name: "no key", body: ok, key: "-", status: 401, msg: "auth"},
		// wrong key
		{name: "wrong key", body: ok, key: "sk-or-v1-wrong", status: 401, msg: "auth"},
		// wrong key on /key
		{name: "no key for /key", method: http.MethodGet, path: "/key", key: "-", status: 401},
		// wrong key on /generation
		{name: "no key for /generation", method: http.MethodGet, path: "/generation?id=gen-1", key: "-", status: 401},
	}
	srv := newServer(t, openroutertest.Options{APIKey: key})
	srv.Enqueue(openroutertest.Fault{Kind: openroutertest.FaultStatus, Status: 502})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method, path, k := c.method, c.path, c.key
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/chat/completions"
			}
			switch k {
			case "":
				k = key
			case "-":
				k = ""
			}
			resp := do(t, waitCtx(t), srv.Client(), method, srv.URL+path, c.body, k)
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var b errorBody
			if resp.StatusCode != c.status || json.Unmarshal(raw, &b) != nil || b.Error == nil ||
				b.Error.Code != float64(c.status) || !strings.Contains(b.Error.Message, c.msg) {
				t.Errorf("status %d body %s; want %d with message containing %q", resp.StatusCode, raw, c.status, c.msg)
			}
		})
	}
	if n := len(srv.Ledger()); n != 0 {
		t.Errorf("ledger has %d entries after bad requests", n)
	}
	// The enqueued fault is still there for the first valid request.
	resp := do(t, waitCtx(t), srv.Client(), http.MethodPost, srv.URL+"/chat/completions", ok, key)
	resp.Body.Close()
	if resp.StatusCode != 502 {
		t.Errorf("first valid request: status %d, want the enqueued 502", resp.StatusCode)
	}
}

// TestPartsContent checks that array content counts only text parts.
func TestPartsContent(t *testing.T) {
	srv := newServer(t, openroutertest.Options{})
	body := chatReq("openai/gpt-4o-mini", "", false, nil)
	body["messages"] = []any{
		map[string]any{"role": "system", "content": "12345678"}, // 2+4
		map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "text", "text": "abcd"}, // 4 runes ...
			map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:x"}},
			map[string]any{"type": "text", "text": "é"}, // ... + 1 rune: 2+4
		}},
	}
	u, _, _, _ := fetchUsage(t, srv, body, false)
	if u.PromptTokens != 12 {
		t.Errorf("prompt tokens %d, want 12", u.PromptTokens)
	}
}
