package openrouter

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestPatchRequest: the body goes upstream as the caller sent it, with
// stream true, our user id, without our own fields, and with only the last
// of duplicate keys; values are copied byte for byte.
func TestPatchRequest(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name, in, user, want string
	}{
		// Members keep their order and bytes; stream and user are appended.
		{"order kept", `{"temperature":0.50,"model":"m",` + msgs + `,"max_tokens":7}`, "u1",
			`{"temperature":0.50,"model":"m",` + msgs + `,"max_tokens":7,"stream":true,"user":"u1"}`},
		// The caller's user, in any case, is replaced by ours.
		{"caller's user replaced", `{"User":"evil","model":"m","user":"claimed","USER":1}`, "u1",
			`{"model":"m","stream":true,"user":"u1"}`},
		// Our fields do not go upstream; the caller's stream flag is overridden.
		{"our fields and stream", `{"conversation_id":"c1","model":"m","message_id":"m1","stream":false}`, "u1",
			`{"model":"m","stream":true,"user":"u1"}`},
		// Keys are compared unescaped: "\u0075ser" is user, "str\u0065am" is stream.
		{"escaped keys", `{"\u0075ser":"evil","str\u0065am":false,"model":"m","conversation\u005fid":"c"}`, "u1",
			`{"model":"m","stream":true,"user":"u1"}`},
		// Escapes, brackets and quotes inside strings do not confuse the scan.
		{"escapes in values", `{"messages":[{"role":"user","content":"a \"q\" }{ ][ \\ \u00e9 ,\"user\":1"}],"stop":["}","\"]"]}`, "u1",
			`{"messages":[{"role":"user","content":"a \"q\" }{ ][ \\ \u00e9 ,\"user\":1"}],"stop":["}","\"]"],"stream":true,"user":"u1"}`},
		// Duplicates keep the last member, the one encoding/json decoded.
		{"duplicates keep the last", `{"max_tokens":1,"model":"a","max_tokens":99999,"model":"b"}`, "u1",
			`{"max_tokens":99999,"model":"b","stream":true,"user":"u1"}`},
		// Whitespace between members goes; within a member it stays.
		{"whitespace", " {\n\t\"model\" :  \"m\" ,\r\n \"n\": [ 1 , 2 ]\n} \n", "u1",
			`{"model" :  "m","n": [ 1 , 2 ],"stream":true,"user":"u1"}`},
		{"empty object", `{ }`, "u1", `{"stream":true,"user":"u1"}`},
		// No user id: no user key at all.
		{"no user", `{"model":"m","user":"x"}`, "", `{"model":"m","stream":true}`},
		// Our id is encoded as a JSON string.
		{"user escaped", `{"model":"m"}`, "u\"1\\<é>", `{"model":"m","stream":true,"user":"u\"1\\\u003cé\u003e"}`},
		// Literals and nested objects.
		{"literals", `{"a":null,"b":true,"c":false,"d":-1.5e3,"e":{"f":{"g":[{}]}}}`, "u",
			`{"a":null,"b":true,"c":false,"d":-1.5e3,"e":{"f":{"g":[{}]}},"stream":true,"user":"u"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := PatchRequest([]byte(c.in), c.user)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
			assertSameMeaning(t, c.in, c.user, got)
		})
	}
}

// assertSameMeaning: the patched body decodes (encoding/json) to what the
// original decodes to, with the patch's changes applied.
func assertSameMeaning(t *testing.T, in, user string, got []byte) {
	t.Helper()
	var want, have map[string]any
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &have); err != nil {
		t.Fatalf("patched body is not JSON: %v", err)
	}
	for k := range want {
		if dropped(k) {
			delete(want, k)
		}
	}
	want["stream"] = true
	if user != "" {
		want["user"] = user
	}
	if !reflect.DeepEqual(want, have) {
		t.Fatalf("meaning changed:\n got  %v\n want %v", have, want)
	}
}

// TestPatchRequestHuge: a body of several MiB (a long conversation) is
// patched in one pass, its content intact.
func TestPatchRequestHuge(t *testing.T) {
	content := strings.Repeat(`long text with \"quotes\" and {braces} [brackets] `, 100_000) // ≈5 MiB
	var b strings.Builder
	b.WriteString(`{"model":"m","messages":[`)
	for i := range 4 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"role":"user","content":"` + content + `"}`)
	}
	b.WriteString(`],"user":"claimed"}`)
	in := b.String()
	got, err := PatchRequest([]byte(in), "u1")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(in, `,"user":"claimed"}`) + `,"stream":true,"user":"u1"}`
	if string(got) != want {
		t.Fatalf("huge body changed (%d bytes, want %d)", len(got), len(want))
	}
}

// TestPatchRequestInvalid: what is not one JSON object is refused (the
// gateway has already answered such bodies 400; this is the backstop).
func TestPatchRequestInvalid(t *testing.T) {
	for _, in := range []string{
		``, `   `, `[1]`, `"s"`, `null`, `{`, `{"a":1`, `{"a" 1}`, `{"a":}`, `{"a":1,}`, `{a:1}`,
		`{"a":1}x`, `{"a":1}{}`, `{"a":"unterminated}`, `{"a":[1,2}`, `{"a":1 "b":2}`,
		// Cut off at every kind of boundary.
		`{"a"`, `{"a" `, `{"a":`, `{"a": `, `{"a":[1`, `{"a":{"b":"c"`, `{"a":1,`, `{"a":"x\`,
	} {
		if got, err := PatchRequest([]byte(in), "u1"); err == nil {
			t.Errorf("%q: got %s, want an error", in, got)
		}
	}
}

// BenchmarkPatchRequest against BenchmarkMarshalRequest: the upstream body
// of a 40 KiB conversation, patched versus encoded again.
func BenchmarkPatchRequest(b *testing.B) {
	body := benchBody()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := PatchRequest(body, "u1"); err != nil {
			b.Fatal(err)
		}
	}
}

// (The gateway decodes the request to validate it either way; only the
// encoding is timed.)
func BenchmarkMarshalRequest(b *testing.B) {
	body := benchBody()
	b.SetBytes(int64(len(body)))
	var r ChatRequest
	if err := json.Unmarshal(body, &r); err != nil {
		b.Fatal(err)
	}
	r.User = "u1"
	for b.Loop() {
		if _, err := r.marshal(true); err != nil {
			b.Fatal(err)
		}
	}
}

func benchBody() []byte {
	var msgs []map[string]string
	for i := range 40 {
		role := []string{"user", "assistant"}[i%2]
		msgs = append(msgs, map[string]string{"role": role, "content": strings.Repeat("Some words of a conversation. ", 33)})
	}
	b, _ := json.Marshal(map[string]any{"model": "openai/gpt-4o-mini", "messages": msgs, "temperature": 0.7, "max_tokens": 512, "conversation_id": "c1"})
	return b
}
