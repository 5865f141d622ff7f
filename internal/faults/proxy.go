package faults

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Mode is how a [Proxy] treats connections.
type Mode int32

const (
	// Pass forwards bytes both ways to the target.
	Pass Mode = iota
	// Refuse closes the listening socket: connects fail with "connection
	// refused", as when the backend's process is gone.
	Refuse
	// Reset accepts and at once resets the connection (RST): "connection
	// reset by peer".
	Reset
	// Unavailable answers every HTTP request with 503 and a JSON error
	// body, as a load balancer in front of a backend that is down.
	Unavailable
)

func (m Mode) String() string {
	switch m {
	case Pass:
		return "pass"
	case Refuse:
		return "refuse"
	case Reset:
		return "reset"
	case Unavailable:
		return "503"
	}
	return fmt.Sprintf("Mode(%d)", int32(m))
}

// Proxy is a switchable TCP proxy on a fixed loopback address, for putting
// in front of a backend (the Convex test backend) whose data must survive
// the "outage". Switching modes cuts the open connections, so no pooled
// connection carries the old mode on (through an outage, or past its end).
type Proxy struct {
	target string
	addr   string

	mu     sync.Mutex
	mode   Mode
	ln     net.Listener // nil while refusing or closed
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup

	// Faults counts connections reset or answered 503 (refused connects
	// never reach the proxy).
	Faults atomic.Int64
}

// NewProxy listens on a free 127.0.0.1 port and forwards to target
// (host:port), starting in Pass.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	return p, nil
}

// Addr is the proxy's host:port; it stays the same across modes.
func (p *Proxy) Addr() string { return p.addr }

// Mode is the current mode.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Set switches the mode. It cuts the open connections; leaving Refuse
// listens again on the same address.
func (p *Proxy) Set(m Mode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("faults: proxy closed")
	}
	if m == p.mode {
		return nil
	}
	// Every open connection belongs to the old mode (a kept-alive one
	// would go on answering 503, or passing): cut them all.
	for c := range p.conns {
		reset(c)
	}
	switch {
	case m == Refuse && p.ln != nil:
		p.ln.Close()
		p.ln = nil
	case m != Refuse && p.ln == nil:
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			return fmt.Errorf("faults: listen again on %s: %w", p.addr, err)
		}
		p.serveLocked(ln)
	}
	p.mode = m
	return nil
}

// Close stops listening, cuts every connection and waits for its
// goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serveLocked(ln)
}

func (p *Proxy) serveLocked(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed by Set(Refuse) or Close
			}
			p.mu.Lock()
			mode, closed := p.mode, p.closed
			if !closed {
				p.conns[c] = struct{}{}
				p.wg.Add(1)
			}
			p.mu.Unlock()
			if closed {
				c.Close()
				return
			}
			go func() {
				defer p.wg.Done()
				defer p.forget(c)
				p.handle(c, mode)
			}()
		}
	}()
}

func (p *Proxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) handle(c net.Conn, mode Mode) {
	switch mode {
	case Reset, Refuse: // Refuse: accepted just before the listener closed
		p.Faults.Add(1)
		reset(c)
	case Unavailable:
		p.Faults.Add(1)
		unavailable(c)
	default:
		p.pass(c)
	}
}

func (p *Proxy) pass(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		reset(c)
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		io.Copy(dst, src)
		// One side ended: end both, so neither copy waits forever.
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go cp(up, c)
	go cp(c, up)
	<-done
	<-done
}

// unavailable answers each request on c with 503 until the client closes.
func unavailable(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
		body := `{"code":"unavailable","message":"the backend is down (faults proxy)"}`
		fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
}

// reset closes c with an RST rather than a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
