package openroutertest

import (
	"context"
	"crypto/subtle"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"

	"llmmeter/internal/money"
)

// Simulator is the OpenRouter simulator as an http.Handler serving
// /api/v1/chat/completions, /api/v1/generation, /api/v1/models and
// /api/v1/key (also /api/v1/auth/key). It is safe for concurrent use.
type Simulator struct {
	opts   Options
	models map[string]Model

	// ctx is cancelled by Close; every request's waits also end on it.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	faults  []Fault
	entries []*entry // in start order
	byID    map[string]*entry
	total   money.Nanos   // cost of the finished entries
	active  int           // requests being handled
	closed  bool          // no new requests
	changed chan struct{} // closed and replaced on every ledger or activity change
}

// NewHandler returns a simulator to mount in another server. It panics if
// opts is invalid (see [Options.Validate]). Call Close to end in-flight
// streams when the hosting server shuts down.
func NewHandler(opts Options) *Simulator {
	if err := opts.Validate(); err != nil {
		panic(err.Error())
	}
	return newSimulator(opts)
}

func newSimulator(opts Options) *Simulator {
	opts = opts.withDefaults()
	s := &Simulator{
		opts:    opts,
		models:  make(map[string]Model, len(opts.Models)),
		byID:    map[string]*entry{},
		changed: make(chan struct{}),
	}
	for _, m := range opts.Models {
		s.models[m.ID] = m
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// ServeHTTP routes an OpenRouter API request.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		writeError(w, http.StatusServiceUnavailable, "Simulator is shutting down", nil)
		return
	}
	defer s.leave()

	route, needsKey, method := s.route(r.URL.Path)
	switch {
	case route == nil:
		writeError(w, http.StatusNotFound, "Not Found", nil)
	case r.Method != method:
		w.Header().Set("Allow", method)
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", nil)
	case needsKey && !s.authorized(r):
		writeError(w, http.StatusUnauthorized, "No auth credentials found", nil)
	default:
		route(w, r)
	}
}

func (s *Simulator) route(path string) (h http.HandlerFunc, needsKey bool, method string) {
	switch strings.TrimPrefix(path, "/api/v1") {
	case "/chat/completions":
		return s.serveChat, true, http.MethodPost
	case "/generation":
		return s.serveGeneration, true, http.MethodGet
	case "/models":
		return s.serveModels, false, http.MethodGet
	case "/key", "/auth/key":
		return s.serveKey, true, http.MethodGet
	}
	return nil, false, ""
}

func (s *Simulator) authorized(r *http.Request) bool {
	if s.opts.APIKey == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.APIKey)) == 1
}

func (s *Simulator) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.active++
	return true
}

func (s *Simulator) leave() {
	s.mu.Lock()
	s.active--
	s.notifyLocked()
	s.mu.Unlock()
}

// Close ends every in-flight generation (recording it as Cancelled),
// refuses new requests with 503, and waits for running handlers to return.
// A response cut off this way is aborted with panic(http.ErrAbortHandler),
// so the client sees a broken connection rather than a clean end; a
// recovering middleware in the hosting server should re-panic it. A
// handler blocked writing to a client that does not read returns only when
// its connection closes, so close the hosting http.Server concurrently.
func (s *Simulator) Close() {
	s.abort()
	_ = s.WaitIdle(context.Background())
}

func (s *Simulator) abort() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
}

// requestContext is r's context, also cancelled when the simulator closes.
func (s *Simulator) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomID returns n random alphanumerics; 20 of them make a collision
// among generations astronomically unlikely.
func randomID(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[rand.IntN(len(idAlphabet))]
	}
	return string(b)
}
