package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"llmmeter/internal/outbox"
	"llmmeter/openrouter/openroutertest"
)

// TestClientThatStopsReading: a streaming client that keeps its connection
// open but reads nothing (its receive buffer a few KiB) blocked the
// gateway's write for ever, holding the call, its upstream stream and its
// quota hold. With the write deadline the call ends as a client that left:
// 499 client_disconnected in the request log and the access log, its rows
// recorded. Over real loopback TCP, where a write can block.
func TestClientThatStopsReading(t *testing.T) {
	for _, proto := range []string{"HTTP/1.1", "h2c"} {
		t.Run(proto, func(t *testing.T) {
			// A long answer: far more than the kernel's socket buffers, or
			// an HTTP/2 stream's flow-control window, hold.
			h := newHarnessWith(t, openroutertest.Options{AnswerTokens: 400_000, TokensPerChunk: 8, NoKeepAliveComments: true},
				func(opt *Options) { opt.ClientWriteTimeout = 300 * time.Millisecond })
			srv := httptest.NewUnstartedServer(h.handler)
			srv.Config.Protocols = new(http.Protocols)
			srv.Config.Protocols.SetHTTP1(true)
			srv.Config.Protocols.SetUnencryptedHTTP2(true) // as the service's port
			srv.Start()
			t.Cleanup(srv.Close)
			if proto == "h2c" {
				stopReadingH2C(t, srv.URL)
			} else {
				stopReadingHTTP1(t, srv.Listener.Addr().String())
			}

			e := h.onlyEntryEventually(outbox.Ready) // the call ended and its rows are durable
			if rl := e.Batch.RequestLogs; len(rl) != 1 || rl[0].StatusCode != 499 || rl[0].ErrorType != "client_disconnected" {
				t.Fatalf("request log %+v", rl)
			}
			waitFor(t, "the access log line", func() bool { return len(logLines(t, h.log, "request")) == 1 })
			if l := h.accessLine(); l["status"] != float64(499) || l["client_gone"] != true {
				t.Fatalf("access line %v", l)
			}
		})
	}
}

// stopReadingHTTP1 opens a stream with a 4 KiB receive buffer and reads
// its status line, then nothing more.
func stopReadingHTTP1(t *testing.T, addr string) {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	body := chatBody(true, "hi")
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("status %q, %v", status, err)
	}
}

// stopReadingH2C opens a stream over HTTP/2 without TLS and never reads its
// body, so the stream's flow-control window closes.
func stopReadingH2C(t *testing.T, url string) {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(chatBody(true, "hi")))
	req.Header.Set("Authorization", "Bearer test")
	resp, err := tr.RoundTrip(req)
	if err != nil || resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("%v %v", resp, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
}

// TestQuietStreamOutlivesTheWriteDeadline: the deadline bounds a write, not
// the stream. A stream whose upstream is silent for several times the
// deadline between events (a slow first token, a model thinking) is
// delivered whole, [DONE] included.
func TestQuietStreamOutlivesTheWriteDeadline(t *testing.T) {
	within := 100 * time.Millisecond
	h := newHarnessWith(t, openroutertest.Options{TimeToFirstToken: 3 * within, TokensPerSecond: 4, AnswerTokens: 3, NoKeepAliveComments: true},
		func(opt *Options) { opt.ClientWriteTimeout = within })
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(chatBody(true, "hi")))
	req.Header.Set("Authorization", "Bearer test")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || !strings.HasSuffix(string(b), doneEvent) {
		t.Fatalf("%d %v %q", resp.StatusCode, err, b)
	}
	if rl := h.onlyEntryEventually(outbox.Ready).Batch.RequestLogs; len(rl) != 1 || rl[0].StatusCode != 200 {
		t.Fatalf("request log %+v", rl)
	}
}

// TestClientWriteTimeoutDefault: unset, a write may block for a minute; a
// zero would fail every write to a real connection at once.
func TestClientWriteTimeoutDefault(t *testing.T) {
	h := newHarness(t, openroutertest.Options{})
	if got := h.srv.opt.ClientWriteTimeout; got != time.Minute {
		t.Fatalf("ClientWriteTimeout %v, want 1m", got)
	}
}
