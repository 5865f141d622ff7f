package openroutertest_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"

	"llmmeter/openrouter/openroutertest"
)

// TestLedgerOverHTTP: a simulator run by Serve answers GET /_ledger with
// every finished generation, its tokens and its cost in integer nanos equal
// to what the client was billed on the wire, and nothing in flight once
// the responses have ended. Other methods get 405.
func TestLedgerOverHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- openroutertest.Serve(ctx, ln, openroutertest.Options{}) }()
	defer func() { cancel(); <-done }()
	base := "http://" + ln.Addr().String()
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()

	var billed []usage
	for i, stream := range []bool{false, true} {
		resp := do(t, waitCtx(t), c, http.MethodPost, base+"/api/v1/chat/completions",
			chatReq("openai/gpt-4o-mini", "hello [sim:tokens n=5]", stream, map[string]any{"user": "u1"}), "")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
		if !stream {
			var v struct{ Usage usage }
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			billed = append(billed, v.Usage)
		}
	}

	resp := do(t, waitCtx(t), c, http.MethodGet, base+openroutertest.LedgerPath, nil, "")
	var l openroutertest.LedgerJSON
	err = json.NewDecoder(resp.Body).Decode(&l)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /_ledger: %d %v", resp.StatusCode, err)
	}
	if len(l.Generations) != 2 || l.InFlight != 0 {
		t.Fatalf("ledger: %+v", l)
	}
	g := l.Generations[0]
	wantCost := usdOf(t, billed[0].Cost)
	if g.Stream || g.User != "u1" || g.CompletionTokens != 5 || g.PromptTokens != billed[0].PromptTokens || g.CostNanoUsd != int64(wantCost) || g.ID == "" {
		t.Errorf("plain generation %+v, billed %+v", g, billed[0])
	}
	if !l.Generations[1].Stream || l.Generations[1].FinishReason != "stop" {
		t.Errorf("streamed generation %+v", l.Generations[1])
	}

	resp = do(t, waitCtx(t), c, http.MethodPost, base+openroutertest.LedgerPath, "{}", "")
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /_ledger: %d", resp.StatusCode)
	}
}

// TestFaultRate: with FaultRate 1 every request without a directive gets a
// fault from RandomFaults (seen as an error status, or a fault recorded in
// the ledger); a fault directive still wins; FaultRate 0 injects nothing;
// a rate outside 0..1 is invalid.
func TestFaultRate(t *testing.T) {
	srv := newServer(t, openroutertest.Options{FaultRate: 1})
	const n = 30
	faulted := 0
	for range n {
		r := stream(t, srv, chatReq("openai/gpt-4o-mini", "hi", true, nil))
		if r.resp.StatusCode != 200 {
			faulted++
		}
	}
	for _, g := range srv.Ledger() {
		if g.Fault != openroutertest.FaultNone {
			faulted++
		}
	}
	if faulted != n {
		t.Errorf("%d of %d requests faulted at FaultRate 1", faulted, n)
	}
	srv.Reset()
	r := stream(t, srv, chatReq("openai/gpt-4o-mini", "hi [sim:no_usage]", true, nil))
	if g := srv.Ledger(); r.resp.StatusCode != 200 || len(g) != 1 || g[0].Fault != openroutertest.FaultNoUsage {
		t.Errorf("directive under FaultRate: %d %+v", r.resp.StatusCode, g)
	}

	calm := newServer(t, openroutertest.Options{})
	for range 5 {
		stream(t, calm, chatReq("openai/gpt-4o-mini", "hi", true, nil))
	}
	for _, g := range calm.Ledger() {
		if g.Fault != openroutertest.FaultNone {
			t.Errorf("fault %q at FaultRate 0", g.Fault)
		}
	}
	for _, bad := range []float64{-0.1, 1.5} {
		if err := (openroutertest.Options{FaultRate: bad}).Validate(); err == nil {
			t.Errorf("FaultRate %g accepted", bad)
		}
	}
}
