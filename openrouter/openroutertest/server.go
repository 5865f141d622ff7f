package openroutertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is a simulator listening on a loopback port, like
// httptest.Server. Its embedded *Simulator gives Ledger, Enqueue and the
// rest.
type Server struct {
	// URL is the API base, e.g. "http://127.0.0.1:41234/api/v1".
	URL string
	*Simulator

	srv       *http.Server
	transport *http.Transport
	served    chan struct{}
	closeOnce sync.Once
}

// NewServer starts a simulator on 127.0.0.1 with a random port. It panics
// if opts is invalid or no port can be had, as httptest.NewServer does.
// Call Close when done.
func NewServer(opts Options) *Server {
	sim := NewHandler(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("openroutertest: failed to listen on a port: %v", err))
	}
	s := &Server{
		URL:       "http://" + ln.Addr().String() + "/api/v1",
		Simulator: sim,
		srv:       newHTTPServer(sim),
		transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
		served:    make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s
}

// Sim returns the server's simulator.
func (s *Server) Sim() *Simulator { return s.Simulator }

// Client returns an HTTP client for the server, with its own transport
// whose idle connections Close shuts.
func (s *Server) Client() *http.Client { return &http.Client{Transport: s.transport} }

// Close ends in-flight streams (recorded as Cancelled), closes every
// connection and waits until all handlers have returned. It is safe to call
// more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.Simulator.abort()
		_ = s.srv.Close()
		<-s.served
		_ = s.Simulator.WaitIdle(context.Background())
		s.transport.CloseIdleConnections()
	})
}

// newHTTPServer serves h on HTTP/1.1 and on unencrypted HTTP/2 with prior
// knowledge (h2c). OpenRouter answers HTTP/2 over TLS, which multiplexes a
// gateway's streams on a few connections; h2c is that wire without the TLS
// a loopback test has no use for. Clients that do not ask for HTTP/2 get
// HTTP/1.1 as before.
func newHTTPServer(h http.Handler) *http.Server {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, Protocols: &p}
}

// shutdownGrace bounds how long a cancelled Serve lets streams finish.
const shutdownGrace = 5 * time.Second

// ListenAndServe runs a simulator on addr until ctx is cancelled. An addr
// without a host (":8090") binds 127.0.0.1, not every interface.
func ListenAndServe(ctx context.Context, addr string, opts Options) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("openroutertest: listen: %w", err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return fmt.Errorf("openroutertest: listen: %w", err)
	}
	return Serve(ctx, ln, opts)
}

// Serve runs a simulator on ln until ctx is cancelled, also serving its
// ledger at GET [LedgerPath] for tests in another process. It shuts down
// gracefully: it stops accepting, lets in-flight requests finish for up to
// five seconds, then cuts the rest off (recorded as Cancelled). It returns
// nil after a cancel, or the error that stopped serving. It closes ln.
func Serve(ctx context.Context, ln net.Listener, opts Options) error {
	if err := opts.Validate(); err != nil {
		_ = ln.Close()
		return err
	}
	sim := newSimulator(opts)
	srv := newHTTPServer(sim.withLedger())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		_ = srv.Shutdown(sctx)
		cancel()
		serveErr = <-errc
	}
	sim.abort()
	_ = srv.Close()
	_ = sim.WaitIdle(context.Background())
	if errors.Is(serveErr, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("openroutertest: serve: %w", serveErr)
}
