package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"llmmeter/internal/outbox"
	"llmmeter/openrouter/openroutertest"
)

const chatOrigin = "https://chat.example.com"

// corsRequest serves one request with an Origin through the whole chain.
func (h *harness) corsRequest(method, path, origin string, hdr map[string]string, body string) *httptest.ResponseRecorder {
	h.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	return w
}

// TestCORS: the chat app's pages (CORS_ALLOWED_ORIGINS) may call /v1/ from
// the browser; other origins are refused at the preflight, before anything
// runs; other paths and an unset list get no CORS headers at all.
func TestCORS(t *testing.T) {
	h := newHarnessWith(t, openroutertest.Options{}, func(opt *Options) {
		opt.CORSOrigins = []string{"http://localhost:5173", chatOrigin}
		opt.Extra = map[string]http.Handler{"/api/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	})
	ask := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type,x-stainless-os"}

	t.Run("preflight from the chat app", func(t *testing.T) {
		w := h.corsRequest(http.MethodOptions, "/v1/chat/completions", chatOrigin, ask, "")
		hd := w.Header()
		if w.Code != http.StatusNoContent || hd.Get("Access-Control-Allow-Origin") != chatOrigin ||
			hd.Get("Access-Control-Allow-Headers") != "authorization,content-type,x-stainless-os" ||
			!strings.Contains(hd.Get("Access-Control-Allow-Methods"), "POST") || hd.Get("Access-Control-Max-Age") != "600" ||
			hd.Get("Access-Control-Allow-Credentials") != "" || !strings.Contains(strings.Join(hd.Values("Vary"), ","), "Origin") {
			t.Fatalf("%d %v", w.Code, hd)
		}
	})
	t.Run("asked headers are echoed up to 2 KiB", func(t *testing.T) {
		for n, echoed := range map[int]bool{2048: true, 2049: false} {
			rh := strings.Repeat("x", n)
			w := h.corsRequest(http.MethodOptions, "/v1/chat/completions", chatOrigin,
				map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": rh}, "")
			if w.Code != http.StatusNoContent || (w.Header().Get("Access-Control-Allow-Headers") == rh) != echoed {
				t.Fatalf("%d bytes: %d, echoed %v", n, w.Code, !echoed)
			}
		}
	})
	t.Run("preflight from another origin", func(t *testing.T) {
		for _, origin := range []string{"https://evil.example", "https://chat.example.com.evil.example", "null"} {
			w := h.corsRequest(http.MethodOptions, "/v1/chat/completions", origin, ask, "")
			if w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" || !strings.Contains(w.Body.String(), "CORS_ALLOWED_ORIGINS") {
				t.Fatalf("%s: %d %v %s", origin, w.Code, w.Header(), w.Body)
			}
		}
	})
	t.Run("a call from the chat app", func(t *testing.T) {
		w := h.corsRequest(http.MethodPost, "/v1/chat/completions", chatOrigin, map[string]string{"Authorization": "Bearer test"}, chatBody(true, "hi"))
		hd := w.Header()
		if w.Code != 200 || hd.Get("Access-Control-Allow-Origin") != chatOrigin || !strings.Contains(hd.Get("Access-Control-Expose-Headers"), "X-Request-Id") ||
			!strings.Contains(hd.Get("Access-Control-Expose-Headers"), "Retry-After") || !strings.HasSuffix(w.Body.String(), doneEvent) {
			t.Fatalf("%d %v", w.Code, hd)
		}
	})
	t.Run("a call from another origin gets no grant", func(t *testing.T) {
		w := h.corsRequest(http.MethodGet, "/v1/models", "https://evil.example", map[string]string{"Authorization": "Bearer test"}, "")
		if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%d %v", w.Code, w.Header())
		}
	})
	t.Run("not under /v1/", func(t *testing.T) {
		for _, path := range []string{"/api/query", "/healthz"} {
			w := h.corsRequest(http.MethodOptions, path, chatOrigin, ask, "")
			if w.Header().Get("Access-Control-Allow-Origin") != "" || w.Code == http.StatusNoContent {
				t.Fatalf("%s: %d %v", path, w.Code, w.Header())
			}
		}
	})
	// One call went upstream, the allowed one: the preflights ran nothing.
	if n := len(h.entries(outbox.Ready)) + len(h.entries(outbox.Pending)); n != 1 {
		t.Fatalf("%d outbox entries, want 1", n)
	}

	t.Run("no origins configured", func(t *testing.T) {
		h := newHarness(t, openroutertest.Options{})
		w := h.corsRequest(http.MethodOptions, "/v1/chat/completions", chatOrigin, ask, "")
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%d %v", w.Code, w.Header())
		}
	})
}
