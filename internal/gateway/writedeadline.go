package gateway

import (
	"net/http"
	"time"
)

// defaultClientWriteTimeout bounds one write to a client
// (CLIENT_WRITE_TIMEOUT).
const defaultClientWriteTimeout = 60 * time.Second

// writeDeadline keeps a deadline on a response's writes. A client that
// stops reading but keeps its connection open (its TCP window, or its
// HTTP/2 stream's, stays shut) would otherwise block a write for ever,
// holding the call's goroutine, its upstream stream, its in-flight entry
// and its quota hold; with the deadline the write fails and the call ends
// as a client that left (499), its rows recorded as for any other.
//
// The server sets no WriteTimeout: that would bound the whole response,
// and a stream lasts as long as its generation. The deadline is moved
// before each write instead, but only once less than half of it is left,
// so most events cost a clock read and no timer reset: a write blocked on
// a client that stopped reading ends after between half and all of it.
type writeDeadline struct {
	rc     *http.ResponseController
	within time.Duration
	at     time.Time
}

// extend makes sure a write starting now has at least half of within.
// The wall clock, not Options.Now: the deadline is the connection's.
func (d *writeDeadline) extend() {
	now := time.Now()
	if d.at.Sub(now) >= d.within/2 {
		return
	}
	d.at = now.Add(d.within)
	// ErrNotSupported (a ResponseWriter without deadlines, such as a
	// recorder) leaves writes unbounded, as before.
	d.rc.SetWriteDeadline(d.at)
}

// flush sends what the response holds, under the deadline.
func (d *writeDeadline) flush() error {
	d.extend()
	return d.rc.Flush()
}
