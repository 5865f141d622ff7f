package app

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/store"
)

// TestOpenStreamStacks holds streams open through the real service (SQLite
// store and key look-up, quotas on, the outbox's in-flight entries, HTTP/2
// to the built-in simulator) and measures the goroutine stacks they hold
// once the garbage collector has had its chances to shrink them: the larger
// part of issue 15's memory per open stream.
//
// The runtime halves a stack at a GC only while less than a quarter of it
// is in use (runtime.shrinkstack), so a handler whose stack grew during the
// call's deep one-off work (the SQLite key look-up, JSON encoding) keeps
// 16 KiB while it waits unless it waits with under 4 KiB in use. The client
// is raw TCP from this goroutine, so every stack counted is the service's
// or the in-process simulator's.
func TestOpenStreamStacks(t *testing.T) {
	e := start(t)
	user := userOf(t, e)
	setQuota(t, e.app, user, store.QuotaDailyRequests, 1e9)
	setQuota(t, e.app, user, store.QuotaMonthlyCostUSD, 1e6)

	// Warm up: the lease, the model list and the connections to the
	// simulator exist before the baseline.
	res := e.post(chatBody(true, "warm up"), e.key)
	sse(t, res.Body)
	res.Body.Close()

	const n = 200
	before := settledStacks()
	conns := make([]*streamConn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.conn.Close()
		}
	})
	body := chatBody(true, "Tell a story. [sim:stall after=1 ms=600000]")
	for range n {
		c, err := openStream(e.app.Addr(), e.key, body)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		if err := c.firstChunk(); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
	}
	after := settledStacks()
	perStream := float64(after-before) / n / 1024
	t.Logf("goroutine stacks per open stream: %.1f KiB (service and simulator; %d streams)", perStream, n)
	if perStream > stackBoundKiB {
		t.Errorf("goroutine stacks per open stream %.1f KiB, want at most %d KiB", perStream, stackBoundKiB)
	}
}

// settledStacks is the bytes of goroutine stacks in use after enough
// collections for every stack that can shrink to have shrunk (one halving
// per GC).
func settledStacks() uint64 {
	var ms runtime.MemStats
	for range 8 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.StackInuse
}

// streamConn is one streaming call over a raw HTTP/1.1 connection.
type streamConn struct {
	conn net.Conn
	br   *bufio.Reader
}

func openStream(addr, key, body string) (*streamConn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	req := fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, key, len(body), body)
	if _, err := conn.Write([]byte(req)); err != nil {
		conn.Close()
		return nil, err
	}
	return &streamConn{conn: conn, br: bufio.NewReader(conn)}, nil
}

// firstChunk reads the status line and on to the first data event.
func (c *streamConn) firstChunk() error {
	c.conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
	status, err := c.br.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(status, "HTTP/1.1 200") {
		return fmt.Errorf("status %q", strings.TrimSpace(status))
	}
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if bytes.Contains(line, []byte("data: {")) {
			return nil
		}
	}
}
