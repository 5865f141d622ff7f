package openrouter

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const fullRequest = `{
  "model": "anthropic/claude-3.5-sonnet",
  "models": ["anthropic/claude-3.5-sonnet", "openai/gpt-4o"],
  "messages": [
    {"role": "system", "content": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]},
    {"role": "user", "content": "Hi \u00e9 <b>", "name": "u1"}
  ],
  "stream": true,
  "user": "user-42",
  "provider": {"order": ["Anthropic"], "allow_fallbacks": false, "data_collection": "deny"},
  "temperature": 0.7,
  "max_tokens": 1024,
  "transforms": ["middle-out"],
  "usage": {"include": true},
  "stream_options": {"include_usage": true},
  "reasoning": {"effort": "high", "exclude": false},
  "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
  "plugins": [{"id": "web", "max_results": 3}],
  "x_future_param": {"nested": [1, 2.50, null, "s"]}
}`

func TestChatRequestRoundTrip(t *testing.T) {
	var r ChatRequest
	if err := json.Unmarshal([]byte(fullRequest), &r); err != nil {
		t.Fatal(err)
	}
	if r.Model != "anthropic/claude-3.5-sonnet" || len(r.Models) != 2 || len(r.Messages) != 2 || !r.Stream || r.User != "user-42" || len(r.Provider) == 0 {
		t.Fatalf("typed fields: %+v", r)
	}
	if len(r.Extra) != 9 {
		t.Errorf("Extra has %d keys", len(r.Extra))
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var in, back map[string]json.RawMessage
	json.Unmarshal([]byte(fullRequest), &in)
	json.Unmarshal(out, &back)
	if len(in) != len(back) {
		t.Fatalf("keys %d → %d: %s", len(in), len(back), out)
	}
	for k, v := range in {
		if !jsonEquivalent(t, v, back[k]) {
			t.Errorf("%s: %s → %s", k, v, back[k])
		}
	}
	// What goes upstream carries messages and Extra byte for byte
	// (json.Marshal itself compacts a Marshaler's output).
	wire, err := r.marshal(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{`"x_future_param":{"nested": [1, 2.50, null, "s"]}`, `{"role": "user", "content": "Hi \u00e9 <b>", "name": "u1"}`} {
		if !strings.Contains(string(wire), raw) {
			t.Errorf("%s re-encoded: %s", raw, wire)
		}
	}
}

func jsonEquivalent(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func TestChatRequestMarshal(t *testing.T) {
	tests := []struct {
		name   string
		r      ChatRequest
		stream bool
		want   string
	}{
		{
			// Extra keys naming typed fields never reach the wire.
			name: "collisions dropped",
			r: ChatRequest{Model: "m", Messages: []json.RawMessage{json.RawMessage(`{"role":"user","content":"x"}`)},
				Extra: map[string]json.RawMessage{"model": json.RawMessage(`"evil"`), "stream": json.RawMessage(`"yes"`), "top_p": json.RawMessage(`0.9`)}},
			want: `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":false,"top_p":0.9}`,
		},
		{
			// The stream flag is forced by the caller of marshal; empty
			// optional fields are left out; Extra is in key order.
			name: "forced stream",
			r: ChatRequest{Models: []string{"a", "b"}, Messages: []json.RawMessage{json.RawMessage(`{"role":"user"}`)}, Provider: json.RawMessage(`null`),
				Extra: map[string]json.RawMessage{"z": json.RawMessage(`1`), "a": json.RawMessage(`2`)}},
			stream: true,
			want:   `{"models":["a","b"],"messages":[{"role":"user"}],"stream":true,"a":2,"z":1}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.r.marshal(tt.stream)
			if err != nil || string(got) != tt.want {
				t.Errorf("marshal = %s, %v\nwant %s", got, err, tt.want)
			}
		})
	}
	bad := ChatRequest{Model: "m", Messages: []json.RawMessage{json.RawMessage(`{"role":`)}}
	if _, err := json.Marshal(bad); err == nil {
		t.Error("invalid raw message marshalled")
	}
}

func TestChatRequestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		// Not an object at all.
		{"array", `[1]`, "JSON object"},
		// JSON null is not a request either.
		{"null", `null`, "JSON object"},
		// Wrong types are all reported together.
		{"types", `{"model":5,"messages":{},"stream":"yes","provider":"x"}`, "model must be a string\nmessages must be an array\nstream must be a boolean\nprovider must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r ChatRequest
			err := json.Unmarshal([]byte(tt.body), &r)
			if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	msg := func(s string) json.RawMessage { return json.RawMessage(s) }
	user := msg(`{"role":"user","content":"hi"}`)
	tests := []struct {
		name string
		r    ChatRequest
		want []string // problems, in order; nil for valid
	}{
		// A model and a message: valid.
		{"ok", ChatRequest{Model: "m", Messages: []json.RawMessage{user}}, nil},
		// The fallback list alone names the model.
		{"models only", ChatRequest{Models: []string{"a"}, Messages: []json.RawMessage{user}}, nil},
		// Nothing at all: both problems at once.
		{"empty", ChatRequest{}, []string{"model or models is required", "messages must not be empty"}},
		// A blank entry in the fallback list.
		{"blank fallback", ChatRequest{Models: []string{"a", " "}, Messages: []json.RawMessage{user}}, []string{"models[1] must be a non-empty model id"}},
		// Model ids longer than the stores keep (Convex refuses > 128
		// characters): before the fix they went upstream and the request
		// log became a dead outbox entry on Convex.
		{"long model", ChatRequest{Model: strings.Repeat("a", MaxModelID+1), Messages: []json.RawMessage{user}}, []string{"model must be at most 128 bytes"}},
		{"long fallback", ChatRequest{Models: []string{"a", strings.Repeat("é", MaxModelID/2+1)}, Messages: []json.RawMessage{user}}, []string{"models[1] must be at most 128 bytes"}},
		// A control character in a model id (found by hand: a NUL went
		// upstream and into the request log) is refused before either.
		{"model with a NUL", ChatRequest{Model: "openai/gpt\x00-4o", Models: []string{"a", "b\nc"}, Messages: []json.RawMessage{user}},
			[]string{"model must not contain control characters", "models[1] must not contain control characters"}},
		// Exactly the bound is fine.
		{"model at the bound", ChatRequest{Model: strings.Repeat("a", MaxModelID), Models: []string{strings.Repeat("b", MaxModelID)}, Messages: []json.RawMessage{user}}, nil},
		// Each message is checked and named by index.
		{"bad messages", ChatRequest{Model: "m", Messages: []json.RawMessage{
			user, msg(`"hi"`), msg(`{"content":"x"}`), msg(`{"role":7}`), msg(`{"role":""}`), msg(`{"role":null}`), msg(`{"role":"user"`),
			msg(`{"role":"user","content":5}`), msg(`{"role":"user","content":{"text":"x"}}`),
			msg(`{"role":"assistant","content":null}`), msg(`{"role":"user","content":[{"type":"text","text":"x"}]}`), msg(`{"role":"tool"}`),
		}}, []string{
			"messages[1] must be an object", "messages[2] needs a role", "messages[3] role must be a non-empty string",
			"messages[4] role must be a non-empty string", "messages[5] needs a role", "messages[6] is not valid JSON",
			"messages[7] content must be a string, an array of content parts or null",
			"messages[8] content must be a string, an array of content parts or null",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || err.Error() != strings.Join(tt.want, "\n") {
				t.Errorf("Validate =\n%v\nwant\n%s", err, strings.Join(tt.want, "\n"))
			}
		})
	}
	// A flood of bad messages yields a bounded report.
	many := ChatRequest{Model: "m", Messages: make([]json.RawMessage, 1000)}
	for i := range many.Messages {
		many.Messages[i] = json.RawMessage(`1`)
	}
	if n := len(strings.Split(many.Validate().Error(), "\n")); n != maxProblems+1 {
		t.Errorf("%d problems reported", n)
	}
}

// TestOutputLimits: before the fix max_tokens 9223372036854775807 passed
// through and wrapped the quota estimate negative; absurd, negative and
// fractional output limits are now refused, and n is read.
func TestOutputLimits(t *testing.T) {
	user := json.RawMessage(`{"role":"user","content":"hi"}`)
	tests := []struct {
		name    string
		extra   string // the request's other fields, as a JSON object
		max, n  int64
		problem string // "" when valid
	}{
		// Nothing set: no limit asked, one choice.
		{"unset", `{}`, 0, 1, ""},
		// null is unset.
		{"null", `{"max_tokens":null,"n":null}`, 0, 1, ""},
		// The larger of the two names wins (upper bound).
		{"both", `{"max_tokens":500,"max_completion_tokens":700,"n":3}`, 700, 3, ""},
		// The bound itself is allowed.
		{"at the bound", `{"max_tokens":2147483648}`, 1 << 31, 1, ""},
		// The reported attack.
		{"MaxInt64", `{"max_tokens":9223372036854775807}`, 0, 1, "max_tokens must be an integer from 1 to 2147483648"},
		// Past int64: not even parseable.
		{"past int64", `{"max_completion_tokens":99999999999999999999}`, 0, 1, "max_completion_tokens must be an integer from 1 to 2147483648"},
		// Negative, zero, fractional, exponent and string forms.
		{"negative", `{"max_tokens":-1}`, 0, 1, "max_tokens must be an integer from 1 to 2147483648"},
		{"zero", `{"max_tokens":0}`, 0, 1, "max_tokens must be an integer from 1 to 2147483648"},
		{"fraction", `{"max_tokens":500.5}`, 0, 1, "max_tokens must be an integer from 1 to 2147483648"},
		{"exponent", `{"max_tokens":1e3}`, 0, 1, "max_tokens must be an integer from 1 to 2147483648"},
		{"string", `{"max_tokens":"500"}`, 0, 1, "max_tokens must be an integer from 1 to 2147483648"},
		// n is bounded like OpenAI's.
		{"n too big", `{"n":129}`, 0, 1, "n must be an integer from 1 to 128"},
		{"n zero", `{"n":0}`, 0, 1, "n must be an integer from 1 to 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ChatRequest{Model: "m", Messages: []json.RawMessage{user}}
			if err := json.Unmarshal([]byte(tt.extra), &r.Extra); err != nil {
				t.Fatal(err)
			}
			maxTokens, n, _ := r.OutputLimits()
			err := r.Validate()
			switch {
			case tt.problem == "" && err != nil:
				t.Fatalf("Validate = %v", err)
			case tt.problem != "" && (err == nil || err.Error() != tt.problem):
				t.Fatalf("Validate = %v, want %q", err, tt.problem)
			case maxTokens != tt.max || n != tt.n:
				t.Fatalf("OutputLimits = %d, %d; want %d, %d", maxTokens, n, tt.max, tt.n)
			}
		})
	}
}

// TestUserGiven tells a "user" sent as "" from one left out or null.
func TestUserGiven(t *testing.T) {
	for body, want := range map[string]bool{
		`{"user":""}`: true, `{"user":"u1"}`: true, `{"user":null}`: false, `{}`: false,
	} {
		var r ChatRequest
		if err := json.Unmarshal([]byte(body), &r); err != nil || r.UserGiven != want {
			t.Errorf("%s: UserGiven %v (%v), want %v", body, r.UserGiven, err, want)
		}
	}
}
