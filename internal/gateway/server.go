// Package gateway is the OpenAI-compatible front door: it authenticates the
// caller, forwards chat completions to OpenRouter (streaming chunks as they
// arrive), and hands one usage, request-log and activity row per request to
// the durable outbox, off the streaming path.
//
// Guarantees: a response that ended normally was recorded durably before its
// last byte; a request cut short (client gone, upstream failure) is recorded
// as pending and completed from OpenRouter's generation record. Bad input
// gets a 4xx in OpenAI's error shape and records nothing.
package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/auth"
	"llmmeter/internal/httpbody"
	"llmmeter/internal/metrics"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
	"llmmeter/openrouter"
)

// Options wire a Server.
type Options struct {
	Upstream *openrouter.Client
	Auth     auth.Authenticator
	Outbox   *outbox.Outbox
	Store    store.Store // for readiness
	Quotas   Admitter    // nil: no quota checks
	// QuotaFailClosed refuses a call (503) when its quota check fails;
	// otherwise the call is served unchecked, which keeps the gateway up
	// through a store outage.
	QuotaFailClosed bool
	// QuotaTimeout bounds the quota check before each call; default 2s.
	QuotaTimeout time.Duration
	Metrics      *metrics.Metrics
	Log          zerolog.Logger
	MaxBodyBytes int64
	IPPolicy     string // config.IPFull, IPTruncate or IPOff
	Simulated    bool   // the upstream is the built-in simulator
	MaxOutbox    int64  // refuse new calls while the outbox holds this many entries; 0 = no bound
	// UserWait bounds the store call that records an end user a service key
	// names for the first time (AUTH_CHECK_TIMEOUT); 0: only the request's.
	UserWait time.Duration
	// ClientWriteTimeout bounds one write to a client that stopped reading
	// (CLIENT_WRITE_TIMEOUT); default 60s. See writeDeadline.
	ClientWriteTimeout time.Duration
	// CORSOrigins may call /v1/ from a browser (CORS_ALLOWED_ORIGINS).
	CORSOrigins []string
	// Extra handlers by pattern, e.g. the embedded engine's admin API at
	// "/api/" and the portal at "/admin/"; they get the request id and log.
	Extra map[string]http.Handler
	Now   func() time.Time
}

// Server serves the gateway's HTTP API.
type Server struct {
	opt      Options
	models   *modelCache
	endUsers *auth.UserCache // end users named by service keys, by their id
}

// New returns a Server; opt.Upstream, Auth, Outbox and Store are required.
func New(opt Options) *Server {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.QuotaTimeout <= 0 {
		opt.QuotaTimeout = defaultQuotaTimeout
	}
	if opt.ClientWriteTimeout <= 0 {
		opt.ClientWriteTimeout = defaultClientWriteTimeout
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.New(nil)
	}
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = 4 << 20
	}
	return &Server{opt: opt, models: &modelCache{client: opt.Upstream, ttl: 5 * time.Minute, now: opt.Now},
		endUsers: auth.NewUserCache(opt.Store, 0, opt.UserWait)}
}

// Handler returns the routes, wrapped request-id → log → recover → auth.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	authed := func(h handlerFunc) http.Handler {
		return requireAuth(s.opt.Auth, s.opt.Log, h)
	}
	mux.Handle("POST /v1/chat/completions", s.chatRoute())
	mux.Handle("GET /v1/models", authed(s.listModels))
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	mux.Handle("GET /readyz", http.HandlerFunc(s.ready))
	mux.Handle("GET /metrics", s.opt.Metrics.Handler())
	// Our paths answer a wrong method with 405 and Allow, not 404: the
	// endpoint exists, the method is what is wrong. (GET patterns take HEAD.)
	for path, allow := range map[string]string{
		"/v1/chat/completions": "POST", "/v1/models": "GET, HEAD",
		"/healthz": "GET, HEAD", "/readyz": "GET, HEAD", "/metrics": "GET, HEAD",
	} {
		mux.Handle(path, methodNotAllowed(s.opt.Log, allow))
	}
	for pattern, h := range s.opt.Extra {
		mux.Handle(pattern, h)
	}
	mux.Handle("/", serve(s.opt.Log, func(w http.ResponseWriter, r *http.Request) error {
		// The path as sent (escaped: /v1/chat%2Fcompletions is not the chat
		// route, and must not read as if it were), cut to a readable length.
		return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "not_found",
			Message: "Unknown endpoint " + truncate(r.Method, 16) + " " + truncate(r.URL.EscapedPath(), 256) + "."}
	}))
	// Outermost: whatever answered, a body left unread is drained, so the
	// client reads the answer rather than a reset (package httpbody).
	return httpbody.Linger(withRequest(s.opt.Log, s.opt.Simulated, withCORS(s.opt.CORSOrigins, mux)))
}

// chatRoute serves POST /v1/chat/completions: a declared body over
// MaxBodyBytes is refused with 413 before anything else, authentication
// included (it is the request's real problem, and knowing it costs
// nothing; a chunked body is measured as the handler reads it), then the
// caller is authenticated. Both checks share the one handler frame under
// which a stream waits (see chat): every frame more under that wait can
// keep the stream's stack at twice its size (TestOpenStreamStacks).
func (s *Server) chatRoute() http.Handler {
	return serve(s.opt.Log, func(w http.ResponseWriter, r *http.Request) error {
		info(r.Context()).arrived = s.opt.Now()
		if httpbody.TooLarge(w, r, s.opt.MaxBodyBytes) {
			return bodyTooLarge(s.opt.MaxBodyBytes)
		}
		if err := authenticate(s.opt.Auth, r); err != nil {
			return err
		}
		return s.chat(w, r)
	})
}

// readyPingTimeout bounds the store ping of /readyz: a store that cannot be
// reached (Convex down at start) is a prompt 503, not a hanging probe.
const readyPingTimeout = 2 * time.Second

// ready answers 200 when the store answers and the outbox can write, with
// the outbox depth as detail.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	detail := map[string]any{"status": "ready"}
	status := http.StatusOK
	pingCtx, cancel := context.WithTimeout(r.Context(), readyPingTimeout)
	err := s.opt.Store.Ping(pingCtx)
	cancel()
	if err != nil {
		status, detail["status"], detail["store"] = http.StatusServiceUnavailable, "unavailable", "unreachable"
	}
	// The outbox is local: its own deadline, not what the ping left over.
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if st, err := s.opt.Outbox.Stats(ctx); err == nil {
		detail["outbox"] = map[string]any{"ready": st.Ready, "pending": st.Pending, "dead": st.Dead, "oldestMs": st.OldestMs, "stalled": s.opt.Outbox.Stalled()}
	}
	if s.opt.Outbox.Writable() != nil {
		// Calls are refused until the outbox can write again (see admit).
		status, detail["status"], detail["accounting"] = http.StatusServiceUnavailable, "unavailable", "outbox cannot write"
	}
	if s.opt.Simulated {
		detail["upstream"] = "simulator"
	}
	writeJSON(w, status, detail)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// methodNotAllowed answers 405 in OpenAI's error shape, naming the allowed
// methods in the Allow header and the message.
func methodNotAllowed(log zerolog.Logger, allow string) http.Handler {
	return serve(log, func(w http.ResponseWriter, r *http.Request) error {
		return &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Code: "method_not_allowed",
			Message: "Method " + r.Method + " is not allowed on " + r.URL.Path + "; use " + allow + ".", Headers: map[string]string{"Allow": allow}}
	})
}
