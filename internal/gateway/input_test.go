package gateway

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"llmmeter/internal/outbox"
	"llmmeter/openrouter/openroutertest"
)

// assertNothingHappened: a refused request went nowhere and left no row.
func (h *harness) assertNothingHappened() {
	h.t.Helper()
	if n := len(h.sim.Ledger()); n != 0 {
		h.t.Errorf("%d generations went upstream", n)
	}
	for _, st := range []outbox.State{outbox.Ready, outbox.Pending} {
		if es := h.entries(st); len(es) != 0 {
			h.t.Errorf("%d %s outbox entries", len(es), st)
		}
	}
}

// TestBadBodiesAreRefusedByName: each malformed body gets 400
// invalid_request_error with a message naming the problem, and nothing goes
// upstream or into the outbox. Before the fix a wrong type said only
// "invalid JSON", and a body that was not UTF-8 went upstream.
func TestBadBodiesAreRefusedByName(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name, body, want string
	}{
		// The reported case: a number where the model id goes.
		{"model number", `{"model":42,` + msgs + `}`, "model must be a string"},
		{"models not a list", `{"models":"a/b",` + msgs + `}`, "models must be an array of strings"},
		{"models of numbers", `{"models":[1,2],` + msgs + `}`, "models must be an array of strings"},
		{"messages an object", `{"model":"m","messages":{"role":"user"}}`, "messages must be an array"},
		{"stream a string", `{"model":"m","stream":"yes",` + msgs + `}`, "stream must be a boolean"},
		{"user a number", `{"model":"m","user":7,` + msgs + `}`, "user must be a string"},
		{"provider a list", `{"model":"m","provider":[],` + msgs + `}`, "provider must be an object"},
		// Pass-through parameters the gateway knows are typed too.
		{"max_tokens a string", `{"model":"m","max_tokens":"100",` + msgs + `}`, "max_tokens must be an integer"},
		{"max_tokens a fraction", `{"model":"m","max_tokens":1.5,` + msgs + `}`, "max_tokens must be an integer"},
		{"max_completion_tokens a bool", `{"model":"m","max_completion_tokens":true,` + msgs + `}`, "max_completion_tokens must be an integer"},
		{"n a string", `{"model":"m","n":"2",` + msgs + `}`, "n must be an integer"},
		{"temperature a string", `{"model":"m","temperature":"hot",` + msgs + `}`, "temperature must be a number"},
		{"top_p a list", `{"model":"m","top_p":[1],` + msgs + `}`, "top_p must be a number"},
		{"logprobs a number", `{"model":"m","logprobs":1,` + msgs + `}`, "logprobs must be a boolean"},
		{"stream_options a bool", `{"model":"m","stream_options":true,` + msgs + `}`, "stream_options must be an object"},
		// Every problem is named, one after the other.
		{"two typed problems", `{"model":1,"stream":"x",` + msgs + `}`, "model must be a string; stream must be a boolean"},
		{"null with space", `{"model":"m","max_tokens": "1" ,` + msgs + `}`, "max_tokens must be an integer"},
		// Spellings of a checked parameter that a key-folding upstream reads as it.
		{"Max_Tokens spelling", `{"model":"m","Max_Tokens":100000,` + msgs + `}`, `"Max_Tokens" is not a parameter; field names are case-sensitive (did you mean "max_tokens"?)`},
		{"max_tokens with a Kelvin sign", `{"model":"m","max_toKens":100000,` + msgs + `}`, `(did you mean "max_tokens"?)`},
		{"stream with a long s", `{"model":"m","ſtream":true,` + msgs + `}`, `(did you mean "stream"?)`},
		{"two problems of the messages, on one line", `{"model":"m","messages":[1,2]}`, "messages[0] must be an object; messages[1] must be an object"},
		{"two problems", `{"model":"m","temperature":"x","max_tokens":"y",` + msgs + `}`, "max_tokens must be an integer; temperature must be a number"},
		// Another spelling of a typed field is refused, not smuggled upstream.
		{"Model spelling", `{"model":"m","Model":"other/expensive",` + msgs + `}`, `"Model" is not a parameter; field names are case-sensitive (did you mean "model"?)`},
		{"STREAM spelling", `{"model":"m","STREAM":true,` + msgs + `}`, `"STREAM" is not a parameter`},
		// Syntax errors say where, without echoing the body.
		{"cut short", `{"model":"m",`, "invalid JSON"},
		{"not an object", `[1,2]`, "the body must be a JSON object"},
		// JSON is UTF-8: other bytes never go upstream.
		{"latin-1 byte", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}", "not valid UTF-8"},
		{"invalid byte in a key", "{\"model\":\"m\",\"x\xff\":1," + msgs + "}", "not valid UTF-8"},
		// Structural problems found after decoding.
		{"no messages", `{"model":"m"}`, "messages must not be empty"},
		{"conversation_id a number", `{"model":"m","conversation_id":5,` + msgs + `}`, "conversation_id must be a string"},
		// A model id longer than the stores keep: before the fix it went
		// upstream, and on Convex its request log became a dead outbox entry.
		{"model of 129 bytes", `{"model":"` + strings.Repeat("m", 129) + `",` + msgs + `}`, "model must be at most 128 bytes"},
		{"models entry of 129 bytes", `{"models":["a/b","` + strings.Repeat("m", 129) + `"],` + msgs + `}`, "models[1] must be at most 128 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := h.chat(c.body)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", w.Code, w.Body)
			}
			typ, code, msg := apiErr(t, w)
			if typ != "invalid_request_error" || code != "invalid_request" || !strings.Contains(msg, c.want) {
				t.Fatalf("got %s/%s %q, want a message containing %q", typ, code, msg, c.want)
			}
			if strings.Contains(msg, "invalid JSON") != strings.Contains(c.want, "invalid JSON") {
				t.Fatalf("message %q", msg)
			}
		})
	}
	h.assertNothingHappened()
}

// TestWellTypedParametersPass: each checked parameter with a value of its
// kind is served, and null is "not set", as OpenAI's API takes it.
func TestWellTypedParametersPass(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	for _, params := range []string{
		`"max_tokens" :  null ,"temperature":null`,
		`"max_tokens":64,"seed":-3,"temperature":0.2,"top_p":1,"logprobs":false`,
		`"stream_options":{"include_usage":true},"response_format":{"type":"json_object"},"reasoning":{"effort":"low"},"usage":{"include":true}`,
	} {
		w := h.chat(`{"model":"openai/gpt-4o-mini",` + params + `,"messages":[{"role":"user","content":"hi"}]}`)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", params, w.Code, w.Body)
		}
	}
}

// TestEveryUserSpellingIsStripped: the end-user id OpenRouter sees is ours,
// whatever spelling of "user" the caller adds. Before the fix "USER" was
// forwarded after our "user", and an upstream matching keys without regard
// to case (as the simulator does) took the caller's value.
func TestEveryUserSpellingIsStripped(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	for _, key := range []string{"user", "User", "USER", "uSeR"} {
		t.Run(key, func(t *testing.T) {
			h.sim.Sim().Reset()
			body := `{"model":"openai/gpt-4o-mini","` + key + `":"spoofed","messages":[{"role":"user","content":"hi"}]}`
			if w := h.chat(body); w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			gens := h.sim.Ledger()
			if len(gens) != 1 || gens[0].User != testUser {
				t.Fatalf("upstream saw user %+v, want %q", gens, testUser)
			}
		})
	}
	t.Run("all at once", func(t *testing.T) {
		h.sim.Sim().Reset()
		body := `{"model":"openai/gpt-4o-mini","user":"a","User":"b","USER":"c","messages":[{"role":"user","content":"hi"}]}`
		if w := h.chat(body); w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if gens := h.sim.Ledger(); len(gens) != 1 || gens[0].User != testUser {
			t.Fatalf("upstream saw user %+v", gens)
		}
	})
}

// TestScreenExtraStripsOnlyUser: the screen removes spellings of user and
// leaves every other parameter to pass through untouched.
func TestScreenExtraStripsOnlyUser(t *testing.T) {
	// "u\u017fer" (a long s) is user to a decoder that folds keys as Go's does.
	m := map[string]json.RawMessage{"User": json.RawMessage(`"x"`), "USER": json.RawMessage(`1`), "u\u017fer": json.RawMessage(`"y"`),
		"top_p": json.RawMessage(`0.5`), "x_future": json.RawMessage(`{"a":1}`)}
	if err := screenExtra(m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m["top_p"] == nil || m["x_future"] == nil {
		t.Fatalf("left %v", m)
	}
}

// TestWrongMethodIs405: a known path with a wrong method answers 405 with
// Allow, in OpenAI's error shape; before the fix it was a 404 "Unknown
// endpoint". Unknown paths stay 404.
func TestWrongMethodIs405(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	cases := []struct {
		method, path, allow string
		status              int
	}{
		// The reported case.
		{http.MethodGet, "/v1/chat/completions", "POST", 405},
		{http.MethodPut, "/v1/chat/completions", "POST", 405},
		{http.MethodDelete, "/v1/chat/completions", "POST", 405},
		{http.MethodHead, "/v1/chat/completions", "POST", 405},
		// GET routes take HEAD as well.
		{http.MethodPost, "/v1/models", "GET, HEAD", 405},
		{http.MethodPost, "/healthz", "GET, HEAD", 405},
		{http.MethodDelete, "/readyz", "GET, HEAD", 405},
		{http.MethodPost, "/metrics", "GET, HEAD", 405},
		// An unknown path is still not found, whatever the method.
		{http.MethodGet, "/v1/nope", "", 404},
		{http.MethodPost, "/v1/chat/completions/x", "", 404},
		// The right method is served.
		{http.MethodGet, "/healthz", "", 200},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			w := h.do(c.method, c.path, "")
			if w.Code != c.status || w.Header().Get("Allow") != c.allow {
				t.Fatalf("got %d Allow %q, want %d Allow %q", w.Code, w.Header().Get("Allow"), c.status, c.allow)
			}
			if c.status == 405 && c.method != http.MethodHead {
				typ, code, msg := apiErr(t, w)
				if typ != "invalid_request_error" || code != "method_not_allowed" || !strings.Contains(msg, c.allow) {
					t.Fatalf("body %s", w.Body)
				}
			}
		})
	}
}

// TestUpstreamBodyIsPatched: the request goes upstream as the caller's
// bytes patched (openrouter.PatchRequest): a "user" key spelled with an
// escape or given twice is still replaced by ours, and a plain call whose
// body says stream false twice is served plain, streamed upstream.
func TestUpstreamBodyIsPatched(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	for name, body := range map[string]string{
		"escaped key":    `{"model":"openai/gpt-4o-mini","\u0075ser":"spoofed","messages":[{"role":"user","content":"hi"}]}`,
		"duplicate keys": `{"model":"openai/gpt-4o-mini","user":"a","stream":false,"user":"b","stream":false,"messages":[{"role":"user","content":"hi"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			h.sim.Sim().Reset()
			w := h.chat(body)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
			}
			var res struct{ Object string }
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.Object != "chat.completion" {
				t.Fatalf("not a plain body: %s", w.Body)
			}
			if gens := h.sim.Ledger(); len(gens) != 1 || gens[0].User != testUser {
				t.Fatalf("upstream saw user %+v, want %q", gens, testUser)
			}
		})
	}
}

// TestCompressedBodiesAreRefusedAsSuch: a gzip body was answered "not valid
// UTF-8"; it is now 415 naming the encoding, and nothing happens.
func TestCompressedBodiesAreRefusedAsSuch(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(chatBody(false, "hi")))
	zw.Close()
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", &gz)
	r.Header.Set("Authorization", "Bearer test")
	r.Header.Set("Content-Encoding", "gzip")
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	if w.Code != http.StatusUnsupportedMediaType || !strings.Contains(w.Body.String(), `Content-Encoding \"gzip\" is not supported`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	h.assertNothingHappened()
}
