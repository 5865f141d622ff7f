package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
	"llmmeter/openrouter"
	"llmmeter/openrouter/openroutertest"
)

// TestAccessLogFields: one line per request with the request id the client
// saw, the caller's own request id when short enough, and never the
// credential or the message text.
func TestAccessLogFields(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(true, "secret prompt text")))
	r.Header.Set("Authorization", "Bearer sk-very-secret")
	r.Header.Set("X-Request-Id", "client-42")
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	l := h.accessLine()
	g := h.sim.Ledger()[0]
	want := map[string]any{"level": "info", "request_id": w.Header().Get("X-Request-Id"), "method": "POST", "path": "/v1/chat/completions",
		"status": float64(200), "user": testUser, "model": simModel, "stream": true, "generation_id": g.ID,
		"client_request_id": "client-42", "bytes_out": float64(w.Body.Len()), "cost_status": "reported"}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("%s = %v, want %v", k, l[k], v)
		}
	}
	if !strings.HasPrefix(w.Header().Get("X-Request-Id"), "req_") {
		t.Errorf("request id %q", w.Header().Get("X-Request-Id"))
	}
	for _, k := range []string{"upstream_ms", "ttft_ms", "latency_ms"} {
		if _, ok := l[k]; !ok {
			t.Errorf("%s missing", k)
		}
	}
	for _, k := range []string{"http_status", "client_gone", "error_code", "tokens_estimated"} {
		if _, ok := l[k]; ok {
			t.Errorf("%s present: %v", k, l[k])
		}
	}
	all := h.log.String()
	if strings.Contains(all, "sk-very-secret") || strings.Contains(all, "secret prompt") {
		t.Fatal("a credential or message text reached the log")
	}

	// A client request id of 128 bytes is logged; a longer one is not.
	r = httptest.NewRequest(http.MethodGet, "/healthz", nil)
	r.Header.Set("X-Request-Id", strings.Repeat("x", 128))
	h.handler.ServeHTTP(httptest.NewRecorder(), r)
	if l := h.accessLine(); l["client_request_id"] != strings.Repeat("x", 128) {
		t.Errorf("128-byte client request id not logged: %v", l)
	}

	r = httptest.NewRequest(http.MethodGet, "/healthz", nil)
	r.Header.Set("X-Request-Id", strings.Repeat("x", 129))
	h.handler.ServeHTTP(httptest.NewRecorder(), r)
	if l := h.accessLine(); l["client_request_id"] != nil || l["model"] != nil || l["user"] != nil {
		t.Errorf("healthz line %v", l)
	}
}

// TestAccessLogLevelAndErrors: a 5xx is logged as an error (Convex's 560,
// a function's own error answered as designed, is not); a handler's error
// code is logged; a panic becomes a 500 in OpenAI's shape.
func TestAccessLogLevelAndErrors(t *testing.T) {
	h := newHarnessWith(t, openroutertest.Options{}, func(o *Options) {
		o.Extra = map[string]http.Handler{
			"/x/500":   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }),
			"/x/560":   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(560) }),
			"/x/499":   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(499) }),
			"/x/empty": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
			"/x/panic": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }),
			"/x/fail":  serve(o.Log, func(w http.ResponseWriter, r *http.Request) error { return errors.New("disk on fire") }),
			"/x/late": serve(o.Log, func(w http.ResponseWriter, r *http.Request) error {
				io.WriteString(w, "partial")
				return &apiError{Status: 502, Type: "server_error", Code: "late", Message: "too late", Cause: errors.New("cause")}
			}),
		}
	})
	for _, c := range []struct {
		path, level string
		status      int
	}{
		{"/x/500", "error", 500},
		{"/x/560", "info", 560},
		{"/x/499", "info", 499},
		{"/x/empty", "info", 200}, // nothing written: net/http sends 200
	} {
		h.do(http.MethodGet, c.path, "")
		if l := h.accessLine(); l["level"] != c.level || l["status"] != float64(c.status) {
			t.Errorf("%s: %v", c.path, l)
		}
	}

	w := h.do(http.MethodGet, "/x/panic", "")
	if typ, code, _ := apiErr(t, w); w.Code != 500 || typ != "server_error" || code != "internal_error" {
		t.Fatalf("panic answered %d %s", w.Code, w.Body)
	}
	if len(logLines(t, h.log, "handler panicked")) != 1 || h.accessLine()["status"] != float64(500) {
		t.Fatal("panic not logged")
	}

	// An unknown error is a 500 whose cause is logged (and never sent).
	w = h.do(http.MethodGet, "/x/fail", "")
	if _, code, _ := apiErr(t, w); w.Code != 500 || code != "internal_error" || strings.Contains(w.Body.String(), "disk on fire") {
		t.Fatalf("unknown error answered %d %s", w.Code, w.Body)
	}
	if ls := logLines(t, h.log, "Internal error."); len(ls) != 1 || ls[0]["error"] != "disk on fire" || ls[0]["level"] != "error" {
		t.Fatalf("the cause of a 500 is not logged: %v", ls)
	}

	// An error after the response began: nothing more is written, the code is logged.
	w = h.do(http.MethodGet, "/x/late", "")
	if w.Code != 200 || w.Body.String() != "partial" {
		t.Fatalf("late error rewrote the response: %d %q", w.Code, w.Body)
	}
	if l := h.accessLine(); l["error_code"] != "late" {
		t.Fatalf("line %v", l)
	}
	if len(logLines(t, h.log, "too late")) != 1 {
		t.Fatal("the cause of a 5xx is not logged")
	}
}

// TestAbortHandlerPanicPropagates: http.ErrAbortHandler is net/http's way
// to abort a response; it is passed on, not turned into a 500.
func TestAbortHandlerPanicPropagates(t *testing.T) {
	h := newHarnessWith(t, openroutertest.Options{}, func(o *Options) {
		o.Extra = map[string]http.Handler{"/abort": http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })}
	})
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Fatalf("recovered %v", p)
		}
	}()
	h.do(http.MethodGet, "/abort", "")
	t.Fatal("no panic")
}

// TestRefusals: requests refused before going upstream record nothing.
func TestRefusals(t *testing.T) {
	t.Run("no credential", func(t *testing.T) {
		h := newHarness(t, openroutertest.Options{})
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(false, "hi")))
		w := httptest.NewRecorder()
		h.handler.ServeHTTP(w, r)
		if typ, code, _ := apiErr(t, w); w.Code != 401 || typ != "authentication_error" || code != "missing_api_key" {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		h.assertNothingHappened()
	})
	t.Run("body too large", func(t *testing.T) {
		h := newHarnessWith(t, openroutertest.Options{}, func(o *Options) { o.MaxBodyBytes = 64 })
		w := h.chat(chatBody(false, strings.Repeat("long ", 40)))
		if _, code, msg := apiErr(t, w); w.Code != 413 || code != "request_too_large" || !strings.Contains(msg, "64 bytes") {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		h.assertNothingHappened()
	})
	t.Run("outbox full", func(t *testing.T) {
		h := newHarnessWith(t, openroutertest.Options{}, func(o *Options) { o.MaxOutbox = 1 })
		if w := h.chat(chatBody(false, "first")); w.Code != 200 {
			t.Fatal(w.Code)
		}
		w := h.chat(chatBody(false, "second"))
		if _, code, _ := apiErr(t, w); w.Code != 503 || code != "accounting_backlog" || w.Header().Get("Retry-After") != "5" {
			t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
		}
		if n := len(h.sim.Ledger()); n != 1 {
			t.Fatalf("%d calls went upstream", n)
		}
		if len(logLines(t, h.log, "OUTBOX FULL: refusing new calls until the store takes the backlog (see /readyz)")) != 1 {
			t.Fatal("not said loudly")
		}
	})
	t.Run("outbox bound counts entries, not replacements", func(t *testing.T) {
		// Each call replaces its in-flight entry with its final one; the
		// approximate depth counts both until the next count, which must
		// not refuse a call while the outbox is under its bound.
		h := newHarnessWith(t, openroutertest.Options{}, func(o *Options) { o.MaxOutbox = 3 })
		for i := range 3 {
			if w := h.chat(chatBody(i%2 == 0, "under the bound")); w.Code != 200 {
				t.Fatalf("call %d: %d %s", i, w.Code, w.Body)
			}
		}
		w := h.chat(chatBody(false, "past the bound"))
		if _, code, _ := apiErr(t, w); w.Code != 503 || code != "accounting_backlog" {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	})
	t.Run("outbox exactly at its bound", func(t *testing.T) {
		// Entries put whole (no in-flight entry to replace): the depth is
		// exact, and a depth equal to the bound refuses. Pending entries
		// count as much as ready ones.
		h := newHarnessWith(t, openroutertest.Options{}, func(o *Options) { o.MaxOutbox = 2 })
		for k, st := range map[string]outbox.State{"a": outbox.Ready, "b": outbox.Pending} {
			if err := h.ob.Put(context.Background(), k, st, store.Batch{}); err != nil {
				t.Fatal(err)
			}
		}
		w := h.chat(chatBody(false, "at the bound"))
		if _, code, _ := apiErr(t, w); w.Code != 503 || code != "accounting_backlog" {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		if n := len(h.sim.Ledger()); n != 0 {
			t.Fatalf("%d calls went upstream", n)
		}
	})
	t.Run("conversation id too long", func(t *testing.T) {
		h := newHarness(t, openroutertest.Options{})
		w := h.chat(`{"model":"m","conversation_id":"` + strings.Repeat("c", 129) + `","messages":[{"role":"user","content":"x"}]}`)
		if _, _, msg := apiErr(t, w); w.Code != 400 || !strings.Contains(msg, "conversation_id must be a string of at most 128") {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		h.assertNothingHappened()
	})
}

// TestOurIDsAreKeptAndNotForwarded: conversation_id and message_id land on
// the usage row and the request log; the model falls back to the first of models.
func TestOurIDsAreKeptAndNotForwarded(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	w := h.chat(`{"models":["` + simModel + `"],"conversation_id":"` + strings.Repeat("c", 128) + `","message_id":"m1","messages":[{"role":"user","content":"x"}]}`)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	e := h.onlyEntry(outbox.Ready)
	u := e.Batch.Usage[0]
	if u.ConversationID != strings.Repeat("c", 128) || u.MessageID != "m1" || u.Model != simModel || u.Stream {
		t.Fatalf("usage %+v", u)
	}
	if e.Batch.RequestLogs[0].RequestSize != int64(len(`{"models":["`+simModel+`"],"conversation_id":"`+strings.Repeat("c", 128)+`","message_id":"m1","messages":[{"role":"user","content":"x"}]}`)) {
		t.Fatalf("request size %d", e.Batch.RequestLogs[0].RequestSize)
	}
	if l := e.Batch.RequestLogs[0]; l.ConversationID != strings.Repeat("c", 128) || l.MessageID != "m1" {
		t.Fatalf("request log ids %q %q", l.ConversationID, l.MessageID)
	}
	if e.Batch.RequestLogs[0].IPAddress != "127.0.0.1" || e.Batch.RequestLogs[0].UserID != testUser {
		t.Fatalf("log %+v", e.Batch.RequestLogs[0])
	}
	// The access log names the model asked for: the first of models.
	if l := h.accessLine(); l["model"] != simModel {
		t.Fatalf("access line model %v, want %s", l["model"], simModel)
	}
}

// sseEvents splits a stream body into its events.
func sseEvents(t *testing.T, body string) []string {
	t.Helper()
	if !strings.HasSuffix(body, "\n\n") {
		t.Fatalf("stream does not end with a blank line: %q", body[max(0, len(body)-80):])
	}
	return strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
}

// TestStreamForwarding pins what a streamed response carries: SSE headers,
// the generation id, comments and chunks as they came, malformed chunks
// dropped, and [DONE] once, last, after the rows are durable.
func TestStreamForwarding(t *testing.T) {
	h := newHarness(t, openroutertest.Options{AnswerTokens: 20})
	w := h.chat(chatBody(true, "hi [sim:malformed after=3]"))
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/event-stream" || w.Header().Get("Cache-Control") != "no-cache" ||
		w.Header().Get("X-Accel-Buffering") != "no" || w.Header().Get("X-Generation-Id") != h.sim.Ledger()[0].ID {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	evs := sseEvents(t, w.Body.String())
	comments, chunks := 0, 0
	for i, ev := range evs {
		switch {
		case strings.HasPrefix(ev, ": "):
			comments++
		case ev == "data: [DONE]":
			if i != len(evs)-1 {
				t.Fatalf("[DONE] at %d of %d", i, len(evs))
			}
		case strings.HasPrefix(ev, "data: "):
			if !json.Valid([]byte(strings.TrimPrefix(ev, "data: "))) {
				t.Fatalf("malformed chunk forwarded: %q", ev)
			}
			chunks++
		default:
			t.Fatalf("event %q", ev)
		}
	}
	if comments == 0 || chunks < 20 || evs[len(evs)-1] != "data: [DONE]" {
		t.Fatalf("%d comments, %d chunks, last %q", comments, chunks, evs[len(evs)-1])
	}
	e := h.onlyEntry(outbox.Ready)
	if rl := e.Batch.RequestLogs[0]; rl.ResponseSize != int64(w.Body.Len()) || rl.Status != "success" {
		t.Fatalf("request log %+v, body %d bytes", rl, w.Body.Len())
	}
}

// TestBrokenStream: when the upstream drops the connection mid-stream the
// client gets OpenRouter's mid-stream error chunk (code 502, finish_reason
// error) and no [DONE]; the row says 502 upstream_stream_broken.
func TestBrokenStream(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	w := h.chat(chatBody(true, "hi [sim:disconnect after=3]"))
	evs := sseEvents(t, w.Body.String())
	last := evs[len(evs)-1]
	var chunk struct {
		ID    string `json:"id"`
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(last, "data: ")), &chunk); err != nil {
		t.Fatalf("last event %q: %v", last, err)
	}
	if chunk.Error.Code != 502 || chunk.ID == "" || len(chunk.Choices) != 1 || chunk.Choices[0].FinishReason != "error" || strings.Contains(w.Body.String(), "[DONE]") {
		t.Fatalf("last event %q", last)
	}
	logs := h.onlyEntry(outbox.Ready).Batch.RequestLogs
	if len(logs) != 1 || logs[0].StatusCode != 502 || logs[0].ErrorType != "upstream_stream_broken" || logs[0].ResponseSize != int64(w.Body.Len()) {
		t.Fatalf("logs %+v", logs)
	}
	if l := h.accessLine(); l["status"] != float64(502) || l["http_status"] != float64(200) || l["level"] != "error" {
		t.Fatalf("access line %v", l)
	}
}

// TestModelsEndpoint: the model list in OpenAI's shape, cached.
func TestModelsEndpoint(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	w := h.do(http.MethodGet, "/v1/models", "")
	var v struct {
		Object string `json:"object"`
		Data   []struct {
			ID, Object, OwnedBy string
			Pricing             map[string]any `json:"pricing"`
		} `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != 200 || v.Object != "list" || len(v.Data) != len(openroutertest.DefaultModels()) {
		t.Fatalf("%d %s %v", w.Code, w.Body, err)
	}
	if v.Data[0].Object != "model" || v.Data[0].ID == "" || len(v.Data[0].Pricing) == 0 {
		t.Fatalf("%+v", v.Data[0])
	}
	h.sim.Close() // cached: still served
	if w := h.do(http.MethodGet, "/v1/models", ""); w.Code != 200 {
		t.Fatalf("cached list: %d", w.Code)
	}

	cold := newHarness(t, openroutertest.Options{})
	cold.sim.Close()
	w = cold.do(http.MethodGet, "/v1/models", "")
	if _, code, _ := apiErr(t, w); w.Code != 502 || code != "upstream_unreachable" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// TestHealthAndReadiness: /healthz always answers; /readyz follows the
// store and shows the outbox.
func TestHealthAndReadiness(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	if w := h.do(http.MethodGet, "/healthz", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"ok"`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	w := h.do(http.MethodGet, "/readyz", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"ready"`) || !strings.Contains(w.Body.String(), `"outbox"`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	down := newHarnessWith(t, openroutertest.Options{}, func(o *Options) { o.Store = pingStore{err: errors.New("down")}; o.Simulated = true })
	w = down.do(http.MethodGet, "/readyz", "")
	if w.Code != 503 || !strings.Contains(w.Body.String(), `"store":"unreachable"`) || !strings.Contains(w.Body.String(), `"upstream":"simulator"`) ||
		w.Header().Get("X-Upstream") != "simulator" {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
	}
	if w := h.do(http.MethodGet, "/metrics", ""); w.Code != 200 || !bufio.NewScanner(w.Body).Scan() {
		t.Fatalf("metrics %d", w.Code)
	}
}

// TestNewDefaults pins the defaults New fills in for zero options: a
// request body of at most 4 MiB, a quota check of at most 2 s, a model
// list kept 5 minutes, a clock and metrics.
func TestNewDefaults(t *testing.T) {
	s := New(Options{})
	if s.opt.MaxBodyBytes != 4<<20 || s.opt.QuotaTimeout != 2*time.Second || s.models.ttl != 5*time.Minute ||
		s.opt.Now == nil || s.opt.Metrics == nil {
		t.Fatalf("defaults: body %d, quota timeout %v, model ttl %v", s.opt.MaxBodyBytes, s.opt.QuotaTimeout, s.models.ttl)
	}
	// Values that are set are kept.
	s = New(Options{MaxBodyBytes: 10, QuotaTimeout: time.Millisecond})
	if s.opt.MaxBodyBytes != 10 || s.opt.QuotaTimeout != time.Millisecond {
		t.Fatalf("set options overridden: %d %v", s.opt.MaxBodyBytes, s.opt.QuotaTimeout)
	}
}

// countingTransport counts the requests to /models it passes on.
type countingTransport struct {
	next   http.RoundTripper
	models atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/models") {
		c.models.Add(1)
	}
	return c.next.RoundTrip(r)
}

// TestModelCacheLifetime: the list is fetched again once it is ttl old
// (not a moment earlier), by get and, in the background, by view; when a
// refresh fails the stale list is served rather than nothing.
func TestModelCacheLifetime(t *testing.T) {
	sim := openroutertest.NewServer(openroutertest.Options{})
	t.Cleanup(sim.Close)
	ct := &countingTransport{next: sim.Client().Transport}
	up, err := openrouter.New(openrouter.Config{BaseURL: sim.URL, HTTPClient: &http.Client{Transport: ct}, MaxRetries: openrouter.NoRetries})
	if err != nil {
		t.Fatal(err)
	}
	var now atomic.Int64 // ms since t0
	c := &modelCache{client: up, ttl: time.Minute, now: func() time.Time { return t0.Add(time.Duration(now.Load()) * time.Millisecond) }}
	ctx := context.Background()

	// A cold view starts a fetch in the background, which fills the cache.
	if v := c.view(); v.byID != nil {
		t.Fatal("a cold cache has a list")
	}
	waitFor(t, "the background fetch", func() bool { return c.view().byID != nil })
	waitFor(t, "the fetch to end", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return !c.refreshing })
	if n := ct.models.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}

	now.Store(59_999) // 1 ms before the list is stale: neither fetches
	if _, _, err := c.get(ctx); err != nil || ct.models.Load() != 1 {
		t.Fatalf("get fetched a fresh list (%d fetches, %v)", ct.models.Load(), err)
	}
	c.view()
	c.mu.Lock()
	refreshing := c.refreshing
	c.mu.Unlock()
	if refreshing {
		t.Fatal("view refreshes a fresh list")
	}

	now.Store(60_000) // exactly ttl old: view refreshes in the background
	c.view()
	waitFor(t, "view's refresh", func() bool { return ct.models.Load() == 2 })
	waitFor(t, "the refresh to end", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return !c.refreshing })

	now.Store(120_000) // ttl after that refresh: get fetches
	if _, _, err := c.get(ctx); err != nil || ct.models.Load() != 3 {
		t.Fatalf("get did not refresh a stale list (%d fetches, %v)", ct.models.Load(), err)
	}

	// The upstream is gone: a stale list beats nothing.
	sim.Close()
	now.Store(10 * 60_000)
	list, byID, err := c.get(ctx)
	if err != nil || len(list) == 0 || len(byID) != len(list) {
		t.Fatalf("stale list not served: %d models, %v", len(list), err)
	}
}

// flushRecorder is a ResponseWriter that keeps apart what was flushed (what
// reached the connection, flush by flush) and what was only written; safe
// for a test to read while the handler writes.
type flushRecorder struct {
	mu      sync.Mutex
	header  http.Header
	code    int
	written []byte   // not flushed yet
	each    []string // what each flush sent
}

func (f *flushRecorder) Header() http.Header { return f.header }
func (f *flushRecorder) WriteHeader(code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.code == 0 {
		f.code = code
	}
}
func (f *flushRecorder) Write(p []byte) (int, error) {
	f.WriteHeader(http.StatusOK)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.written = append(f.written, p...)
	return len(p), nil
}
func (f *flushRecorder) Flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.each = append(f.each, string(f.written))
	f.written = f.written[:0]
}

// flushes is what each flush sent, so far.
func (f *flushRecorder) flushes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.each)
}

// TestStreamFlushesBeforeWaiting: every event the gateway forwarded has
// reached the client before the gateway waits for the upstream's next (a
// client must see tokens as they come), and events that arrive together
// leave in fewer flushes than events.
func TestStreamFlushesBeforeWaiting(t *testing.T) {
	t.Run("upstream stalls", func(t *testing.T) {
		h := newHarness(t, openroutertest.Options{AnswerTokens: 8})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The upstream sends its first three tokens, then says nothing.
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(true, "hi [sim:stall after=3 ms=600000]")))
		r.Header.Set("Authorization", "Bearer test")
		w := &flushRecorder{header: http.Header{}}
		done := make(chan struct{})
		go func() { defer close(done); h.handler.ServeHTTP(w, r) }()
		waitFor(t, "the three tokens before the stall to reach the client", func() bool {
			return strings.Count(strings.Join(w.flushes(), ""), `"content":`) >= 3
		})
		cancel()
		<-done
	})
	t.Run("events together", func(t *testing.T) {
		h := newHarness(t, openroutertest.Options{AnswerTokens: 64})
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(true, "hi")))
		r.Header.Set("Authorization", "Bearer test")
		w := &flushRecorder{header: http.Header{}}
		h.handler.ServeHTTP(w, r)
		flushes := w.flushes()
		evs := sseEvents(t, strings.Join(flushes, ""))
		if w.code != 200 || evs[len(evs)-1] != "data: [DONE]" {
			t.Fatalf("status %d, last event %q", w.code, evs[len(evs)-1])
		}
		// 64 tokens of a few hundred bytes each arrive faster than a client
		// is written to: the line reader takes several per read.
		if len(flushes) >= len(evs) {
			t.Fatalf("%d flushes for %d events", len(flushes), len(evs))
		}
	})
	t.Run("tail before [DONE]", func(t *testing.T) {
		// A recorded OpenRouter stream, sent in one write: its last chunks
		// and [DONE] reach the gateway in one read. The chunks go to the
		// client at once; [DONE] alone, once the rows are durable.
		sse, err := os.ReadFile(filepath.Join("..", "..", "openrouter", "testdata", "usage_empty_choices.sse"))
		if err != nil {
			t.Fatal(err)
		}
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write(sse)
		}))
		t.Cleanup(up.Close)
		h := newHarnessWith(t, openroutertest.Options{}, func(o *Options) {
			var err error
			if o.Upstream, err = openrouter.New(openrouter.Config{BaseURL: up.URL, HTTPClient: up.Client(), MaxRetries: openrouter.NoRetries, GenerationWait: time.Millisecond}); err != nil {
				t.Fatal(err)
			}
		})
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(true, "hi")))
		r.Header.Set("Authorization", "Bearer test")
		w := &flushRecorder{header: http.Header{}}
		h.handler.ServeHTTP(w, r)
		flushes := w.flushes()
		if evs := sseEvents(t, strings.Join(flushes, "")); !strings.Contains(evs[len(evs)-2], `"usage"`) {
			t.Fatalf("the event before [DONE] is %q, want the usage chunk", evs[len(evs)-2])
		}
		if last := flushes[len(flushes)-1]; last != doneEvent {
			t.Fatalf("the last flush sent %q, want [DONE] alone", last)
		}
	})
}

// TestCutCalls: a call cut while the upstream stalls. The in-flight entry
// (what a crash would leave) exists as soon as the generation is named;
// then the service's shutdown or the client's leaving ends the call, and
// the rows and the response say which.
func TestCutCalls(t *testing.T) {
	cases := []struct {
		name     string
		stream   bool
		cause    error // the request context's cancel cause
		code     int   // the request log's status code
		errType  string
		wire     int    // the status on the wire
		lastWord string // what the response ends with
	}{
		// A stream cut by the shutdown ends with a 503 error chunk, no [DONE].
		{"stream shutdown", true, ErrShutdown, 503, "service_shutdown", 200, `"finish_reason":"error"`},
		// A plain call cut by the shutdown is a 503 in OpenAI's shape.
		{"plain shutdown", false, ErrShutdown, 503, "service_shutdown", 503, `"code":"service_shutdown"`},
		// A client that left: 499, the usage row marked cancelled.
		{"stream client gone", true, context.Canceled, 499, "client_disconnected", 200, ""},
		// Likewise for a plain call; nothing is written to no one.
		{"plain client gone", false, context.Canceled, 499, "client_disconnected", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, openroutertest.Options{})
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(c.stream, "hi [sim:stall after=2]")))
			r.Header.Set("Authorization", "Bearer test")
			w := httptest.NewRecorder()
			done := make(chan struct{})
			go func() { defer close(done); h.handler.ServeHTTP(w, r) }()

			e := h.onlyEntryEventually(outbox.Pending)
			if rl := e.Batch.RequestLogs; len(rl) != 1 || rl[0].ErrorType != "service_interrupted" || len(e.Batch.Usage) != 1 {
				t.Fatalf("in-flight entry %+v", e.Batch)
			}
			cancel(c.cause)
			<-done

			rl := h.onlyEntry(outbox.Ready).Batch.RequestLogs[0]
			if rl.StatusCode != c.code || rl.ErrorType != c.errType {
				t.Fatalf("request log %d %s, want %d %s", rl.StatusCode, rl.ErrorType, c.code, c.errType)
			}
			// The access log says the same, and whether the client left.
			if l := h.accessLine(); l["status"] != float64(c.code) || (l["client_gone"] == true) != (c.cause != ErrShutdown) {
				t.Fatalf("access line %v", l)
			}
			// Without a usage chunk the estimate stands in, marked cancelled.
			if u := h.onlyEntry(outbox.Pending).Batch.Usage[0]; !u.Cancelled {
				t.Fatalf("a cut call's estimate is not marked cancelled: %+v", u)
			}
			body := w.Body.String()
			if w.Code != c.wire || strings.Contains(body, "[DONE]") {
				t.Fatalf("wire %d %q", w.Code, body)
			}
			switch {
			case c.lastWord == "" && !c.stream && body != "":
				t.Fatalf("a plain call to a client that left wrote %q", body)
			case c.lastWord == "" && c.stream && strings.Contains(body, `"error"`):
				t.Fatalf("an error chunk to a client that left: %q", body)
			case c.lastWord != "" && !strings.Contains(body, c.lastWord) || c.lastWord != "" && !strings.Contains(body, shutdownMessage):
				t.Fatalf("body %q lacks %s and the shutdown message", body, c.lastWord)
			}
			if c.stream && c.cause == ErrShutdown {
				evs := sseEvents(t, body)
				if last := evs[len(evs)-1]; !strings.Contains(last, `"code":503`) || !strings.Contains(last, shutdownMessage) {
					t.Fatalf("last event %q", last)
				}
				if rl.ResponseSize != int64(len(body)) {
					t.Fatalf("response size %d, body %d", rl.ResponseSize, len(body))
				}
			}
			if c.cause == ErrShutdown && !c.stream && w.Header().Get("Retry-After") != "1" {
				t.Fatalf("Retry-After %q", w.Header().Get("Retry-After"))
			}
		})
	}
}

// TestPlainCallEndings: how a plain call's body ends, as OpenRouter answers
// a plain call: an error chunk mid-stream is HTTP 200 with finish_reason
// "error" (the row keeps the chunk's code); a stream that breaks without a
// word is a 502 in OpenAI's shape.
func TestPlainCallEndings(t *testing.T) {
	cases := []struct {
		name    string
		text    string
		wire    int
		code    int // the request log's status code
		errType string
		body    string // what the body holds
	}{
		// A mid-stream 429: the plain body carries the error choice.
		{"midstream error", "hi [sim:midstream after=2 code=429]", 200, 429, "upstream_error", `"finish_reason":"error"`},
		// The upstream connection drops: 502, upstream_stream_broken.
		{"disconnect", "hi [sim:disconnect after=2]", 502, 502, "upstream_stream_broken", `"code":"upstream_stream_broken"`},
		// A normal call: the assembled body.
		{"ok", "hi", 200, 200, "", `"finish_reason":"stop"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, openroutertest.Options{})
			w := h.chat(chatBody(false, c.text))
			if w.Code != c.wire || !json.Valid(w.Body.Bytes()) || !strings.Contains(w.Body.String(), c.body) {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			rl := h.onlyEntry(outbox.Ready).Batch.RequestLogs[0]
			if rl.StatusCode != c.code || rl.ErrorType != c.errType {
				t.Fatalf("request log %d %q", rl.StatusCode, rl.ErrorType)
			}
			if rl.ResponseSize != int64(w.Body.Len()) && c.wire == 200 {
				t.Fatalf("response size %d, body %d", rl.ResponseSize, w.Body.Len())
			}
		})
	}
}

// closedOutbox closes h's outbox and fills its queue, so that every put
// fails at once with outbox.ErrClosed (a put to a closed outbox otherwise
// may still be queued, and then waits for its deadline).
func (h *harness) closedOutbox() {
	h.t.Helper()
	h.ob.Close()
	// Each put to a closed outbox lands in the queue or not, at random;
	// 8192 tries fill its 1024 places beyond any doubt.
	for range 8192 {
		h.ob.PutAsync(outbox.Item{Key: "filler", State: outbox.Ready})
	}
}

// TestRowsNotDurable: when the outbox cannot take a call's rows, the
// client never sees [DONE] or the plain body (which would say the call is
// on disk): a stream ends with a 503 error chunk, a plain call is a 503;
// the access log says 503 either way, as the rewritten row does. Before the
// fix the access line kept the row's first status, 200 at level info, for
// a call answered 503.
func TestRowsNotDurable(t *testing.T) {
	cases := []struct {
		name   string
		stream bool
		wire   int
	}{
		// The stream's 200 is out: it ends with an error chunk instead of [DONE].
		{"stream", true, 200},
		// A plain call's body is withheld: a 503 in OpenAI's shape.
		{"plain", false, 503},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, openroutertest.Options{})
			h.closedOutbox()
			w := h.chat(chatBody(c.stream, "hi"))
			body := w.Body.String()
			if w.Code != c.wire || strings.Contains(body, "[DONE]") || !strings.Contains(body, "cannot record calls") {
				t.Fatalf("%d %q", w.Code, body)
			}
			if c.stream {
				evs := sseEvents(t, body)
				if last := evs[len(evs)-1]; !strings.Contains(last, `"code":503`) || !strings.Contains(last, `"finish_reason":"error"`) {
					t.Fatalf("last event %q", last)
				}
			} else if _, code, _ := apiErr(t, w); code != "accounting_unavailable" || w.Header().Get("Retry-After") != "5" {
				t.Fatalf("%s %v", code, w.Header())
			}
			if len(logLines(t, h.log, "ROWS NOT DURABLE: the call is answered with an error; the outbox retries its rows")) != 1 {
				t.Fatal("not said loudly")
			}
			if l := h.accessLine(); l["status"] != float64(503) {
				t.Fatalf("access line %v", l)
			}
		})
	}
}
