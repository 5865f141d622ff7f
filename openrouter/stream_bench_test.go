package openrouter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// typicalTranscript is a 100-token answer as OpenRouter streams it: a
// processing comment, a role chunk, one chunk per token, the finish chunk,
// the usage chunk and [DONE].
func typicalTranscript() ([]byte, int) {
	const head = `{"id":"gen-1735689600-Kx7mQp2rT9vWbN4c","provider":"OpenAI","model":"openai/gpt-4o-mini","object":"chat.completion.chunk","created":1735689600,`
	var b bytes.Buffer
	events := 0
	add := func(s string) { b.WriteString(s); events++ }
	add(": OPENROUTER PROCESSING\n\n")
	add("data: " + head + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}` + "\n\n")
	for i := range 100 {
		add("data: " + head + fmt.Sprintf(`"choices":[{"index":0,"delta":{"role":"assistant","content":" word%d"},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}`, i) + "\n\n")
	}
	add("data: " + head + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop","native_finish_reason":"stop","logprobs":null}]}` + "\n\n")
	add("data: " + head + `"choices":[],"usage":{"prompt_tokens":120,"completion_tokens":100,"total_tokens":220,"cost":0.0000783,"is_byok":false,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"cost_details":{"upstream_inference_cost":null},"completion_tokens_details":{"reasoning_tokens":0,"image_tokens":0}}}` + "\n\n")
	add("data: [DONE]\n\n")
	return b.Bytes(), events
}

// BenchmarkStreamNext reads a typical transcript per op and reports the cost
// per event (ns/event, allocs/event, B/event) beside the per-transcript op.
func BenchmarkStreamNext(b *testing.B) {
	body, events := typicalTranscript()
	rd := bytes.NewReader(body)
	resp := &http.Response{Header: http.Header{}, Body: io.NopCloser(rd)}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		rd.Reset(body)
		s := newStream(context.Background(), resp, defaultMaxEventBytes)
		n := 0
		for {
			if _, err := s.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			n++
		}
		if n != events {
			b.Fatalf("%d events, want %d", n, events)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	total := float64(b.N * events)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/event")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/event")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/total, "B/event")
}

// BenchmarkStreamNextNoDecode isolates the SSE framing (line reading,
// event assembly) from JSON decoding by streaming comments only.
func BenchmarkStreamNextNoDecode(b *testing.B) {
	body := []byte(strings.Repeat(": "+strings.Repeat("x", 200)+"\n\n", 100))
	rd := bytes.NewReader(body)
	resp := &http.Response{Header: http.Header{}, Body: io.NopCloser(rd)}
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		s := newStream(context.Background(), resp, defaultMaxEventBytes)
		for {
			if _, err := s.Next(); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
}
