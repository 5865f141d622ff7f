package gateway

import (
	"net/http"
	"strings"
	"testing"

	"llmmeter/internal/outbox"
	"llmmeter/openrouter/openroutertest"
)

// TestUnknownEndpoints: a path no route serves gets 404 in OpenAI's error
// shape, naming the path as the client sent it, and stores nothing. Found
// with curl: POST /v1/chat%2Fcompletions was refused as "Unknown endpoint
// POST /v1/chat/completions.", naming the very route it is not.
func TestUnknownEndpoints(t *testing.T) {
	long := "/v1/" + strings.Repeat("a", 5000)
	cases := []struct {
		name, method, path string
		want               string // the message
	}{
		// OpenAI routes the gateway does not proxy.
		{"embeddings", http.MethodPost, "/v1/embeddings", "Unknown endpoint POST /v1/embeddings."},
		{"legacy completions", http.MethodPost, "/v1/completions", "Unknown endpoint POST /v1/completions."},
		{"one model", http.MethodGet, "/v1/models/openai/gpt-4o-mini", "Unknown endpoint GET /v1/models/openai/gpt-4o-mini."},
		// An escaped slash is not the chat route, and the message must not say it is.
		{"escaped slash", http.MethodPost, "/v1/chat%2Fcompletions", "Unknown endpoint POST /v1/chat%2Fcompletions."},
		// A very long path is cut in the message.
		{"long path", http.MethodGet, long, "Unknown endpoint GET " + long[:256] + "."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, openroutertest.Options{})
			w := h.do(c.method, c.path, `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
			if w.Code != http.StatusNotFound || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
				t.Fatalf("%d %q", w.Code, w.Header().Get("Content-Type"))
			}
			typ, code, msg := apiErr(t, w)
			if typ != "invalid_request_error" || code != "not_found" || msg != c.want {
				t.Fatalf("error %s %s %q, want %q", typ, code, msg, c.want)
			}
			if n := len(h.entries(outbox.Ready)) + len(h.entries(outbox.Pending)); n != 0 || len(h.sim.Ledger()) != 0 {
				t.Fatalf("a 404 stored %d entries, sent %d generations", n, len(h.sim.Ledger()))
			}
		})
	}
}
