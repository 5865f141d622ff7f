package openrouter

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzStream feeds arbitrary bytes as a response body: the reader must not
// panic, must end within one event per input byte, and must never report
// negative token counts or more events than it counted; the Assembler fed
// the same events must not panic and must produce JSON, and one folding
// the stream's own decode (Stream.Assemble, the gateway's way) must produce
// the same bytes as Add.
func FuzzStream(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.sse"))
	more, _ := filepath.Glob(filepath.Join("testdata", "assemble", "*.sse"))
	files = append(files, more...)
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Payloads that stress the reusing decoder: repeated strings that then
	// change form (escapes, invalid UTF-8), duplicate keys, nulls, wrong
	// types, trailing data, more choices than before.
	f.Add([]byte("data: {\"id\":\"g\",\"model\":\"m\",\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"a\"}}]}\n\n" +
		"data: {\"id\":\"\\u0067\",\"model\":\"m\\\"\",\"choices\":[{\"delta\":{\"role\":\"assistant\"}},{\"index\":1,\"delta\":{\"role\":\"\xff\"}}]}\n\n" +
		"data: {\"id\":\"g\",\"id\":null,\"model\":5,\"choices\":[{\"delta\":{\"role\":\"x\"},\"finish_reason\":7}],\"choices\":[{\"index\":2}]}\n\n" +
		"data: {\"id\":\"g\"} trailing\n\ndata: {\"usage\":5}\n\ndata: {\"choices\":{},\"created\":1e3}\n\n" +
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":\"7\",\"cost\":\"-1\"},\"error\":{\"code\":null}}\n\n"))
	f.Add([]byte("data: [DONE]"))
	f.Add([]byte("data:\ndata:\n\n:\r\n\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		// A small bound so long-line handling is exercised too.
		s := newStream(context.Background(), &http.Response{Header: http.Header{},
			Body: io.NopCloser(bytes.NewReader(body))}, 1<<20)
		s.maxLine = 4096
		events := 0
		var asm, folded Assembler
		s.Assemble(&folded)
		for {
			ev, err := s.Next()
			if err != nil {
				break
			}
			events++
			if events > len(body)+1 {
				t.Fatalf("%d events from %d bytes", events, len(body))
			}
			if ev.Kind == EventData {
				checkAgainstUnmarshal(t, ev)
				if !ev.Malformed {
					asm.Add(ev.Raw)
				}
			}
		}
		// Whatever the stream held, the assembled plain body is JSON.
		b := asm.Bytes()
		if !json.Valid(b) {
			t.Fatalf("assembled body is not JSON: %s", b)
		}
		if f := folded.Bytes(); !bytes.Equal(f, b) {
			t.Fatalf("Stream.Assemble gave\n%s\nAdd gave\n%s", f, b)
		}
		sum := s.Summary()
		if u := sum.Usage; u != nil {
			for _, n := range []int64{u.PromptTokens, u.CompletionTokens, u.TotalTokens,
				u.PromptTokensDetails.CachedTokens, u.PromptTokensDetails.CacheWriteTokens, u.PromptTokensDetails.AudioTokens,
				u.CompletionTokensDetails.ReasoningTokens, u.CompletionTokensDetails.ImageTokens, u.CompletionTokensDetails.AudioTokens} {
				if n < 0 {
					t.Fatalf("negative token count in %+v", u)
				}
			}
			if u.Cost != nil && *u.Cost < 0 {
				t.Fatalf("negative cost %d", *u.Cost)
			}
		}
		if sum.Chunks < 0 || sum.MalformedLines < 0 || sum.CompletionChars < 0 || sum.Chunks > events {
			t.Fatalf("bad counters %+v after %d events", sum, events)
		}
	})
}

// checkAgainstUnmarshal holds the stream's reusing decoder to what a plain
// json.Unmarshal of the same payload gives.
func checkAgainstUnmarshal(t *testing.T, ev Event) {
	t.Helper()
	var want StreamChunk
	err := json.Unmarshal(ev.Raw, &want)
	malformed := !isObject(ev.Raw) || (err != nil && !isTypeError(err))
	if ev.Malformed != malformed || (ev.Chunk == nil) != malformed {
		t.Fatalf("payload %q: Malformed=%v chunk=%v, json.Unmarshal err %v", ev.Raw, ev.Malformed, ev.Chunk != nil, err)
	}
	if malformed {
		return
	}
	got := *ev.Chunk
	if len(got.Choices) == 0 && len(want.Choices) == 0 {
		got.Choices, want.Choices = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("payload %q:\n got %+v\nwant %+v", ev.Raw, got, want)
	}
}
