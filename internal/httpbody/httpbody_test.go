package httpbody_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"llmmeter/internal/httpbody"
)

const limit = 1 << 20

// server answers 413 for a body over limit (read with Read) and 200 with
// the body's length otherwise; at /early it answers 401 without reading.
func server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(handler())
	t.Cleanup(srv.Close)
	return srv
}

// h2cServer serves h over HTTP/1.1 and HTTP/2 without TLS, as the
// gateway's port does.
func h2cServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func handler() http.Handler {
	return httpbody.Linger(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/early" {
			http.Error(w, `{"error":"unauthenticated"}`, http.StatusUnauthorized)
			return
		}
		body, err := httpbody.Read(w, r, limit)
		var tooBig *httpbody.TooLargeError
		switch {
		case errors.As(err, &tooBig):
			http.Error(w, `{"error":"too large"}`, http.StatusRequestEntityTooLarge)
		case errors.Is(err, httpbody.ErrTimeout):
			http.Error(w, `{"error":"too slow"}`, http.StatusRequestTimeout)
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
		default:
			fmt.Fprintf(w, "%d", len(body))
		}
	}))
}

// rawConn is a connection to srv for a client written by hand, closed
// when the test ends.
func rawConn(t *testing.T, srv *httptest.Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(2 * time.Minute)) // only a bound against a hang
	return conn
}

// zeros is an endless body of 'x', counting what was read from it.
type zeros struct{ n atomic.Int64 }

func (z *zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	z.n.Add(int64(len(p)))
	return len(p), nil
}

// body is size bytes of 'x'; z counts how many the client read.
func body(size int64) (io.Reader, *zeros) {
	z := &zeros{}
	return io.LimitReader(z, size), z
}

// TestRefusedBodiesAreAnswered: a client sending 60 MB reads the refusal,
// whether it declared the length or sent it chunked, whether the handler
// read part of the body (413) or none of it (401).
func TestRefusedBodiesAreAnswered(t *testing.T) {
	srv := server(t)
	const size = 60 << 20
	for _, c := range []struct {
		name    string
		path    string
		chunked bool
		want    int
	}{
		// Content-Length over the limit: refused before a byte is read.
		{"declared", "/", false, 413},
		// Chunked: refused once the limit is crossed while reading.
		{"chunked", "/", true, 413},
		// Answered before the body is read at all, e.g. a bad credential.
		{"unread declared", "/early", false, 401},
		{"unread chunked", "/early", true, 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, z := body(size)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+c.path, b)
			req.ContentLength = size
			if c.chunked {
				req.ContentLength = -1
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			msg, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.want || c.want == 413 && !res.Close {
				t.Fatalf("%d %v %s, want %d (413 with Connection: close)", res.StatusCode, res.Header, msg, c.want)
			}
			// Go's client reports the answer even when its upload fails; a
			// client that does not (curl) needs the server to read on, which
			// lets the whole body through.
			if n := z.n.Load(); n < size {
				t.Fatalf("the client sent %d of %d bytes: the server stopped reading the refused body", n, size)
			}
		})
	}
}

// TestHTTP2RefusalsKeepTheConnection: over HTTP/2 a refused body is not
// read on: the server answers, then resets the stream with NO_ERROR and the
// client stops sending (RFC 9113 §8.1; lingering as on HTTP/1.1 held each
// refusal to a Go client for the whole 10 s, since it stops sending on an
// early error answer without ending its stream). The connection stays
// open for the next request: a proxy carries other clients' streams on
// it, and the Connection: close that ends an HTTP/1.1 connection made
// net/http send a GOAWAY for all of them.
func TestHTTP2RefusalsKeepTheConnection(t *testing.T) {
	srv := h2cServer(t, handler())
	c := h2cClient(t)
	send := func(path string, size int64, chunked bool) (int, bool, *zeros) {
		t.Helper()
		b, z := body(size)
		reused := false
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, b)
		req.ContentLength = size
		if chunked {
			req.ContentLength = -1
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.ProtoMajor != 2 {
			t.Fatalf("served over %s", res.Proto)
		}
		return res.StatusCode, reused, z
	}
	if status, _, _ := send("/", 10, false); status != 200 {
		t.Fatalf("first call: %d", status)
	}
	const size = 20 << 20
	for _, c := range []struct {
		name    string
		path    string
		chunked bool
		want    int
	}{
		{"declared", "/", false, 413},
		{"streamed", "/", true, 413},
		{"unread", "/early", false, 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, reused, z := send(c.path, size, c.chunked)
			if status != c.want || !reused {
				t.Fatalf("%d on a reused connection: %v, want %d on the first call's", status, reused, c.want)
			}
			if z.n.Load() >= size {
				t.Fatalf("the client sent all %d bytes: the refused body was read on", size)
			}
			if status, reused, _ := send("/", 10, false); status != 200 || !reused {
				t.Fatalf("next call: %d, reused %v", status, reused)
			}
		})
	}
}

// h2cClient speaks HTTP/2 without TLS only.
func h2cClient(t *testing.T) *http.Client {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

// TestHTTP2SmallUnreadBodyIsDrained: a small body the handler never read
// (a 401 to a bad key) is read to its end before the answer goes out, so
// the stream ends with the client's own end rather than a reset, which
// curl 7.88 reported as a stream error instead of the 401 (22 of 60 tries
// on a busy machine).
func TestHTTP2SmallUnreadBodyIsDrained(t *testing.T) {
	var ended atomic.Int32
	refuse := httpbody.Linger(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"unauthenticated"}`, http.StatusUnauthorized)
	}))
	srv := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &endSeen{ReadCloser: r.Body, ended: &ended}
		refuse.ServeHTTP(w, r)
	}))
	c := h2cClient(t)
	const n = 20
	for range n {
		b, _ := body(10 << 10)
		res, err := c.Post(srv.URL, "application/json", b)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 401 || res.ProtoMajor != 2 {
			t.Fatalf("%s %d", res.Proto, res.StatusCode)
		}
	}
	if got := ended.Load(); got != n {
		t.Fatalf("%d of %d unread bodies read to their end", got, n)
	}
}

// endSeen counts bodies read to their end.
type endSeen struct {
	io.ReadCloser
	ended *atomic.Int32
}

func (e *endSeen) Read(p []byte) (int, error) {
	n, err := e.ReadCloser.Read(p)
	if err == io.EOF {
		e.ended.Add(1)
	}
	return n, err
}

// TestClientThatWritesEverythingFirst: the worst client sends its whole
// request before it reads a byte. Without Linger the server closed the
// connection with most of the body unread, the client's write failed with
// a reset, and the refusal was lost.
func TestClientThatWritesEverythingFirst(t *testing.T) {
	srv := server(t)
	const size = 20 << 20
	for _, path := range []string{"/", "/early"} {
		t.Run(path, func(t *testing.T) {
			conn := rawConn(t, srv)
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, size)
			b, _ := body(size)
			if _, err := io.Copy(conn, b); err != nil {
				t.Fatalf("sending the body: %v (the server reset the connection)", err)
			}
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer after the body: %v", err)
			}
			res.Body.Close()
			if want := map[string]int{"/": 413, "/early": 401}[path]; res.StatusCode != want {
				t.Fatalf("%d, want %d", res.StatusCode, want)
			}
		})
	}
}

// TestExpectContinueIsNotInvited: a client that asks before sending
// (Expect: 100-continue, as curl does for large bodies) and declares a
// body over the limit gets 413 and never sends a byte of it.
func TestExpectContinueIsNotInvited(t *testing.T) {
	srv := server(t)
	b, z := body(60 << 20)
	req, _ := http.NewRequest(http.MethodPost, srv.URL, b)
	req.ContentLength = 60 << 20
	req.Header.Set("Expect", "100-continue")
	c := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Hour}} // wait for the server's word
	defer c.CloseIdleConnections()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 || z.n.Load() != 0 {
		t.Fatalf("%d after the client read %d bytes of its body, want 413 and none", res.StatusCode, z.n.Load())
	}
}

// TestBodiesWithinTheLimit: bodies up to the limit are read whole, both
// ways, and the connection is kept for the next request.
func TestBodiesWithinTheLimit(t *testing.T) {
	srv := server(t)
	var dials atomic.Int32
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	defer c.CloseIdleConnections()
	for _, chunked := range []bool{false, true, false} {
		b, _ := body(limit)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, b)
		req.ContentLength = limit
		if chunked {
			req.ContentLength = -1
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || strings.TrimSpace(string(got)) != fmt.Sprint(limit) {
			t.Fatalf("chunked %v: %d %s", chunked, res.StatusCode, got)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d connections for three requests within the limit, want 1", n)
	}
}

// TestStalledBodyTimesOut: a client that sends half its body and stalls
// (slowloris) gets 408 once ReadWithin has passed, and the connection is
// let go. (Bodies that arrive in time: TestBodiesWithinTheLimit.)
func TestStalledBodyTimesOut(t *testing.T) {
	old := httpbody.ReadWithin
	httpbody.ReadWithin = 3 * time.Second // set before the server starts: its goroutines see it
	t.Cleanup(func() { httpbody.ReadWithin = old })
	srv := server(t)
	conn := rawConn(t, srv)
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n%s", strings.Repeat("x", 50))
	start := time.Now()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("a stalled body got no answer: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout || time.Since(start) < httpbody.ReadWithin-time.Second {
		t.Fatalf("%d after %v, want 408 after about %v", res.StatusCode, time.Since(start), httpbody.ReadWithin)
	}
	if n, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatalf("the connection stayed open (read %d bytes)", n)
	}
}

// TestStalledUnreadBodyIsLetGo: a body the handler never read, whose
// client stalls after part of it, is let go after lingerTime (10 s) with
// the answer sent: neither Linger nor the server's own discard of a small
// rest waits on the client for ever.
func TestStalledUnreadBodyIsLetGo(t *testing.T) {
	srv := server(t)
	conn := rawConn(t, srv)
	fmt.Fprintf(conn, "POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n%s", strings.Repeat("x", 500))
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("%d, want 401", res.StatusCode)
	}
	if n, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the answer: %d, %v; want the connection closed (EOF)", n, err)
	}
}

// TestReadBodyLeavesNoDeadline: once a body is read whole, the handler may
// run far longer than ReadWithin (a stream does), over either protocol: the
// deadline Read set for the body must not end the request's context
// mid-answer. (net/http clears it itself when the body reaches its end, on
// HTTP/1.1 for the read behind the handler; on HTTP/2 it only ends the
// stream's body.)
func TestReadBodyLeavesNoDeadline(t *testing.T) {
	old := httpbody.ReadWithin
	httpbody.ReadWithin = 200 * time.Millisecond // set before the server starts: its goroutines see it
	t.Cleanup(func() { httpbody.ReadWithin = old })
	srv := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := httpbody.Read(w, r, limit); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-r.Context().Done():
			fmt.Fprint(w, "cancelled")
		case <-time.After(5 * httpbody.ReadWithin):
			fmt.Fprint(w, "served")
		}
	}))
	for _, c := range []struct {
		name, proto string
		client      *http.Client
	}{{"HTTP/1.1", "HTTP/1.1", srv.Client()}, {"h2c", "HTTP/2.0", h2cClient(t)}} {
		t.Run(c.name, func(t *testing.T) {
			res, err := c.client.Post(srv.URL, "application/json", strings.NewReader(`{"a":1}`))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || string(got) != "served" || res.Proto != c.proto {
				t.Fatalf("%s %d %q, want the handler to finish (200 served)", res.Proto, res.StatusCode, got)
			}
		})
	}
}
