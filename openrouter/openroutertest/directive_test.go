package openroutertest

import (
	"strings"
	"testing"
	"time"
)

func TestParseDirectives(t *testing.T) {
	intp := func(n int) *int { return &n }
	cases := []struct {
		name   string
		text   string
		fault  *Fault
		tokens *int
		err    string // substring; "" for success
	}{
		// no directive at all
		{name: "none", text: "hello [world]"},
		// status with both keys, seconds
		{name: "status", text: "x [sim:status code=429 retry_after=1] y",
			fault: &Fault{Kind: FaultStatus, Status: 429, RetryAfter: time.Second}},
		// retry_after as a Go duration
		{name: "retry duration", text: "[sim:status code=503 retry_after=1500ms]",
			fault: &Fault{Kind: FaultStatus, Status: 503, RetryAfter: 1500 * time.Millisecond}},
		// disconnect
		{name: "disconnect", text: "[sim:disconnect after=5]", fault: &Fault{Kind: FaultDisconnect, AfterTokens: 5}},
		// stall with ms
		{name: "stall", text: "[sim:stall after=3 ms=500]", fault: &Fault{Kind: FaultStall, AfterTokens: 3, Stall: 500 * time.Millisecond}},
		// midstream with a string code
		{name: "midstream", text: "[sim:midstream after=4 string_code=1]", fault: &Fault{Kind: FaultMidStream, AfterTokens: 4, StringCode: true}},
		// keyless kinds
		{name: "no_usage", text: "[sim:no_usage]", fault: &Fault{Kind: FaultNoUsage}},
		{name: "legacy_usage", text: "[sim:legacy_usage]", fault: &Fault{Kind: FaultLegacyUsage}},
		{name: "malformed", text: "[sim:malformed after=2]", fault: &Fault{Kind: FaultMalformed, AfterTokens: 2}},
		{name: "provider_error", text: "[sim:provider_error code=429 string_code=false]", fault: &Fault{Kind: FaultProviderError, Status: 429}},
		// tokens alone, and with a fault in either order
		{name: "tokens", text: "[sim:tokens n=50]", tokens: intp(50)},
		{name: "tokens and fault", text: "[sim:disconnect after=2] [sim:tokens n=0]", fault: &Fault{Kind: FaultDisconnect, AfterTokens: 2}, tokens: intp(0)},
		// errors
		{name: "empty", text: "[sim:]", err: "missing kind"},
		{name: "unknown kind", text: "[sim:boom]", err: `unknown kind "boom"`},
		{name: "not key=value", text: "[sim:stall after]", err: "not key=value"},
		{name: "empty value", text: "[sim:stall after=]", err: "not key=value"},
		{name: "foreign key", text: "[sim:no_usage after=1]", err: `no key "after"`},
		{name: "repeated key", text: "[sim:stall after=1 after=2]", err: "repeated"},
		{name: "negative", text: "[sim:stall after=-1]", err: "after="},
		{name: "not a number", text: "[sim:status code=abc]", err: "code="},
		{name: "bad bool", text: "[sim:midstream string_code=maybe]", err: "string_code"},
		{name: "bad retry", text: "[sim:status retry_after=soon]", err: "retry_after"},
		{name: "tokens without n", text: "[sim:tokens]", err: "n="},
		{name: "too many tokens", text: "[sim:tokens n=1000000]", err: "n="},
		{name: "two faults", text: "[sim:stall] [sim:malformed]", err: "second fault"},
		{name: "two tokens", text: "[sim:tokens n=1] [sim:tokens n=2]", err: "second tokens"},
		{name: "unterminated", text: "[sim:stall", err: "unterminated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := parseDirectives(c.text)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want it to contain %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (d.fault == nil) != (c.fault == nil) || d.fault != nil && *d.fault != *c.fault {
				t.Errorf("fault %+v, want %+v", d.fault, c.fault)
			}
			if (d.tokens == nil) != (c.tokens == nil) || d.tokens != nil && *d.tokens != *c.tokens {
				t.Errorf("tokens %v, want %v", d.tokens, c.tokens)
			}
		})
	}
}

func TestFaultValidate(t *testing.T) {
	cases := []struct {
		name string
		f    Fault
		ok   bool
	}{
		{"zero", Fault{}, true},                                             // FaultNone is valid
		{"status", Fault{Kind: FaultStatus, Status: 429}, true},             // a normal fault
		{"unknown", Fault{Kind: "explode"}, false},                          // unknown kind
		{"status 200", Fault{Kind: FaultStatus, Status: 200}, false},        // not an error status
		{"negative after", Fault{Kind: FaultStall, AfterTokens: -1}, false}, // negative count
	}
	for _, c := range cases {
		if err := c.f.Validate(); (err == nil) != c.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", c.name, err, c.ok)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	bad := Options{TokensPerSecond: -1, Models: []Model{{ID: "a/b", Provider: "X"}, {ID: "a/b", Provider: "X"}, {}}}
	err := bad.Validate()
	for _, want := range []string{"TokensPerSecond", "duplicate id", "Models[2]: empty ID"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("zero Options: %v", err)
	}
	if err := (Options{Models: DefaultModels()}).Validate(); err != nil {
		t.Errorf("DefaultModels: %v", err)
	}
}
