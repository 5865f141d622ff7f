package app

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/auth"
	"llmmeter/openrouter/openroutertest"
)

// TestShutdownFinishesItsWork: calls still open at the shutdown deadline
// are cut, told so (a 503 for plain calls, an error chunk for streams), and
// recorded; their generations are resolved from OpenRouter's records and
// delivered before Shutdown returns, so a replica whose disk is discarded
// at exit loses nothing. Each request log says 503 service_shutdown. Half
// the callers speak HTTP/1.1, half HTTP/2 (h2c) over one connection.
func TestShutdownFinishesItsWork(t *testing.T) {
	cfg := testConfig(t, nil)
	ctx := context.Background()
	a, err := Start(ctx, cfg, zerolog.Nop(), Options{
		Simulator:      &openroutertest.Options{GenerationDelay: 50 * time.Millisecond, AnswerTokens: 12},
		GenerationWait: 5 * time.Second, Stdout: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, app: a, base: "http://" + a.Addr(), sim: a.Sim}
	u, _, err := a.Store.EnsureUser(ctx, userInput("sam"))
	if err != nil {
		t.Fatal(err)
	}
	if e.key, _, err = auth.IssueKey(ctx, a.Store, u.ID, "test", false); err != nil {
		t.Fatal(err)
	}

	const each = 5
	type answer struct {
		stream bool
		status int
		body   string
	}
	answers := make(chan answer, 4*each)
	h2c := &http.Client{Transport: h2cTransport()}
	var wg sync.WaitGroup
	for i := range 4 * each {
		stream, c, proto := i%2 == 0, http.DefaultClient, 1
		if i%4 >= 2 {
			c, proto = h2c, 2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Stalls after 3 tokens for far longer than the shutdown deadline.
			req, _ := http.NewRequest("POST", e.base+"/v1/chat/completions", strings.NewReader(chatBody(stream, "[sim:stall after=3 ms=60000]")))
			req.Header.Set("Authorization", "Bearer "+e.key)
			res, err := c.Do(req)
			if err != nil {
				answers <- answer{stream: stream, status: -1, body: err.Error()}
				return
			}
			if res.ProtoMajor != proto {
				t.Errorf("served over %s, want HTTP/%d", res.Proto, proto)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			answers <- answer{stream, res.StatusCode, string(body)}
		}()
	}
	waitFor(t, func() bool { return a.Sim.InFlight() == 4*each })

	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(answers)
	for ans := range answers {
		switch {
		case ans.stream && (ans.status != 200 || !strings.Contains(ans.body, `"code":503`) || strings.Contains(ans.body, "[DONE]")):
			t.Errorf("stream cut by shutdown: %d %s", ans.status, ans.body)
		case !ans.stream && (ans.status != 503 || !strings.Contains(ans.body, "service_shutdown")):
			t.Errorf("plain call cut by shutdown: %d %s", ans.status, ans.body)
		}
	}

	// Everything is in the store already: read it with the service gone.
	if e.db, err = sql.Open("sqlite", filepath.Join(cfg.DataDir, StoreFile)+"?mode=ro"); err != nil {
		t.Fatal(err)
	}
	defer e.db.Close()
	e.matchLedger()
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM requestLogs WHERE statusCode = 503 AND errorType = 'service_shutdown'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 4*each {
		t.Fatalf("%d request logs say 503 service_shutdown, want %d", n, 4*each)
	}
}
