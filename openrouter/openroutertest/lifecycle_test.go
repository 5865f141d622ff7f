package openroutertest_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/openrouter/openroutertest"
)

// TestClientCancel checks that a client leaving mid-stream or during the
// time to first token is recorded as Cancelled and billed for what was
// generated.
func TestClientCancel(t *testing.T) {
	cases := []struct {
		name       string
		opts       openroutertest.Options
		text       string
		readChunks int   // content chunks to read before cancelling
		completion int64 // billed
	}{
		// stalled after 3 tokens: prompt + 3 tokens
		{name: "mid-stream", text: "hi [sim:stall after=3]", readChunks: 3, completion: 3},
		// a slow pace: the client leaves after 2 chunks, before the next is due
		{name: "paced", opts: openroutertest.Options{TokensPerSecond: 0.01}, text: "hi", readChunks: 1, completion: 1},
		// during the time to first token: prompt only
		{name: "before first token", opts: openroutertest.Options{TimeToFirstToken: time.Hour}, text: "hi", completion: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, c.opts)
			ctx, cancel := context.WithCancel(waitCtx(t))
			resp := do(t, ctx, srv.Client(), http.MethodPost, srv.URL+"/chat/completions",
				chatReq("openai/gpt-4o-mini", c.text, true, nil), "")
			defer resp.Body.Close()
			id := resp.Header.Get("X-Generation-Id")
			r := newSSE(resp.Body)
			if e, err := r.next(); err != nil || !e.isComment() { // the comment is flushed before waiting
				t.Fatalf("first event %+v, %v", e, err)
			}
			for n := 0; n < c.readChunks; {
				e, err := r.next()
				if err != nil {
					t.Fatal(err)
				}
				if !e.isComment() {
					n++
				}
			}
			cancel()
			g, err := srv.WaitGeneration(waitCtx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			want := miniCost(c.text, c.completion)
			if !g.Cancelled || g.FinishReason != "" || g.CompletionTokens != c.completion || g.Cost != want {
				t.Errorf("ledger %+v, want cancelled with %d tokens costing %d", g, c.completion, want)
			}
		})
	}
}

// TestConcurrentStreams runs 200 streams at once: every one is in the
// ledger once, with a unique id, and the wire costs sum to the ledger's.
func TestConcurrentStreams(t *testing.T) {
	const n = 200
	srv := newServer(t, openroutertest.Options{TokensPerChunk: 2})
	var (
		mu       sync.Mutex
		wireSum  money.Nanos
		wg       sync.WaitGroup
		failures int
	)
	for i := range n {
		wg.Go(func() {
			model := []string{"openai/gpt-4o-mini", "google/gemini-flash-1.5", "anthropic/claude-3.5-sonnet"}[i%3]
			res := stream(t, srv, chatReq(model, "concurrent", true, map[string]any{"prompt_cache_key": "k"}))
			uc, ok := res.usageChunk()
			mu.Lock()
			defer mu.Unlock()
			if res.readErr != nil || !ok {
				failures++
				return
			}
			wireSum += usdOf(t, uc.Usage.Cost)
		})
	}
	wg.Wait()
	if failures > 0 {
		t.Fatalf("%d streams failed", failures)
	}
	led := srv.Ledger()
	ids := map[string]bool{}
	var ledSum money.Nanos
	for _, g := range led {
		ids[g.ID] = true
		ledSum += g.Cost
		if g.CompletionTokens != 20 || g.FinishReason != "stop" {
			t.Errorf("entry %+v", g)
		}
	}
	if len(led) != n || len(ids) != n || ledSum != wireSum {
		t.Errorf("ledger %d entries, %d ids, sum %d; want %d, %d, wire sum %d", len(led), len(ids), ledSum, n, n, wireSum)
	}
}

// TestCloseEndsStreams checks that Close cuts off a stream stalled for
// good, records it, and returns.
func TestCloseEndsStreams(t *testing.T) {
	srv := openroutertest.NewServer(openroutertest.Options{})
	resp := do(t, waitCtx(t), srv.Client(), http.MethodPost, srv.URL+"/chat/completions",
		chatReq("openai/gpt-4o-mini", "hi [sim:stall after=1]", true, nil), "")
	defer resp.Body.Close()
	id := resp.Header.Get("X-Generation-Id")
	r := newSSE(resp.Body)
	for n := 0; n < 1; {
		e, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		if !e.isComment() {
			n++
		}
	}
	srv.Close()
	srv.Close() // idempotent
	g, ok := srv.Generation(id)
	if !ok || !g.Cancelled || g.CompletionTokens != 1 {
		t.Errorf("after Close: %+v, %v", g, ok)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("stream ended cleanly after Close, want a cut-off body")
	}
}

// TestServe checks the standalone helpers: Serve answers until its context
// is cancelled, then returns nil; ListenAndServe rejects a bad address.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- openroutertest.Serve(ctx, ln, openroutertest.Options{}) }()
	c := &http.Client{Transport: &http.Transport{}}
	resp := do(t, waitCtx(t), c, http.MethodGet, "http://"+ln.Addr().String()+"/api/v1/models", nil, "")
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("models: %d", resp.StatusCode)
	}
	c.CloseIdleConnections()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-waitCtx(t).Done():
		t.Fatal("Serve did not return after cancel")
	}

	if err := openroutertest.ListenAndServe(context.Background(), "no-port", openroutertest.Options{}); err == nil {
		t.Error("ListenAndServe(no-port) succeeded")
	}
	bad := openroutertest.Options{TokensPerChunk: -1}
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := openroutertest.Serve(context.Background(), ln2, bad); err == nil {
		t.Error("Serve with invalid options succeeded")
	}
	if _, err := net.Dial("tcp", ln2.Addr().String()); err == nil || errors.Is(err, context.Canceled) {
		t.Error("listener left open after invalid options")
	}
}
