package app

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/config"
	"llmmeter/internal/money"
	"llmmeter/openrouter/openroutertest"
)

// env is one running service on loopback with its simulator, a user key and
// a read handle on the store file.
type env struct {
	t    *testing.T
	app  *App
	base string
	key  string
	db   *sql.DB
	sim  *openroutertest.Server
}

func start(t *testing.T, extraEnv ...string) *env {
	t.Helper()
	vars := map[string]string{}
	for i := 0; i+1 < len(extraEnv); i += 2 {
		vars[extraEnv[i]] = extraEnv[i+1]
	}
	cfg := testConfig(t, vars)
	e := launch(t, cfg, zerolog.Nop(), Options{
		Simulator:      &openroutertest.Options{GenerationDelay: 50 * time.Millisecond, AnswerTokens: 12, NoKeepAliveComments: false},
		PendingGiveUp:  time.Minute,
		GenerationWait: 5 * time.Second,
		Stdout:         io.Discard,
	}, "alice")
	e.openStore(filepath.Join(cfg.DataDir, StoreFile))
	return e
}

// launch starts the service, shuts it down when the test ends, and gives a
// user of that name an API key (e.key); e.sim is the built-in simulator.
func launch(t *testing.T, cfg config.Config, log zerolog.Logger, opt Options, user string) *env {
	t.Helper()
	ctx := context.Background()
	a, err := Start(ctx, cfg, log, opt)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, app: a, base: "http://" + a.Addr(), sim: a.Sim}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		a.Shutdown(sctx)
		if e.db != nil {
			e.db.Close()
		}
	})
	u, _, err := a.Store.EnsureUser(ctx, userInput(user))
	if err != nil {
		t.Fatal(err)
	}
	e.key = issueKey(t, a, u.ID)
	return e
}

// openStore opens the embedded store's file read-only as e.db.
func (e *env) openStore(path string) {
	e.t.Helper()
	db, err := sql.Open("sqlite", path+"?mode=ro")
	if err != nil {
		e.t.Fatal(err)
	}
	e.db = db
}

func (e *env) post(body string, key string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		// Errorf, not Fatal: callers run in goroutines feeding channels, and a
		// Fatal there left the test waiting for an answer until its timeout.
		e.t.Errorf("POST /v1/chat/completions: %v", err)
		return &http.Response{StatusCode: -1, Body: io.NopCloser(strings.NewReader(err.Error()))}
	}
	return res
}

func chatBody(stream bool, text string) string {
	b, _ := json.Marshal(map[string]any{
		"model": "openai/gpt-4o-mini", "stream": stream,
		"messages": []map[string]any{{"role": "user", "content": text}},
	})
	return string(b)
}

// settle waits until the simulator and the gateway are idle and the outbox
// has shipped everything.
func (e *env) settle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.sim.WaitIdle(ctx); err != nil {
		e.t.Fatal(err)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		idle := e.app.Active() == 0 // read first: an idle gateway has put all its rows
		st, err := e.app.Outbox.Stats(ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		if idle && st.Ready+st.Pending == 0 {
			return
		}
		select {
		case <-ctx.Done():
			e.t.Fatalf("outbox never settled: %+v", st)
		case <-tick.C:
		}
	}
}

type usageRow struct {
	gen, status, model    string
	prompt, compl, cached int64
	cost                  money.Nanos
	cancelled             bool
}

func (e *env) usage() map[string]usageRow {
	e.t.Helper()
	rows, err := e.db.Query(`SELECT generationId, costStatus, model, promptTokens, completionTokens, cachedTokens, costNanoUsd, cancelled FROM usageTracking`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]usageRow{}
	for rows.Next() {
		var r usageRow
		if err := rows.Scan(&r.gen, &r.status, &r.model, &r.prompt, &r.compl, &r.cached, &r.cost, &r.cancelled); err != nil {
			e.t.Fatal(err)
		}
		out[r.gen] = r
	}
	return out
}

func (e *env) count(table string) int {
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// matchLedger asserts one usage row per ledger generation, with the
// ledger's tokens and cost to the last nano-dollar.
func (e *env) matchLedger() {
	e.t.Helper()
	ledger := e.sim.Ledger()
	rows := e.usage()
	if len(rows) != len(ledger) {
		e.t.Fatalf("store has %d usage rows, ledger %d generations", len(rows), len(ledger))
	}
	var sumStore, sumLedger money.Nanos
	for _, g := range ledger {
		r, ok := rows[g.ID]
		if !ok {
			e.t.Fatalf("generation %s missing from the store", g.ID)
		}
		if r.prompt != g.PromptTokens || r.compl != g.CompletionTokens || r.cached != g.CachedTokens || r.cost != g.Cost {
			e.t.Errorf("%s: store %d/%d/%d $%s, ledger %d/%d/%d $%s", g.ID, r.prompt, r.compl, r.cached, r.cost, g.PromptTokens, g.CompletionTokens, g.CachedTokens, g.Cost)
		}
		if g.Cost > 0 && r.cost == 0 {
			e.t.Errorf("%s recorded at $0 though the upstream billed $%s", g.ID, g.Cost)
		}
		if r.cancelled != g.Cancelled {
			e.t.Errorf("%s: cancelled %v, ledger %v", g.ID, r.cancelled, g.Cancelled)
		}
		sumStore += r.cost
		sumLedger += g.Cost
	}
	if sumStore != sumLedger {
		e.t.Errorf("cost sum: store %s, ledger %s", sumStore, sumLedger)
	}
}

// sse reads a streamed response into its data payloads.
func sse(t *testing.T, r io.Reader) (data []string) {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, p)
		}
	}
	return data
}

func TestStreamRecordsExactlyTheLedger(t *testing.T) {
	e := start(t)
	res := e.post(chatBody(true, "hello there"), e.key)
	if res.StatusCode != 200 || res.Header.Get("X-Upstream") != "simulator" || !strings.HasPrefix(res.Header.Get("X-Generation-Id"), "gen-") {
		t.Fatalf("status %d, headers %v", res.StatusCode, res.Header)
	}
	data := sse(t, res.Body)
	res.Body.Close()
	if len(data) < 3 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("stream: %q", data)
	}
	var last struct {
		Usage struct {
			Cost json.Number `json:"cost"`
		} `json:"usage"`
	}
	json.Unmarshal([]byte(data[len(data)-2]), &last)
	if last.Usage.Cost == "" {
		t.Fatalf("usage chunk with cost not passed through: %s", data[len(data)-2])
	}
	e.settle()
	e.matchLedger()
	if r := e.usage()[e.sim.Ledger()[0].ID]; r.status != "reported" {
		t.Errorf("cost status %q, want reported", r.status)
	}
	if e.count("requestLogs") != 1 || e.count("userActivity") != 1 {
		t.Fatalf("logs %d, activity %d", e.count("requestLogs"), e.count("userActivity"))
	}
	var user, status, ua string
	var code int
	e.db.QueryRow(`SELECT userId, status, statusCode, COALESCE(userAgent,'') FROM requestLogs`).Scan(&user, &status, &code, &ua)
	if status != "success" || code != 200 || !strings.HasPrefix(user, "u_") {
		t.Fatalf("request log: %s %s %d", user, status, code)
	}
	// The upstream saw our user id, never the caller's claim.
	if g := e.sim.Ledger()[0]; g.User != user {
		t.Fatalf("upstream user %q, want %q", g.User, user)
	}
}

func TestNonStreaming(t *testing.T) {
	e := start(t)
	res := e.post(chatBody(false, "hi"), e.key)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var v struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Usage struct {
			Cost json.Number `json:"cost"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(body, &v); err != nil || res.StatusCode != 200 || v.Usage.Cost == "" ||
		res.Header.Get("Content-Type") != "application/json" || v.Object != "chat.completion" ||
		len(v.Choices) != 1 || v.Choices[0].Message.Content == "" || res.Header.Get("X-Generation-Id") != v.ID {
		t.Fatalf("status %d header %v body %s", res.StatusCode, res.Header, body)
	}
	e.settle()
	e.matchLedger()
}

func TestFaults(t *testing.T) {
	cases := []struct {
		name       string
		text       string
		stream     bool
		wantStatus int
		wantLog    string // request log status
		wantCode   int    // request log status code
		wantUsage  string // usage row cost status, "" for no row
		clientSees string // a substring of the body
	}{
		// A 402 before streaming reaches the client in OpenAI's error shape; no generation, no usage row.
		{"insufficient credits", "[sim:status code=402]", true, 402, "error", 402, "", `"type":"insufficient_quota"`},
		// Moderation keeps its metadata.
		{"moderation", "[sim:status code=403]", false, 403, "error", 403, "", `"metadata"`},
		// Persistent 429 after the bounded retries: 429 with Retry-After.
		{"rate limited", "[sim:status code=429 retry_after=1]", true, 429, "error", 429, "", `"rate_limit_error"`},
		// The upstream fails mid-stream: the client gets the error chunk; the generation record gives the billed figures.
		{"mid-stream error", "[sim:midstream after=3]", true, 200, "error", 502, "confirmed", `"finish_reason":"error"`},
		// A string error code is kept as an error; "server_error" is a 502.
		{"mid-stream error string code", "[sim:midstream after=2 string_code=1]", true, 200, "error", 502, "confirmed", `"error"`},
		// A mid-stream "rate_limit_exceeded" is logged 429 (was 502).
		{"mid-stream rate limit string code", "[sim:midstream after=2 code=429 string_code=1]", true, 200, "error", 429, "confirmed", `"rate_limit_exceeded"`},
		// Plain: the same mid-stream 429 reaches the client as OpenRouter's
		// plain error (HTTP 200, finish_reason "error", the error on the
		// choice) and is logged 429 (was 502 "the provider returned an error").
		{"plain mid-stream 429", "[sim:midstream after=3 code=429]", false, 200, "error", 429, "confirmed", `"finish_reason":"error"`},
		// Plain with the string code: 429 too.
		{"plain mid-stream rate limit string code", "[sim:midstream after=3 code=429 string_code=1]", false, 200, "error", 429, "confirmed", `"code":"rate_limit_exceeded"`},
		// Plain, the upstream drops mid-body: the client gets a 502, and the
		// call, billed upstream, is recorded from /generation (was lost: the
		// plain body never named its generation).
		{"plain abrupt disconnect", "[sim:disconnect after=4]", false, 502, "error", 502, "confirmed", "ended unexpectedly"},
		// Plain without a usage chunk: figures from the generation record.
		{"plain missing usage", "[sim:no_usage]", false, 200, "success", 200, "confirmed", `"object":"chat.completion"`},
		// The upstream connection drops: the client is told, the record comes from /generation.
		{"abrupt disconnect", "[sim:disconnect after=4]", true, 200, "error", 502, "confirmed", "ended unexpectedly"},
		// A short stall then a normal end.
		{"stall", "[sim:stall after=2 ms=100]", true, 200, "success", 200, "reported", "[DONE]"},
		// A malformed line is dropped, the rest passes.
		{"malformed line", "[sim:malformed after=2]", true, 200, "success", 200, "reported", "[DONE]"},
		// No usage chunk: tokens and cost come from the generation record.
		{"missing usage chunk", "[sim:no_usage]", true, 200, "success", 200, "confirmed", "[DONE]"},
		// The earlier usage shape (one choice with an empty delta).
		{"legacy usage chunk", "[sim:legacy_usage]", true, 200, "success", 200, "reported", "[DONE]"},
		// A provider error inside a 200 plain response; no usage came with it.
		{"provider error", "[sim:provider_error]", false, 200, "error", 502, "confirmed", `"error"`},
		// A provider error with code 503 keeps it in the request log (was 502).
		{"provider error 503", "[sim:provider_error code=503]", false, 200, "error", 503, "confirmed", `"finish_reason":"error"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := start(t)
			res := e.post(chatBody(c.stream, "tell me "+c.text), e.key)
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.wantStatus || !strings.Contains(string(body), c.clientSees) {
				t.Fatalf("status %d (want %d), body %s", res.StatusCode, c.wantStatus, body)
			}
			if c.stream && c.wantStatus == 200 && strings.Count(string(body), "{\"id\":\"gen-") == 0 {
				t.Fatalf("no chunks forwarded: %s", body)
			}
			if c.wantStatus == 429 && res.Header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
			if c.wantStatus >= 400 {
				var v struct {
					Error struct{ Message, Type, Code string } `json:"error"`
				}
				if json.Unmarshal(body, &v) != nil || v.Error.Message == "" || v.Error.Type == "" {
					t.Errorf("error body not in OpenAI's shape: %s", body)
				}
			}
			e.settle()
			e.matchLedger()
			var status, msg string
			var code int
			e.db.QueryRow(`SELECT status, statusCode, coalesce(errorMessage, '') FROM requestLogs`).Scan(&status, &code, &msg)
			if status != c.wantLog || code != c.wantCode {
				t.Errorf("request log %s %d, want %s %d", status, code, c.wantLog, c.wantCode)
			}
			if strings.Contains(c.text, "midstream") && msg != "Provider returned error" {
				// The provider's message, plain or streamed, not a generic one.
				t.Errorf("request log message %q", msg)
			}
			rows := e.usage()
			if c.wantUsage == "" {
				if len(rows) != 0 {
					t.Errorf("usage rows for a call that generated nothing: %v", rows)
				}
				return
			}
			for _, r := range rows {
				if r.status != c.wantUsage {
					t.Errorf("cost status %s, want %s", r.status, c.wantUsage)
				}
			}
		})
	}
}

func TestTransientUpstreamErrorIsRetried(t *testing.T) {
	e := start(t)
	e.sim.Enqueue(openroutertest.Fault{Kind: openroutertest.FaultStatus, Status: 503})
	res := e.post(chatBody(true, "retry me"), e.key)
	data := sse(t, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("status %d, %q", res.StatusCode, data)
	}
	e.settle()
	e.matchLedger()
}

// TestClientDisconnectIsStillRecorded: a streaming caller that walks away
// mid-answer (closing its HTTP/1.1 connection, or resetting its HTTP/2
// stream) leaves a 499 request log and the usage OpenRouter billed.
func TestClientDisconnectIsStillRecorded(t *testing.T) {
	for _, proto := range []string{"HTTP/1.1", "h2c"} {
		t.Run(proto, func(t *testing.T) {
			e := start(t)
			c := http.DefaultClient
			if proto == "h2c" {
				tr := h2cTransport()
				defer tr.CloseIdleConnections()
				c = &http.Client{Transport: tr}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", e.base+"/v1/chat/completions", strings.NewReader(chatBody(true, "long answer [sim:tokens n=400] [sim:stall after=5 ms=30000]")))
			req.Header.Set("Authorization", "Bearer "+e.key)
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]int{"HTTP/1.1": 1, "h2c": 2}[proto]; res.ProtoMajor != want {
				t.Fatalf("served over %s", res.Proto)
			}
			// Read the first content chunk, then walk away.
			br := bufio.NewReader(res.Body)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(line, "data: {") {
					break
				}
			}
			cancel()
			res.Body.Close()
			e.walkedAway()
		})
	}
}

// TestPlainClientDisconnectIsStillRecorded: a plain caller that gives up
// while the answer is being generated still leaves a usage row for what
// OpenRouter billed, and a 499 request log. It used to be lost: the plain
// body that would have named the generation never came.
func TestPlainClientDisconnectIsStillRecorded(t *testing.T) {
	e := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.base+"/v1/chat/completions", strings.NewReader(chatBody(false, "long answer [sim:tokens n=400] [sim:stall after=5 ms=30000]")))
	req.Header.Set("Authorization", "Bearer "+e.key)
	done := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	// The generation is under way once its in-flight entry exists.
	waitFor(t, func() bool {
		st, err := e.app.Outbox.Stats(context.Background())
		return err == nil && st.Pending == 1
	})
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the call completed; it should have been cut")
	}
	e.walkedAway()
}

// walkedAway checks what the one call of a client that walked away
// mid-answer (400 tokens asked) left: the generation cancelled upstream,
// its usage as billed, and a 499 request log.
func (e *env) walkedAway() {
	e.t.Helper()
	e.settle()
	e.matchLedger()
	if g := e.sim.Ledger()[0]; !g.Cancelled || g.CompletionTokens >= 400 {
		e.t.Fatalf("ledger: %+v", g)
	}
	var status string
	var code int
	e.db.QueryRow(`SELECT status, statusCode FROM requestLogs`).Scan(&status, &code)
	if status != "error" || code != 499 {
		e.t.Fatalf("request log %s %d", status, code)
	}
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	e := start(t)
	cases := []struct {
		name, body, key string
		status          int
	}{
		{"no credential", chatBody(true, "x"), "", 401},                             // anonymous
		{"unknown key", chatBody(true, "x"), "llm_nope", 401},                       // forged key
		{"not json", "{", e.key, 400},                                               // syntax
		{"no messages", `{"model":"openai/gpt-4o-mini","messages":[]}`, e.key, 400}, // empty
		{"no model", `{"messages":[{"role":"user","content":"x"}]}`, e.key, 400},    // model missing
		{"bad conversation id", `{"model":"m","conversation_id":5,"messages":[{"role":"user","content":"x"}]}`, e.key, 400},
		{"too large", `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("a", 5<<20) + `"}]}`, e.key, 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.post(c.body, c.key)
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var v struct {
				Error struct{ Message, Type, Code string } `json:"error"`
			}
			if res.StatusCode != c.status || json.Unmarshal(body, &v) != nil || v.Error.Message == "" {
				t.Fatalf("status %d body %s", res.StatusCode, body)
			}
		})
	}
	e.settle()
	if n := e.count("requestLogs") + e.count("usageTracking") + e.count("userActivity"); n != 0 {
		t.Fatalf("bad input stored %d rows", n)
	}
	if len(e.sim.Ledger()) != 0 {
		t.Fatal("bad input reached the upstream")
	}
}

func TestManyConcurrentStreams(t *testing.T) {
	e := start(t)
	const n = 300
	errs := make(chan error, n)
	for i := range n {
		go func() {
			res := e.post(chatBody(i%3 != 0, fmt.Sprintf("question %d", i)), e.key)
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || (i%3 != 0 && !bytes.HasSuffix(b, []byte("data: [DONE]\n\n"))) {
				errs <- fmt.Errorf("request %d: %d %s", i, res.StatusCode, b)
				return
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	e.settle()
	if len(e.sim.Ledger()) != n {
		t.Fatalf("ledger has %d generations", len(e.sim.Ledger()))
	}
	e.matchLedger()
	if e.count("requestLogs") != n || e.count("userActivity") != n {
		t.Fatalf("logs %d activity %d", e.count("requestLogs"), e.count("userActivity"))
	}
	t.Logf("%d concurrent requests: %d usage rows, %d request logs, %d activity rows", n, len(e.usage()), e.count("requestLogs"), e.count("userActivity"))
}
