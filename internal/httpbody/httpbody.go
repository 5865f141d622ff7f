// Package httpbody reads request bodies under a size limit, and makes sure
// that a client whose body is refused, or left unread, reads the answer.
//
// A server that answers before the body has arrived (413 for a body too
// large, 401 before reading anything) and then closes the connection
// while the client is still sending makes its kernel reset the connection;
// the client's write fails, and most clients (curl, Go's net/http) report
// that failure instead of the answer already in their receive buffer: a
// 60 MB body to /api/query saw its connection closed with no response.
// net/http only waits 500 ms after half-closing. Linger reads the rest of
// such a body, and throws it away, until the client stops sending, for at
// most lingerTime and lingerBytes (RFC 9112 §9.6: a server "continues to
// read from the connection until it receives a corresponding close by the
// client"), as nginx's lingering_close does.
//
// Read refuses a declared Content-Length over the limit before reading a
// byte, so a client that sent Expect: 100-continue never sends its body;
// and it waits at most ReadWithin for the whole body: the server's
// ReadHeaderTimeout covers only the headers, and a client that stalls
// mid-body (slowloris) held its connection and a handler for as long as it
// liked.
package httpbody

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// TooLargeError is a body over the limit.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return "request body is larger than " + strconv.FormatInt(e.Limit, 10) + " bytes"
}

// ReadWithin bounds how long Read waits for a whole body (a variable for
// this package's tests).
var ReadWithin = time.Minute

// ErrTimeout is a body that did not arrive within ReadWithin; the answer
// then says Connection: close (on HTTP/1.x, see closeAfter).
var ErrTimeout = errors.New("request body not received in time")

// Read returns r's whole body, at most limit bytes, waiting at most
// ReadWithin for it. A larger one is a *TooLargeError and a late one
// ErrTimeout; the answer then closes an HTTP/1.x connection. Any other
// error is the body's own (a client that left, a broken chunked encoding).
func Read(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if TooLarge(w, r, limit) {
		return nil, &TooLargeError{Limit: limit}
	}
	// The deadline stays after the body: net/http clears it once the body
	// has reached its end (HTTP/1.1; on HTTP/2 it can only end the stream's
	// body), and after a failure it must still bound the server's discard
	// of the rest. Not every writer can set one (a test recorder).
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(ReadWithin))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		closeAfter(w, r) // wrappers of w hide it from MaxBytesReader
		return nil, &TooLargeError{Limit: limit}
	case errors.Is(err, os.ErrDeadlineExceeded):
		closeAfter(w, r)
		return nil, ErrTimeout
	}
	return body, err
}

// TooLarge reports whether r declares a body over limit (Content-Length),
// and if so marks the answer to close an HTTP/1.x connection: the body is
// not read.
func TooLarge(w http.ResponseWriter, r *http.Request, limit int64) bool {
	if r.ContentLength <= limit {
		return false
	}
	closeAfter(w, r)
	return true
}

// closeAfter marks the answer Connection: close on HTTP/1.x, where the
// connection carries nothing else and the rest of the body would be read
// as the next request. An HTTP/2 stream ends on its own: after the answer
// the server resets it with NO_ERROR and the client stops sending (RFC
// 9113 §8.1). Its connection may carry other clients' streams through a
// proxy, and net/http answers Connection: close with a GOAWAY for all of
// them.
func closeAfter(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
}

const (
	// lingerTime bounds how long a refused body is read after the answer.
	lingerTime = 10 * time.Second
	// lingerBytes bounds how much of it is read.
	lingerBytes = 256 << 20
)

// Linger wraps next (see the package doc): when next returns with r's body
// not read to its end, the answer is flushed and the rest of the body read
// and discarded, up to lingerBytes for up to lingerTime, before the
// connection is let go. A body whose client waits for 100 Continue and was
// never asked for is left alone: that client sends nothing. An HTTP/2
// stream's is drained instead (see drainStream).
func Linger(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		b := &tracked{ReadCloser: r.Body}
		r.Body = b
		next.ServeHTTP(w, r)
		if b.done || (!b.started && expectsContinue(r)) {
			return
		}
		rc := http.NewResponseController(w)
		if r.ProtoMajor != 1 {
			drainStream(rc, b)
			return
		}
		// The deadline first: flushing the answer makes the server discard
		// a small rest of the body itself, which must not wait on a stalled
		// client either.
		rc.SetReadDeadline(time.Now().Add(lingerTime))
		rc.Flush()
		if _, err := io.CopyN(io.Discard, b.ReadCloser, lingerBytes); err == io.EOF {
			// Read whole: the connection may carry the next request. Otherwise
			// the deadline stays, so that the server's own discard of what is
			// left cannot wait on a stalled client either.
			rc.SetReadDeadline(time.Time{})
		}
	})
}

const (
	// drainBytes is how much of an HTTP/2 stream's unread body is read
	// before the answer goes out: net/http's own bound for an HTTP/1.1 one.
	drainBytes = 256 << 10
	// drainTime bounds the wait for it.
	drainTime = time.Second
)

// drainStream reads what is left of a small HTTP/2 request body before the
// answer goes out. net/http ends a stream whose body was not read with a
// reset (RST_STREAM NO_ERROR, RFC 9113 §8.1) right after the answer, and
// curl 7.88 reports that as a stream error instead of the answer: 4 of 30
// 401s to a refused key over h2c (22 of 60 on a busy machine), where the
// body had not quite arrived when the handler answered. A larger body is left to that reset,
// which stops the client's upload: reading it all as on HTTP/1.1 would not
// help a Go client, which stops sending once it sees an error answer but
// does not end its stream, and would hold the stream for lingerTime.
func drainStream(rc *http.ResponseController, b *tracked) {
	rc.SetReadDeadline(time.Now().Add(drainTime))
	io.CopyN(io.Discard, b.ReadCloser, drainBytes)
}

// tracked notes whether a body was read from, and whether to its end.
type tracked struct {
	io.ReadCloser
	started, done bool
}

func (t *tracked) Read(p []byte) (int, error) {
	t.started = true
	n, err := t.ReadCloser.Read(p)
	if err != nil {
		// EOF, or an error after which nothing more can be read (a closed
		// body, a client gone): either way nothing is left to linger over.
		t.done = true
	}
	return n, err
}

func expectsContinue(r *http.Request) bool {
	for _, v := range r.Header.Values("Expect") {
		if strings.EqualFold(strings.TrimSpace(v), "100-continue") {
			return true
		}
	}
	return false
}
