package gateway

import (
	"context"
	"encoding/json"
	"llmmeter/internal/logtest"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/auth"
	"llmmeter/internal/metrics"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
	"llmmeter/openrouter"
	"llmmeter/openrouter/openroutertest"
)

// testUser is the user every authenticated test request acts as.
const testUser = "user_test"

// fakeAuth admits any request with an Authorization header as testUser.
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, r *http.Request) (auth.Principal, error) {
	if r.Header.Get("Authorization") == "" {
		return auth.Principal{}, auth.ErrMissing
	}
	return auth.Principal{UserID: testUser, Method: "api_key"}, nil
}

// lines returns the JSON log lines whose message is msg.
// logLines are the JSON log lines of b whose message is msg.
func logLines(t testing.TB, b *logtest.Buffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if m["message"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// harness is a gateway in front of the OpenRouter simulator, with a real
// outbox in a temporary directory and its log captured.
type harness struct {
	t       testing.TB
	sim     *openroutertest.Server
	up      *openrouter.Client
	ob      *outbox.Outbox
	srv     *Server
	opt     Options // what srv was built with
	handler http.Handler
	log     *logtest.Buffer
	metrics *metrics.Metrics
}

func newHarness(t testing.TB, simOpts openroutertest.Options) *harness {
	t.Helper()
	return newHarnessWith(t, simOpts, nil)
}

// newHarnessWith lets set change the gateway's options before it starts.
func newHarnessWith(t testing.TB, simOpts openroutertest.Options, set func(*Options)) *harness {
	t.Helper()
	sim := openroutertest.NewServer(simOpts)
	t.Cleanup(sim.Close)
	up, err := openrouter.New(openrouter.Config{BaseURL: sim.URL, HTTPClient: sim.Client(), MaxRetries: openrouter.NoRetries, GenerationWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.Open(context.Background(), filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	h := &harness{t: t, sim: sim, up: up, ob: ob, log: &logtest.Buffer{}, metrics: metrics.New(nil)}
	opt := Options{Upstream: up, Auth: fakeAuth{}, Outbox: ob, Store: pingStore{}, Metrics: h.metrics,
		Log: zerolog.New(h.log), MaxBodyBytes: 1 << 20}
	if set != nil {
		set(&opt)
	}
	h.srv, h.opt = New(opt), opt
	h.handler = h.srv.Handler()
	return h
}

// do serves one request through the whole handler chain.
func (h *harness) do(method, path, body string) *httptest.ResponseRecorder {
	h.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer test")
	r.RemoteAddr = "127.0.0.1:5555"
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	return w
}

// chat posts a chat request and returns the recorder.
func (h *harness) chat(body string) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.do(http.MethodPost, "/v1/chat/completions", body)
}

// entries lists the outbox entries in state (pending ones whatever their
// due time).
func (h *harness) entries(state outbox.State) []outbox.Entry {
	h.t.Helper()
	es, err := h.ob.List(context.Background(), state, 100, time.Now().Add(48*time.Hour))
	if err != nil {
		h.t.Fatal(err)
	}
	return es
}

// chatBody is a minimal valid request whose last message is text.
func chatBody(stream bool, text string) string {
	b, _ := json.Marshal(map[string]any{"model": "openai/gpt-4o-mini", "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": text}}})
	return string(b)
}

// apiErr decodes OpenAI's error shape.
func apiErr(t *testing.T, w *httptest.ResponseRecorder) (typ, code, msg string) {
	t.Helper()
	var v struct {
		Error struct{ Type, Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	return v.Error.Type, v.Error.Code, v.Error.Message
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sinkRecorder is a store Sink that keeps every batch it takes.
type sinkRecorder struct {
	mu   sync.Mutex
	rows store.Batch
}

func (s *sinkRecorder) Ingest(_ context.Context, b store.Batch) (store.IngestResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows.Append(b)
	return store.IngestResult{}, nil
}

func (s *sinkRecorder) batch() store.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b store.Batch
	b.Append(s.rows)
	return b
}

// pingStore is a store that only answers Ping, for /readyz.
type pingStore struct {
	store.Store
	err error
}

func (p pingStore) Ping(context.Context) error { return p.err }
