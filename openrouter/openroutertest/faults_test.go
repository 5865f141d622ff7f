package openroutertest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/openrouter/openroutertest"
)

// miniCost prices a one-message request on gpt-4o-mini (150 / 600 nanos
// per token): ceil(runes/4)+4 prompt tokens.
func miniCost(text string, completion int64) money.Nanos {
	prompt := (len([]rune(text))+3)/4 + 4
	return money.Nanos(prompt)*150 + money.Nanos(completion)*600
}

// directiveKind is the kind named by the first directive in text.
func directiveKind(text string) openroutertest.FaultKind {
	_, rest, _ := strings.Cut(text, "[sim:")
	return openroutertest.FaultKind(strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' || r == ']' })[0])
}

// TestStreamFaults drives each fault through the queue and through a
// directive and checks the wire and the ledger.
func TestStreamFaults(t *testing.T) {
	type ledgerWant struct {
		entries    int // 0: no generation at all
		completion int64
		finish     string
		cancelled  bool
	}
	cases := []struct {
		name      string
		fault     openroutertest.Fault // enqueued, if Kind is set
		directive string               // else the message text
		check     func(t *testing.T, res streamResult)
		ledger    ledgerWant
	}{
		// 429 before streaming, Retry-After in whole seconds, rate-limit metadata.
		{name: "status 429", fault: openroutertest.Fault{Kind: openroutertest.FaultStatus, Status: 429, RetryAfter: 2 * time.Second},
			check: func(t *testing.T, res streamResult) {
				e := statusError(t, res, 429)
				if res.resp.Header.Get("Retry-After") != "2" || e.Metadata["headers"] == nil {
					t.Errorf("Retry-After %q metadata %v", res.resp.Header.Get("Retry-After"), e.Metadata)
				}
			}},
		// the same through a directive
		{name: "status 429 directive", directive: "hi [sim:status code=429 retry_after=1]",
			check: func(t *testing.T, res streamResult) {
				statusError(t, res, 429)
				if res.resp.Header.Get("Retry-After") != "1" {
					t.Errorf("Retry-After %q", res.resp.Header.Get("Retry-After"))
				}
			}},
		// 503 rounds a fractional Retry-After up
		{name: "status 503", fault: openroutertest.Fault{Kind: openroutertest.FaultStatus, Status: 503, RetryAfter: 1500 * time.Millisecond},
			check: func(t *testing.T, res streamResult) {
				e := statusError(t, res, 503)
				if res.resp.Header.Get("Retry-After") != "2" || e.Metadata["provider_name"] != "OpenAI" {
					t.Errorf("Retry-After %q metadata %v", res.resp.Header.Get("Retry-After"), e.Metadata)
				}
			}},
		// 403 moderation metadata
		{name: "status 403", directive: "bad words [sim:status code=403]",
			check: func(t *testing.T, res streamResult) {
				e := statusError(t, res, 403)
				m := e.Metadata
				if rs, _ := m["reasons"].([]any); len(rs) == 0 || m["flagged_input"] != "bad words [sim:status code=403]" ||
					m["provider_name"] != "OpenAI" || m["model_slug"] != "openai/gpt-4o-mini" {
					t.Errorf("metadata %v", m)
				}
			}},
		// 402 and its message, no Retry-After
		{name: "status 402", fault: openroutertest.Fault{Kind: openroutertest.FaultStatus, Status: 402, RetryAfter: time.Second},
			check: func(t *testing.T, res streamResult) {
				e := statusError(t, res, 402)
				if !strings.Contains(e.Message, "credits") || res.resp.Header.Get("Retry-After") != "" {
					t.Errorf("message %q Retry-After %q", e.Message, res.resp.Header.Get("Retry-After"))
				}
			}},
		// mid-stream error after 4 tokens: numeric code, finish "error", no usage, no [DONE]
		{name: "midstream", fault: openroutertest.Fault{Kind: openroutertest.FaultMidStream, AfterTokens: 4},
			check: func(t *testing.T, res streamResult) {
				c := endsWithError(t, res, 4)
				if c.Error.Code != json.Number("502") && c.Error.Code != float64(502) {
					t.Errorf("code %#v, want 502", c.Error.Code)
				}
			}, ledger: ledgerWant{1, 4, "error", false}},
		// the same with a string code, through a directive
		{name: "midstream string code directive", directive: "hi [sim:midstream after=4 string_code=1]",
			check: func(t *testing.T, res streamResult) {
				if c := endsWithError(t, res, 4); c.Error.Code != "server_error" {
					t.Errorf("code %#v, want \"server_error\"", c.Error.Code)
				}
			}, ledger: ledgerWant{1, 4, "error", false}},
		// AfterTokens past the answer is clamped to before the last content chunk
		{name: "midstream clamped", fault: openroutertest.Fault{Kind: openroutertest.FaultMidStream, AfterTokens: 99},
			check:  func(t *testing.T, res streamResult) { endsWithError(t, res, 19) },
			ledger: ledgerWant{1, 19, "error", false}},
		// provider error: the first chunk already fails, nothing billed
		{name: "provider error", fault: openroutertest.Fault{Kind: openroutertest.FaultProviderError, Message: "overloaded"},
			check: func(t *testing.T, res streamResult) {
				if c := endsWithError(t, res, 0); c.Error.Message != "overloaded" {
					t.Errorf("message %q", c.Error.Message)
				}
			}, ledger: ledgerWant{1, 0, "error", false}},
		// disconnect after 5 tokens: the body ends without its terminating chunk
		{name: "disconnect", directive: "hi [sim:disconnect after=5]",
			check: func(t *testing.T, res streamResult) {
				if !errors.Is(res.readErr, io.ErrUnexpectedEOF) {
					t.Errorf("read error %v, want unexpected EOF", res.readErr)
				}
				if n := len(res.chunks()); n != 5 {
					t.Errorf("%d chunks, want 5", n)
				}
			}, ledger: ledgerWant{1, 5, "", true}},
		// a short stall, then a normal end
		{name: "stall", directive: "hi [sim:stall after=3 ms=30]",
			check:  func(t *testing.T, res streamResult) { endsNormally(t, res, 20, false) },
			ledger: ledgerWant{1, 20, "stop", false}},
		// one truncated data line after 2 tokens, then a normal end
		{name: "malformed", fault: openroutertest.Fault{Kind: openroutertest.FaultMalformed, AfterTokens: 2},
			check: func(t *testing.T, res streamResult) {
				endsNormally(t, res, 20, false)
				var bad []int
				for i, d := range res.data() {
					if d != "[DONE]" && !json.Valid([]byte(d)) {
						bad = append(bad, i)
					}
				}
				if len(bad) != 1 || bad[0] != 2 || !strings.HasPrefix(res.data()[2], `{"id":"gen-`) {
					t.Errorf("malformed data events at %v, want [2]", bad)
				}
			}, ledger: ledgerWant{1, 20, "stop", false}},
		// no usage chunk, still [DONE]; the ledger keeps the usage
		{name: "no usage", directive: "hi [sim:no_usage]",
			check: func(t *testing.T, res streamResult) {
				endsNormally(t, res, 20, false)
				if _, ok := res.usageChunk(); ok {
					t.Error("usage chunk sent")
				}
			}, ledger: ledgerWant{1, 20, "stop", false}},
		// legacy usage: one choice with an empty delta
		{name: "legacy usage", fault: openroutertest.Fault{Kind: openroutertest.FaultLegacyUsage},
			check: func(t *testing.T, res streamResult) {
				endsNormally(t, res, 20, true)
				d := res.data()[20]
				if !strings.Contains(d, `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]`) {
					t.Errorf("legacy usage chunk %s", d)
				}
			}, ledger: ledgerWant{1, 20, "stop", false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, openroutertest.Options{})
			if c.fault.Kind != "" {
				srv.Enqueue(c.fault)
			}
			text := c.directive
			if text == "" {
				text = "hi"
			}
			res := stream(t, srv, chatReq("openai/gpt-4o-mini", text, true, nil))
			c.check(t, res)
			led := srv.Ledger()
			if len(led) != c.ledger.entries {
				t.Fatalf("ledger has %d entries, want %d", len(led), c.ledger.entries)
			}
			if c.ledger.entries == 0 {
				return
			}
			g := led[0]
			wantCost := miniCost(text, c.ledger.completion)
			if c.fault.Kind == openroutertest.FaultProviderError {
				wantCost = 0
			}
			wantKind := c.fault.Kind
			if wantKind == "" {
				wantKind = directiveKind(text)
			}
			if g.CompletionTokens != c.ledger.completion || g.FinishReason != c.ledger.finish ||
				g.Cancelled != c.ledger.cancelled || g.Cost != wantCost || g.Fault != wantKind {
				t.Errorf("ledger %+v, want %+v cost %d fault %q", g, c.ledger, wantCost, wantKind)
			}
			if uc, ok := res.usageChunk(); ok && usdOf(t, uc.Usage.Cost) != g.Cost {
				t.Errorf("wire cost %s, ledger %d", uc.Usage.Cost, g.Cost)
			}
		})
	}
}

// statusError checks an HTTP error response and returns its error object.
func statusError(t *testing.T, res streamResult, status int) *wireError {
	t.Helper()
	var b errorBody
	if res.resp.StatusCode != status || json.Unmarshal(res.body, &b) != nil || b.Error == nil ||
		b.Error.Code != float64(status) || b.Error.Message == "" {
		t.Fatalf("status %d body %s, want %d in OpenRouter's error shape", res.resp.StatusCode, res.body, status)
	}
	return b.Error
}

// endsWithError checks n content chunks then an error chunk with
// finish_reason "error" as the last event: no usage, no [DONE].
func endsWithError(t *testing.T, res streamResult, n int) chunk {
	t.Helper()
	if res.readErr != nil || res.resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d read %v", res.resp.StatusCode, res.readErr)
	}
	cs := res.chunks()
	data := res.data()
	if len(cs) != n+1 || len(data) != n+1 {
		t.Fatalf("%d chunks, %d data events; want %d content + 1 error", len(cs), len(data), n)
	}
	last := cs[n]
	if last.Error == nil || len(last.Choices) != 1 || *last.Choices[0].FinishReason != "error" || last.Usage != nil {
		t.Fatalf("last chunk %s", data[n])
	}
	if last.Error.Metadata["provider_name"] != "OpenAI" {
		t.Errorf("error metadata %v", last.Error.Metadata)
	}
	return last
}

// endsNormally checks n content tokens, then usage (if legacy, one
// choice) and [DONE].
func endsNormally(t *testing.T, res streamResult, n int, legacy bool) {
	t.Helper()
	if res.readErr != nil {
		t.Fatalf("read %v", res.readErr)
	}
	if got := len(strings.Fields(res.content())); got != n {
		t.Errorf("%d content tokens, want %d", got, n)
	}
	data := res.data()
	if data[len(data)-1] != "[DONE]" {
		t.Errorf("last event %q, want [DONE]", data[len(data)-1])
	}
	if uc, ok := res.usageChunk(); ok && (len(uc.Choices) == 1) != legacy {
		t.Errorf("usage chunk choices %+v, legacy %v", uc.Choices, legacy)
	}
}

// TestEnqueuedFaultWins checks the queue's precedence and order: an
// enqueued fault beats a directive, each fault serves one request, and a
// request rejected with 400 does not consume one.
func TestEnqueuedFaultWins(t *testing.T) {
	srv := newServer(t, openroutertest.Options{})
	srv.Enqueue(openroutertest.Fault{Kind: openroutertest.FaultNoUsage},
		openroutertest.Fault{Kind: openroutertest.FaultStatus, Status: 408})
	if res := stream(t, srv, chatReq("no/such-model", "hi", true, nil)); res.resp.StatusCode != 400 {
		t.Fatalf("status %d, want 400", res.resp.StatusCode)
	}
	res := stream(t, srv, chatReq("openai/gpt-4o-mini", "hi [sim:midstream after=1]", true, nil))
	if _, ok := res.usageChunk(); ok || res.data()[len(res.data())-1] != "[DONE]" {
		t.Errorf("first request: want the enqueued no_usage fault, got %v", res.data())
	}
	if res := stream(t, srv, chatReq("openai/gpt-4o-mini", "hi", true, nil)); res.resp.StatusCode != 408 {
		t.Errorf("second request: status %d, want 408", res.resp.StatusCode)
	}
	// Queue empty: the directive applies again.
	endsWithError(t, stream(t, srv, chatReq("openai/gpt-4o-mini", "hi [sim:midstream after=1]", true, nil)), 1)
	// Reset empties the queue and the ledger.
	srv.Enqueue(openroutertest.Fault{Kind: openroutertest.FaultStatus, Status: 502})
	srv.Reset()
	if res := stream(t, srv, chatReq("openai/gpt-4o-mini", "hi", true, nil)); res.resp.StatusCode != 200 {
		t.Errorf("after Reset: status %d", res.resp.StatusCode)
	}
	if n := len(srv.Ledger()); n != 1 {
		t.Errorf("after Reset: ledger has %d entries, want 1", n)
	}
}

// TestNonStreamFaults checks the non-streaming form of the faults.
func TestNonStreamFaults(t *testing.T) {
	cases := []struct {
		name       string
		directive  string
		check      func(t *testing.T, status int, body []byte, err error)
		completion int64
		cancelled  bool
	}{
		// 200 with the partial text, finish "error" and the error on the choice, no usage
		{name: "midstream", directive: "[sim:midstream after=3]", completion: 3,
			check: func(t *testing.T, status int, body []byte, err error) {
				var c completion
				if status != 200 || json.Unmarshal(body, &c) != nil || c.Usage != nil ||
					*c.Choices[0].FinishReason != "error" || c.Choices[0].Error == nil ||
					len(strings.Fields(c.Choices[0].Message.Content)) != 3 {
					t.Errorf("status %d body %s", status, body)
				}
			}},
		// 200 with finish "error" and no usage, as the stream's error chunk
		{name: "provider error", directive: "[sim:provider_error code=503 string_code=true]", completion: 0,
			check: func(t *testing.T, status int, body []byte, err error) {
				var c completion
				if status != 200 || json.Unmarshal(body, &c) != nil || c.Usage != nil ||
					*c.Choices[0].FinishReason != "error" || c.Choices[0].Error.Code != "service_unavailable" {
					t.Errorf("status %d body %s", status, body)
				}
			}},
		// the connection drops before any response
		{name: "disconnect", directive: "[sim:disconnect after=7]", completion: 7, cancelled: true,
			check: func(t *testing.T, status int, body []byte, err error) {
				if err == nil {
					t.Errorf("status %d body %s, want a transport error", status, body)
				}
			}},
		// the body is cut short
		{name: "malformed", directive: "[sim:malformed]", completion: 20,
			check: func(t *testing.T, status int, body []byte, err error) {
				if status != 200 || json.Valid(body) {
					t.Errorf("status %d body %s, want truncated JSON", status, body)
				}
			}},
		// no "usage" field
		{name: "no usage", directive: "[sim:no_usage]", completion: 20,
			check: func(t *testing.T, status int, body []byte, err error) {
				var c completion
				if status != 200 || json.Unmarshal(body, &c) != nil || c.Usage != nil {
					t.Errorf("status %d body %s", status, body)
				}
			}},
	}
	srv := newServer(t, openroutertest.Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// "hi " + directive, padded: the prompt length does not matter here.
			body := chatReq("openai/gpt-4o-mini", "hi "+c.directive, false, nil)
			j, _ := json.Marshal(body)
			req, _ := http.NewRequestWithContext(waitCtx(t), http.MethodPost, srv.URL+"/chat/completions", strings.NewReader(string(j)))
			resp, err := srv.Client().Do(req)
			var status int
			var raw []byte
			if err == nil {
				status = resp.StatusCode
				raw, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			c.check(t, status, raw, err)
			led := srv.Ledger()
			g := led[len(led)-1]
			if g.CompletionTokens != c.completion || g.Cancelled != c.cancelled || g.Stream {
				t.Errorf("ledger %+v, want completion %d cancelled %v", g, c.completion, c.cancelled)
			}
		})
	}
}
