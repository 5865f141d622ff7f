package openrouter

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"llmmeter/openrouter/openroutertest"
)

// h2cUpstream is the simulator behind a loopback http.Server that serves
// HTTP/1.1 and h2c, as openroutertest's servers do, counting the
// connections accepted and the protocol of every request.
type h2cUpstream struct {
	url    string
	sim    *openroutertest.Simulator
	conns  atomic.Int64
	mu     sync.Mutex
	protos map[string]int
}

func newH2CUpstream(t *testing.T, opts openroutertest.Options) *h2cUpstream {
	t.Helper()
	u := &h2cUpstream{sim: openroutertest.NewHandler(opts), protos: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Protocols: &p, ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u.mu.Lock()
			u.protos[r.Proto]++
			u.mu.Unlock()
			u.sim.ServeHTTP(w, r)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				u.conns.Add(1)
			}
		}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { u.sim.Close(); _ = srv.Close() })
	u.url = "http://" + ln.Addr().String() + "/api/v1"
	return u
}

func (u *h2cUpstream) protocols() map[string]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string]int, len(u.protos))
	for k, v := range u.protos {
		out[k] = v
	}
	return out
}

// readStream reads s to its end and returns the content and the error that
// ended it (nil at a clean end).
func readStream(s *Stream) (string, error) {
	defer s.Close()
	var b strings.Builder
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		if ev.Chunk != nil && len(ev.Chunk.Choices) > 0 {
			b.WriteString(ev.Chunk.Choices[0].Delta.Content)
		}
	}
}

// TestUnencryptedHTTP2MultiplexesStreams: with UnencryptedHTTP2 every call
// to an http:// upstream goes over HTTP/2, and 64 streams open together
// share one connection (HTTP/1.1 would need 64), each ending with its
// usage and [DONE].
func TestUnencryptedHTTP2MultiplexesStreams(t *testing.T) {
	up := newH2CUpstream(t, openroutertest.Options{AnswerTokens: 8})
	c, err := New(Config{BaseURL: up.url, APIKey: testKey, UnencryptedHTTP2: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	body := []byte(`{"model":"openai/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	// A first call makes the connection the others then share.
	first, err := c.ChatStreamBody(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readStream(first); err != nil {
		t.Fatal(err)
	}
	const n = 64
	streams := make([]*Stream, n)
	for i := range streams {
		// Opened one after another and all held open before any is read.
		if streams[i], err = c.ChatStreamBody(ctx, body); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range streams {
		content, err := readStream(s)
		if err != nil || content == "" || !s.Summary().SawDone || s.Summary().Usage == nil {
			t.Fatalf("stream %d: err %v, %d bytes of content, done %v, usage %v", i, err, len(content), s.Summary().SawDone, s.Summary().Usage != nil)
		}
	}
	if got := up.protocols(); got["HTTP/2.0"] != n+1 || len(got) != 1 {
		t.Fatalf("protocols seen by the upstream: %v, want HTTP/2.0 only", got)
	}
	if got := up.conns.Load(); got != 1 {
		t.Fatalf("%d connections for %d streams, want 1", got, n+1)
	}
}

// TestUnencryptedHTTP2Disconnect: a connection cut mid-stream (over HTTP/2
// the simulator resets the stream) ends the stream with
// ErrStreamInterrupted, never a clean end, and the next call still works.
func TestUnencryptedHTTP2Disconnect(t *testing.T) {
	up := newH2CUpstream(t, openroutertest.Options{AnswerTokens: 8})
	c, err := New(Config{BaseURL: up.url, APIKey: testKey, UnencryptedHTTP2: true, MaxRetries: NoRetries})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	body := []byte(`{"model":"openai/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	up.sim.Enqueue(openroutertest.Fault{Kind: openroutertest.FaultDisconnect, AfterTokens: 3})
	s, err := c.ChatStreamBody(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readStream(s); !errors.Is(err, ErrStreamInterrupted) || s.Summary().SawDone {
		t.Fatalf("cut stream ended with %v (done %v), want ErrStreamInterrupted", err, s.Summary().SawDone)
	}
	s, err = c.ChatStreamBody(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	if content, err := readStream(s); err != nil || content == "" || !s.Summary().SawDone {
		t.Fatalf("call after the cut: err %v, content %q", err, content)
	}
	if got := up.protocols(); got["HTTP/2.0"] != 2 || len(got) != 1 {
		t.Fatalf("protocols seen by the upstream: %v", got)
	}
}

// TestUnencryptedHTTP2Config: the option is refused with an https BaseURL
// (TLS negotiates HTTP/2 there), and without it an http:// upstream that
// also speaks h2c is still called over HTTP/1.1.
func TestUnencryptedHTTP2Config(t *testing.T) {
	if _, err := New(Config{BaseURL: DefaultBaseURL, UnencryptedHTTP2: true}); err == nil || !strings.Contains(err.Error(), "UnencryptedHTTP2") {
		t.Fatalf("https BaseURL with UnencryptedHTTP2: %v", err)
	}
	up := newH2CUpstream(t, openroutertest.Options{AnswerTokens: 4})
	c, err := New(Config{BaseURL: up.url, APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := c.ChatStreamBody(ctx, []byte(`{"model":"openai/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readStream(s); err != nil {
		t.Fatal(err)
	}
	if got := up.protocols(); got["HTTP/1.1"] != 1 || len(got) != 1 {
		t.Fatalf("protocols seen by the upstream: %v, want HTTP/1.1", got)
	}
}
