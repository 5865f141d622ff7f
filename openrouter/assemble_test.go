package openrouter

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the assembler's golden .json files")

// assembleFile reads an .sse capture through Stream, as the gateway does
// (Stream.Assemble: the stream's decode folded), and checks that Add fed
// the same data events assembles the same bytes.
func assembleFile(t *testing.T, path string) ([]byte, Summary) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := streamFrom(f, nil)
	var a, folded Assembler
	s.Assemble(&folded)
	for {
		ev, err := s.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("stream: %v", err)
			}
			break
		}
		if ev.Kind == EventData && !ev.Malformed {
			if err := a.Add(ev.Raw); err != nil {
				t.Fatalf("Add: %v", err)
			}
		}
	}
	if got, want := folded.Bytes(), a.Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("%s: Stream.Assemble gave\n%s\nAdd gave\n%s", path, got, want)
	}
	return folded.Bytes(), s.Summary()
}

// TestAssembleGolden: a stream folded into OpenRouter's plain
// chat.completion body, compared byte for byte with testdata/assemble.
func TestAssembleGolden(t *testing.T) {
	cases := []struct {
		name   string
		finish string // the assembled choice's finish_reason
		errMsg string // the choice's error message, if it failed
	}{
		// Plain text over several chunks with keep-alive comments, HTML
		// characters, escapes and a surrogate pair; system_fingerprint
		// kept; usage from today's usage chunk with "choices": [].
		{name: "text", finish: "stop"},
		// The older usage chunk carrying one choice with an empty delta and
		// finish_reason null: "length"/"max_tokens" survive it.
		{name: "legacy_usage", finish: "length"},
		// One tool call whose arguments arrive in fragments; content null
		// in the deltas gives "" in the message.
		{name: "tool_calls", finish: "tool_calls"},
		// Two tool calls streamed in parallel (index 0 and 1, interleaved
		// fragments in one delta), after some text.
		{name: "parallel_tool_calls", finish: "tool_calls"},
		// Reasoning text concatenated; reasoning_details fragments merged
		// by index and type, the encrypted one kept apart.
		{name: "reasoning", finish: "stop"},
		// usage.cost null (BYOK) is copied as null, details verbatim.
		{name: "cost_null", finish: "stop"},
		// A mid-stream error with a numeric code 429: HTTP 200 with the
		// partial content, finish_reason "error" and the error object on
		// the choice; no usage, none was sent.
		{name: "error_429", finish: "error", errMsg: "Rate limit exceeded: too many requests"},
		// The same with a string code, "rate_limit_exceeded", and a null
		// native_finish_reason kept null.
		{name: "error_rate_limit_string", finish: "error", errMsg: "Provider is rate limited"},
		// A provider error before any content: still HTTP 200 (the stream
		// had begun), an empty message and the error on the choice.
		{name: "provider_error", finish: "error", errMsg: "Provider returned error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := filepath.Join("testdata", "assemble", c.name)
			got, sum := assembleFile(t, base+".sse")
			if *update {
				if err := os.WriteFile(base+".json", append(bytes.Clone(got), '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(base + ".json")
			if err != nil {
				t.Fatal(err)
			}
			if want = bytes.TrimSuffix(want, []byte("\n")); !bytes.Equal(got, want) {
				t.Fatalf("assembled\n%s\nwant\n%s", got, want)
			}
			// The body decodes as a plain response and tells the same story
			// as the stream's own summary.
			var r ChatResponse
			if err := json.Unmarshal(got, &r); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			var plain Summary
			plain.observeResponse(&r)
			if plain.GenerationID != sum.GenerationID || plain.Model != sum.Model || plain.Provider != sum.Provider ||
				plain.FinishReason != c.finish || sum.FinishReason != c.finish || plain.CompletionChars != sum.CompletionChars {
				t.Errorf("plain summary %+v, stream summary %+v", plain, sum)
			}
			if !reflect.DeepEqual(sum.Usage, plain.Usage) {
				t.Errorf("usage: plain %+v, stream %+v", plain.Usage, sum.Usage)
			}
			switch {
			case c.errMsg == "" && (plain.Err != nil || sum.Err != nil):
				t.Errorf("unexpected error: plain %v, stream %v", plain.Err, sum.Err)
			case c.errMsg != "" && (plain.Err == nil || plain.Err.Message != c.errMsg || sum.Err == nil || !reflect.DeepEqual(plain.Err, sum.Err)):
				t.Errorf("error: plain %v, stream %v, want %q", plain.Err, sum.Err, c.errMsg)
			}
		})
	}
}

// TestAssembleNothing: a stream without chunks assembles nothing and says so.
func TestAssembleNothing(t *testing.T) {
	var a Assembler
	if err := a.Add([]byte(`[1]`)); err == nil || a.Chunks() != 0 {
		t.Fatalf("Add of a non-object: err %v, chunks %d", err, a.Chunks())
	}
}

// TestAssembleEdges: shapes that the captures do not show but providers
// send, each assembled from inline payloads.
func TestAssembleEdges(t *testing.T) {
	const env = `"id":"gen-1","provider":"P","model":"m","object":"chat.completion.chunk","created":1`
	cases := []struct {
		name   string
		chunks []string
		want   string
	}{
		{
			// Tool-call fragments without "index": an id starts a call,
			// fragments without one continue the last call.
			name: "tool calls without index",
			chunks: []string{
				`{` + env + `,"choices":[{"delta":{"tool_calls":[{"id":"c1","type":"function","function":{"name":"a","arguments":"{"}}]}}]}`,
				`{` + env + `,"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"}"}}]}}]}`,
				`{` + env + `,"choices":[{"delta":{"tool_calls":[{"id":"c2","type":"function","function":{"name":"b","arguments":"[]"}}]},"finish_reason":"tool_calls"}]}`,
			},
			want: `{"id":"gen-1","provider":"P","model":"m","object":"chat.completion","created":1,"choices":[{"logprobs":null,"finish_reason":"tool_calls","native_finish_reason":null,"index":0,"message":{"role":"assistant","content":"","refusal":null,"reasoning":null,"tool_calls":[{"type":"function","index":0,"id":"c1","function":{"name":"a","arguments":"{}"}},{"type":"function","index":1,"id":"c2","function":{"name":"b","arguments":"[]"}}]}}]}`,
		},
		{
			// A field of the wrong type is skipped, not the whole chunk: the
			// finish_reason beside it survives.
			name: "wrong type",
			chunks: []string{
				`{` + env + `,"choices":[{"index":0,"delta":{"role":"assistant","content":"hi"}}]}`,
				`{` + env + `,"choices":[{"index":0,"delta":{"content":5},"finish_reason":"stop"}]}`,
			},
			want: `{"id":"gen-1","provider":"P","model":"m","object":"chat.completion","created":1,"choices":[{"logprobs":null,"finish_reason":"stop","native_finish_reason":null,"index":0,"message":{"role":"assistant","content":"hi","refusal":null,"reasoning":null}}]}`,
		},
		{
			// n=2: choices kept apart by index, in order of appearance;
			// logprobs token lists concatenated; a refusal kept.
			name: "two choices",
			chunks: []string{
				`{` + env + `,"choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":[{"token":"a"}]}},{"index":1,"delta":{"refusal":"no"}}]}`,
				`{` + env + `,"choices":[{"index":0,"delta":{"content":"b"},"logprobs":{"content":[{"token":"b"}]},"finish_reason":"stop"},{"index":1,"delta":{},"finish_reason":"stop"}]}`,
			},
			want: `{"id":"gen-1","provider":"P","model":"m","object":"chat.completion","created":1,"choices":[{"logprobs":{"content":[{"token":"a"},{"token":"b"}],"refusal":null},"finish_reason":"stop","native_finish_reason":null,"index":0,"message":{"role":"assistant","content":"ab","refusal":null,"reasoning":null}},{"logprobs":null,"finish_reason":"stop","native_finish_reason":null,"index":1,"message":{"role":"assistant","content":"","refusal":"no","reasoning":null}}]}`,
		},
		{
			// An error chunk whose choice does not say "error" still fails
			// the choice.
			name: "error without failed choice",
			chunks: []string{
				`{` + env + `,"choices":[{"index":0,"delta":{"content":"x"}}]}`,
				`{` + env + `,"choices":[],"error":{"code":500,"message":"boom"}}`,
			},
			want: `{"id":"gen-1","provider":"P","model":"m","object":"chat.completion","created":1,"choices":[{"logprobs":null,"finish_reason":"error","native_finish_reason":"error","index":0,"message":{"role":"assistant","content":"x","refusal":null,"reasoning":null},"error":{"code":500,"message":"boom"}}]}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var a Assembler
			for _, ch := range c.chunks {
				if err := a.Add([]byte(ch)); err != nil {
					t.Fatalf("Add(%s): %v", ch, err)
				}
			}
			if got := string(a.Bytes()); got != c.want {
				t.Fatalf("assembled\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}
