package openrouter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

// TestStreamLinesAroundTheBuffer: the line reader's buffer is small
// (streamBufSize); lines just under, at and over it, and several times
// it, come out whole, whether the body arrives at once, a byte at a time
// or in halves, and a chunk longer than the buffer still decodes.
func TestStreamLinesAroundTheBuffer(t *testing.T) {
	var body strings.Builder
	var want []string
	for _, n := range []int{1, streamBufSize - 9, streamBufSize - 8, streamBufSize - 7, streamBufSize, 3*streamBufSize + 7} {
		// "data: " + payload + "\n" is n+7 bytes: the cases straddle the buffer.
		payload := fmt.Sprintf(`{"id":"g","choices":[{"delta":{"content":%q}}]}`, strings.Repeat("a", max(0, n-40)))
		body.WriteString("data: " + payload + "\n\n")
		want = append(want, payload)
	}
	comment := ": " + strings.Repeat("c", 2*streamBufSize)
	body.WriteString(comment + "\r\ndata: [DONE]\n\n")
	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"whole": func(r io.Reader) io.Reader { return r }, "bytes": iotest.OneByteReader, "halves": iotest.HalfReader,
	} {
		t.Run(name, func(t *testing.T) {
			s := newStream(context.Background(), &http.Response{Header: http.Header{},
				Body: io.NopCloser(wrap(strings.NewReader(body.String())))}, defaultMaxEventBytes)
			var got []string
			for {
				ev, err := s.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case ev.Kind == EventData && (ev.Malformed || ev.Chunk == nil):
					t.Fatalf("chunk of %d bytes did not decode", len(ev.Raw))
				case ev.Kind == EventData:
					got = append(got, string(ev.Raw))
				case ev.Kind == EventComment && string(ev.Raw) != comment:
					t.Fatalf("comment of %d bytes, want %d", len(ev.Raw), len(comment))
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") || !s.Summary().SawDone {
				t.Fatalf("got %d payloads (done %v), want %d intact", len(got), s.Summary().SawDone, len(want))
			}
		})
	}
}

// TestDefaultTransportBuffers: the upstream connections' buffers are the
// small ones chosen for many open streams.
func TestDefaultTransportBuffers(t *testing.T) {
	tr := defaultHTTPClient(false).Transport.(*http.Transport)
	if tr.ReadBufferSize != connBufSize || tr.WriteBufferSize != connBufSize || connBufSize > 1<<10 {
		t.Fatalf("read %d, write %d bytes; want %d each", tr.ReadBufferSize, tr.WriteBufferSize, connBufSize)
	}
	if tr.MaxIdleConnsPerHost != 1024 {
		t.Fatalf("MaxIdleConnsPerHost %d", tr.MaxIdleConnsPerHost)
	}
}

// readLog is a body that notes each read in log.
type readLog struct {
	r   io.Reader
	log *[]string
}

func (b readLog) Read(p []byte) (int, error) {
	*b.log = append(*b.log, "read")
	return b.r.Read(p)
}

// TestOnReadRunsBeforeEachRead: OnRead's f runs before every read of the
// body and at no other time, so events already in hand come out of Next
// without it (a proxy flushes them together).
func TestOnReadRunsBeforeEachRead(t *testing.T) {
	const body = "data: {\"id\":\"g\",\"choices\":[]}\n\n: comment\n\ndata: {\"id\":\"g\",\"choices\":[]}\n\ndata: [DONE]\n\n"
	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"whole": func(r io.Reader) io.Reader { return r }, "bytes": iotest.OneByteReader,
	} {
		t.Run(name, func(t *testing.T) {
			var log []string
			s := newStream(context.Background(), &http.Response{Header: http.Header{},
				Body: io.NopCloser(readLog{wrap(strings.NewReader(body)), &log})}, defaultMaxEventBytes)
			s.OnRead(func() { log = append(log, "f") })
			events := 0
			for {
				if _, err := s.Next(); err != nil {
					if !errors.Is(err, io.EOF) {
						t.Fatal(err)
					}
					break
				}
				events++
				log = append(log, "event")
			}
			reads := 0
			for i, e := range log {
				if e == "read" {
					reads++
					if i == 0 || log[i-1] != "f" {
						t.Fatalf("a read without f just before it: %v", log)
					}
				}
			}
			if f := strings.Count(strings.Join(log, " "), "f"); f != reads || events != 4 {
				t.Fatalf("%d calls of f, %d reads, %d events", f, reads, events)
			}
			// Whole, the body comes in one read: its four events (two chunks,
			// a comment, [DONE]) come out of it with no further call of f.
			if name == "whole" && strings.Join(log, " ") != "f read event event event event" {
				t.Fatalf("log %v", log)
			}
		})
	}
}
