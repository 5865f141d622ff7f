package openrouter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"llmmeter/internal/money"
)

func streamFrom(body io.Reader, header http.Header) *Stream {
	if header == nil {
		header = http.Header{}
	}
	return newStream(context.Background(), &http.Response{StatusCode: 200, Header: header, Body: io.NopCloser(body)}, defaultMaxEventBytes)
}

// drain reads s to its end and renders the events as a compact sequence:
// c comment, d data, m malformed data, D done, then "|EOF" or "|ERR".
func drain(t testing.TB, s *Stream) (string, []Event, error) {
	t.Helper()
	var b strings.Builder
	var evs []Event
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("stream did not end")
		}
		ev, err := s.Next()
		if err != nil {
			if err == io.EOF {
				b.WriteString("|EOF")
			} else {
				b.WriteString("|ERR")
			}
			return b.String(), evs, err
		}
		ev.Raw = bytes.Clone(ev.Raw) // Raw is only valid until the next call
		evs = append(evs, ev)
		switch {
		case ev.Kind == EventComment:
			b.WriteByte('c')
		case ev.Kind == EventDone:
			b.WriteByte('D')
		case ev.Malformed:
			b.WriteByte('m')
		default:
			b.WriteByte('d')
		}
	}
}

func nanos(n int64) *money.Nanos { v := money.Nanos(n); return &v }

func TestStreamGolden(t *testing.T) {
	const model = "openai/gpt-4o-mini"
	tests := []struct {
		file   string
		events string
		want   Summary
	}{
		{
			// Today's shape: the usage chunk has "choices": [].
			file: "usage_empty_choices.sse", events: "cdddddD|EOF",
			want: Summary{
				GenerationID: "gen-1735689600-Kx7mQp2rT9vWbN4c", Model: model, Provider: "OpenAI",
				FinishReason: "stop", NativeFinishReason: "stop", SawDone: true, Chunks: 5, CompletionChars: 13,
				Usage: &Usage{PromptTokens: 12, CompletionTokens: 4, TotalTokens: 16, Cost: nanos(4200),
					CostDetails: &CostDetails{UpstreamInferencePromptCost: nanos(1800), UpstreamInferenceCompletionsCost: nanos(2400)}},
			},
		},
		{
			// The earlier shape: one choice with an empty delta and a null
			// finish_reason, which must not clobber "stop"; cost rounds to a nano.
			file: "usage_one_choice.sse", events: "cddddD|EOF",
			want: Summary{
				GenerationID: "gen-1735689700-Anth0picCache01", Model: "anthropic/claude-3.5-sonnet", Provider: "Anthropic",
				FinishReason: "stop", NativeFinishReason: "end_turn", SawDone: true, Chunks: 4, CompletionChars: 23,
				Usage: &Usage{PromptTokens: 2048, CompletionTokens: 300, TotalTokens: 2348, Cost: nanos(1234568),
					PromptTokensDetails:     PromptTokensDetails{CachedTokens: 1536, CacheWriteTokens: 256},
					CompletionTokensDetails: CompletionTokensDetails{ReasoningTokens: 120}},
			},
		},
		{
			// Comments before and between events, "data:" without a space,
			// cost as a string, null detail objects.
			file: "comments.sse", events: "cccdcdcdcD|EOF",
			want: Summary{
				GenerationID: "gen-1735689800-C0mmentsEvery", Model: "meta-llama/llama-3.1-8b-instruct", Provider: "DeepInfra",
				FinishReason: "stop", NativeFinishReason: "stop", SawDone: true, Chunks: 3, CompletionChars: 2,
				Usage: &Usage{PromptTokens: 7, CompletionTokens: 1, TotalTokens: 8, Cost: nanos(20)},
			},
		},
		{
			// Mid-stream failure with a numeric code; the body ends without [DONE].
			file: "error_numeric.sse", events: "cddd|EOF",
			want: Summary{
				GenerationID: "gen-1735689900-MidStreamNum502", Model: "mistralai/mixtral-8x7b-instruct", Provider: "Together",
				FinishReason: "error", Chunks: 3, CompletionChars: 13,
				Err: &StreamError{Code: "502", Message: "Provider disconnected unexpectedly",
					Metadata: json.RawMessage(`{"provider_name":"Together","raw":"upstream closed"}`)},
			},
		},
		{
			// Mid-stream failure with a string code, still followed by usage
			// (BYOK: cost 0, upstream cost in cost_details) and [DONE].
			file: "error_string.sse", events: "cdddD|EOF",
			want: Summary{
				GenerationID: "gen-1735690000-MidStreamString", Model: "mistralai/mixtral-8x7b-instruct", Provider: "Fireworks",
				FinishReason: "error", NativeFinishReason: "error", SawDone: true, Chunks: 3, CompletionChars: 2,
				Err:   &StreamError{Code: "server_error", Message: "Upstream provider overloaded"},
				Usage: &Usage{PromptTokens: 30, CompletionTokens: 2, TotalTokens: 32, Cost: nanos(0), IsBYOK: true, CostDetails: &CostDetails{UpstreamInferenceCost: nanos(10000)}},
			},
		},
		{
			// A truncated data line in the middle is reported and counted, and
			// the stream goes on.
			file: "malformed.sse", events: "cdmdddD|EOF",
			want: Summary{
				GenerationID: "gen-1735690100-MalformedMiddle", Model: model, Provider: "OpenAI",
				FinishReason: "length", NativeFinishReason: "length", SawDone: true, Chunks: 4, MalformedLines: 1, CompletionChars: 2,
				Usage: &Usage{PromptTokens: 5, CompletionTokens: 2, TotalTokens: 7, Cost: nanos(150)},
			},
		},
		{
			// No usage chunk at all: Usage stays nil, the characters remain
			// for an estimate.
			file: "no_usage.sse", events: "ddD|EOF",
			want: Summary{
				GenerationID: "gen-1735690200-NoUsageAtAll00", Model: model, Provider: "Azure",
				FinishReason: "stop", NativeFinishReason: "stop", SawDone: true, Chunks: 2, CompletionChars: 11,
			},
		},
		{
			// CRLF line endings everywhere.
			file: "crlf.sse", events: "cdddD|EOF",
			want: Summary{
				GenerationID: "gen-1735690300-CRLFLineEndings", Model: model, Provider: "OpenAI",
				FinishReason: "stop", NativeFinishReason: "stop", SawDone: true, Chunks: 3, CompletionChars: 7,
				Usage: &Usage{PromptTokens: 3, CompletionTokens: 1, TotalTokens: 4, Cost: nanos(750)},
			},
		},
		{
			// [DONE] missing: a clean end of body is io.EOF, SawDone false.
			file: "no_done.sse", events: "cddd|EOF",
			want: Summary{
				GenerationID: "gen-1735690400-NoDoneMarker00", Model: model, Provider: "OpenAI",
				FinishReason: "stop", NativeFinishReason: "stop", Chunks: 3, CompletionChars: 3,
				Usage: &Usage{PromptTokens: 9, CompletionTokens: 1, TotalTokens: 10, Cost: nanos(1000)},
			},
		},
		{
			// One event over two data lines; retry/event/id ignored; a non-SSE
			// line counted; the last event lacks its blank line; cost null.
			file: "multiline.sse", events: "dd|EOF",
			want: Summary{
				GenerationID: "gen-1735690500-MultiLineData00", Model: model, Provider: "OpenAI",
				FinishReason: "stop", Chunks: 2, MalformedLines: 1, CompletionChars: 3,
				Usage: &Usage{PromptTokens: 4, CompletionTokens: 3, TotalTokens: 7},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			s := streamFrom(bytes.NewReader(body), http.Header{"X-Generation-Id": {"gen-from-header"}})
			seq, evs, err := drain(t, s)
			if err != io.EOF {
				t.Fatalf("end = %v, want io.EOF", err)
			}
			if seq != tt.events {
				t.Errorf("events = %s, want %s", seq, tt.events)
			}
			assertSummary(t, s.Summary(), tt.want)
			for i, ev := range evs {
				switch {
				case ev.Kind == EventComment && !bytes.HasPrefix(ev.Raw, []byte(":")):
					t.Errorf("event %d: comment Raw %q lacks ':'", i, ev.Raw)
				case bytes.HasSuffix(ev.Raw, []byte("\r")) || bytes.HasSuffix(ev.Raw, []byte("\n")):
					t.Errorf("event %d: Raw %q keeps a line terminator", i, ev.Raw)
				case ev.Kind == EventData && !ev.Malformed && (ev.Chunk == nil || !json.Valid(ev.Raw)):
					t.Errorf("event %d: data without chunk or with invalid Raw %q", i, ev.Raw)
				case ev.Malformed && ev.Chunk != nil:
					t.Errorf("event %d: malformed with a chunk", i)
				}
			}
		})
	}
}

func assertSummary(t *testing.T, got, want Summary) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("summary\n got %s\nwant %s", g, w)
	}
}

func TestStreamEdges(t *testing.T) {
	chunk := func(id, content string) string {
		return `data: {"id":"` + id + `","model":"m","choices":[{"index":0,"delta":{"content":"` + content + `"},"finish_reason":null}]}` + "\n\n"
	}
	tests := []struct {
		name   string
		body   io.Reader
		header string
		events string
		check  func(t *testing.T, s Summary, evs []Event, err error)
	}{
		{
			// Chunks without an id keep the header's generation id.
			name: "id from header", header: "gen-hdr", body: strings.NewReader(chunk("", "a")), events: "d|EOF",
			check: func(t *testing.T, s Summary, _ []Event, _ error) {
				if s.GenerationID != "gen-hdr" {
					t.Errorf("GenerationID = %q", s.GenerationID)
				}
			},
		},
		{
			// The first chunk's id overrides the header and later ids do not.
			name: "first chunk id wins", header: "gen-hdr", body: strings.NewReader(chunk("gen-1", "a") + chunk("gen-2", "b")), events: "dd|EOF",
			check: func(t *testing.T, s Summary, _ []Event, _ error) {
				if s.GenerationID != "gen-1" {
					t.Errorf("GenerationID = %q", s.GenerationID)
				}
			},
		},
		{
			// A body cut mid-transfer: the complete pending event is still
			// delivered, then an interruption that is not retryable.
			name: "unexpected EOF", body: io.MultiReader(strings.NewReader(`data: {"id":"gen-x","choices":[]}`+"\n"), errReader{io.ErrUnexpectedEOF}), events: "d|ERR",
			check: func(t *testing.T, s Summary, _ []Event, err error) {
				if !errors.Is(err, ErrStreamInterrupted) || !errors.Is(err, io.ErrUnexpectedEOF) || IsRetryable(err) {
					t.Errorf("err = %v", err)
				}
				if s.GenerationID != "gen-x" {
					t.Errorf("GenerationID = %q", s.GenerationID)
				}
			},
		},
		{
			// Lines far beyond bufio's buffer are assembled whole.
			name: "2 MiB line", body: strings.NewReader(chunk("gen-big", strings.Repeat("x", 2<<20))), events: "d|EOF",
			check: func(t *testing.T, s Summary, evs []Event, _ error) {
				if s.CompletionChars != 2<<20 || len(evs[0].Raw) < 2<<20 {
					t.Errorf("CompletionChars = %d", s.CompletionChars)
				}
			},
		},
		{
			// Data that is valid JSON but not an object is malformed; a
			// wrong-typed field is skipped, keeping the rest of the chunk.
			name: "non-object and wrong types", body: strings.NewReader("data: 42\n\ndata: null\n\n" + `data: {"id":"gen-t","created":"soon","choices":[],"usage":{"prompt_tokens":"3","completion_tokens":-5,"total_tokens":2.6}}` + "\n\n"), events: "mmd|EOF",
			check: func(t *testing.T, s Summary, _ []Event, _ error) {
				want := &Usage{PromptTokens: 3, CompletionTokens: 0, TotalTokens: 3}
				if s.MalformedLines != 2 || s.Usage == nil || *s.Usage != *want || s.GenerationID != "gen-t" {
					t.Errorf("summary = %+v usage %+v", s, s.Usage)
				}
			},
		},
		{
			// A choice finishing with "error" without an error object still
			// records a failure.
			name: "error finish without object", body: strings.NewReader(`data: {"choices":[{"delta":{},"finish_reason":"error"}]}` + "\n\n"), events: "d|EOF",
			check: func(t *testing.T, s Summary, _ []Event, _ error) {
				if s.Err == nil || s.Err.Message == "" {
					t.Errorf("Err = %v", s.Err)
				}
			},
		},
		{
			// Nothing after [DONE] is read.
			name: "stop at done", body: strings.NewReader("data: [DONE]\n\n" + chunk("gen-after", "z")), events: "D|EOF",
			check: func(t *testing.T, s Summary, _ []Event, _ error) {
				if s.Chunks != 0 || !s.SawDone {
					t.Errorf("summary = %+v", s)
				}
			},
		},
		{
			// The body ends inside an event after a comment: the comment, then
			// the pending event, then EOF.
			name: "pending event after last line", body: strings.NewReader(`data: {"id":"gen-p","choices":[]}` + "\n:tail"), events: "cd|EOF",
			check: func(t *testing.T, s Summary, _ []Event, _ error) {
				if s.GenerationID != "gen-p" {
					t.Errorf("summary = %+v", s)
				}
			},
		},
		{
			// An empty body is a clean, empty stream.
			name: "empty body", body: strings.NewReader(""), events: "|EOF",
			check: func(t *testing.T, s Summary, _ []Event, _ error) {
				if s.Chunks != 0 || s.SawDone {
					t.Errorf("summary = %+v", s)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := streamFrom(tt.body, http.Header{"X-Generation-Id": {tt.header}})
			seq, evs, err := drain(t, s)
			if seq != tt.events {
				t.Errorf("events = %s, want %s (err %v)", seq, tt.events, err)
			}
			tt.check(t, s.Summary(), evs, err)
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestStreamLimitsAndClose(t *testing.T) {
	t.Run("line over MaxEventBytes", func(t *testing.T) {
		// A line beyond the bound ends the stream instead of growing memory.
		s := newStream(context.Background(), &http.Response{Header: http.Header{},
			Body: io.NopCloser(strings.NewReader("data: " + strings.Repeat("x", 2<<20) + "\n\n"))}, 1<<20)
		_, err := s.Next()
		if !errors.Is(err, ErrEventTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("event over MaxEventBytes", func(t *testing.T) {
		// Many short data lines cannot add up past the bound either.
		line := "data: " + strings.Repeat("y", 1000) + "\n"
		s := newStream(context.Background(), &http.Response{Header: http.Header{},
			Body: io.NopCloser(strings.NewReader(strings.Repeat(line, 2000)))}, 1<<20)
		_, err := s.Next()
		if !errors.Is(err, ErrEventTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("close aborts a blocked next", func(t *testing.T) {
		// Close from another goroutine ends a Next waiting on the body,
		// whether it lands before or during the read.
		pr, pw := io.Pipe()
		s := newStream(context.Background(), &http.Response{Header: http.Header{}, Body: pr}, defaultMaxEventBytes)
		go func() {
			pw.Write([]byte(": first\n"))
			s.Close()
		}()
		ev, err := s.Next()
		if err == nil {
			if ev.Kind != EventComment {
				t.Fatalf("event %+v", ev)
			}
			_, err = s.Next()
		}
		if !errors.Is(err, ErrStreamClosed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("close twice then next", func(t *testing.T) {
		// Close is idempotent and Next after it reports ErrStreamClosed.
		s := streamFrom(strings.NewReader("data: [DONE]\n\n"), nil)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Next(); !errors.Is(err, ErrStreamClosed) {
			t.Fatalf("err = %v", err)
		}
	})
}
