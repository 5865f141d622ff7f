package app

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// h2cTransport speaks HTTP/2 without TLS (prior knowledge) and nothing
// else: a request the service does not take over HTTP/2 fails.
func h2cTransport() *http.Transport {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Transport{Protocols: &p}
}

// TestH2CClientsAreServed: a client or proxy that speaks HTTP/2 without TLS
// gets streams and plain calls over one connection, each recorded exactly
// as over HTTP/1.1.
func TestH2CClientsAreServed(t *testing.T) {
	e := start(t)
	tr := h2cTransport()
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	const each = 8
	var wg sync.WaitGroup
	for i := range 2 * each {
		stream := i%2 == 0
		wg.Go(func() {
			req, _ := http.NewRequest("POST", e.base+"/v1/chat/completions", strings.NewReader(chatBody(stream, "hello over h2c")))
			req.Header.Set("Authorization", "Bearer "+e.key)
			res, err := c.Do(req)
			if err != nil {
				t.Errorf("h2c call: %v", err)
				return
			}
			defer res.Body.Close()
			if res.ProtoMajor != 2 || res.StatusCode != 200 {
				t.Errorf("stream=%v: %s %d", stream, res.Proto, res.StatusCode)
				return
			}
			if !stream {
				var v struct{ Usage struct{ Cost json.Number } }
				if err := json.NewDecoder(res.Body).Decode(&v); err != nil || v.Usage.Cost == "" {
					t.Errorf("plain answer without its cost: %v", err)
				}
				return
			}
			if data := sse(t, res.Body); len(data) < 3 || data[len(data)-1] != "[DONE]" {
				t.Errorf("stream: %q", data)
			}
		})
	}
	wg.Wait()
	e.settle()
	e.matchLedger()
	var ok int
	e.db.QueryRow(`SELECT count(*) FROM requestLogs WHERE status = 'success' AND statusCode = 200`).Scan(&ok)
	if ok != 2*each || e.count("requestLogs") != 2*each {
		t.Fatalf("%d successful request logs of %d, want %d", ok, e.count("requestLogs"), 2*each)
	}
}

// TestH2COversizedBodyGetsA413: over HTTP/2 the body limit answers 413 in
// OpenAI's shape whether the length is declared or not, and nothing is
// stored or sent upstream.
func TestH2COversizedBodyGetsA413(t *testing.T) {
	e := start(t)
	chat := `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}`
	for _, declared := range []bool{true, false} {
		tr := h2cTransport()
		status, body := postBig(t, tr, e.base+"/v1/chat/completions", e.key, chat, !declared)
		tr.CloseIdleConnections()
		var v struct{ Error struct{ Code string } }
		json.Unmarshal(body, &v)
		if status != 413 || v.Error.Code != "request_too_large" {
			t.Fatalf("declared=%v: %d %s", declared, status, body)
		}
	}
	e.settle()
	if n := len(e.sim.Ledger()); n != 0 {
		t.Fatalf("%d calls went upstream", n)
	}
	if n := e.count("requestLogs"); n != 0 {
		t.Fatalf("%d request logs stored", n)
	}
}
