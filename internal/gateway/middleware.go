package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/auth"
	"llmmeter/internal/money"
)

// reqInfo is what one request's log line says. The handler fills it in as it
// learns things; the logging middleware writes it once at the end.
type reqInfo struct {
	ID     string
	UserID string
	Model  string
	// Status is the request log's status code once the call is recorded; the
	// log line says the same as the row, which can differ from what went on
	// the wire (a stream that failed after its 200).
	Status     int
	Generation string
	Stream     bool
	UpstreamMs int64
	TTFTMs     int64
	// HasUsage: the call has a usage row. TokensEstimated: its tokens are
	// our local estimate until the generation record answers. CostKnown:
	// its cost is final (reported by OpenRouter).
	HasUsage, TokensEstimated, CostKnown bool
	Tokens                               int64
	Cost                                 money.Nanos
	CostStatus                           string
	ErrorCode                            string
	ClientGone                           bool

	// principal is the authenticated caller (requireAuth). Kept here
	// rather than in a context value of its own: that took a second copy
	// of the request, held for a stream's whole life.
	principal auth.Principal
	// arrived is when a chat call reached the gateway (its clock): the
	// added latency before upstream is counted from it (observeAdded).
	arrived time.Time
}

type ctxKey int

const infoKey ctxKey = 0

func info(ctx context.Context) *reqInfo {
	if i, ok := ctx.Value(infoKey).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

func principal(ctx context.Context) auth.Principal { return info(ctx).principal }

// newRequestID is our own id for every request. A client's X-Request-Id is
// logged beside it but never used as an idempotency key: two clients could
// send the same one.
func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

// statusWriter remembers the status and byte count, and passes Flush and
// Unwrap through so http.ResponseController reaches the real writer.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// withRequest assigns the request id, recovers panics, and logs one line
// per request: never keys, tokens or message text.
func withRequest(log zerolog.Logger, simulated bool, next http.Handler) http.Handler {
	return &requestLogger{log: log, simulated: simulated, next: next}
}

type requestLogger struct {
	log       zerolog.Logger
	simulated bool
	next      http.Handler
}

// request is one request's state in requestLogger, one allocation.
type request struct {
	start time.Time
	info  reqInfo
	sw    statusWriter
}

// ServeHTTP keeps its frame small: a stream's handler waits beneath it for
// the stream's whole life (see chat); the work is in begin and end.
func (l *requestLogger) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq, r := l.begin(w, r)
	defer func() { l.end(rq, r, recover()) }()
	l.next.ServeHTTP(&rq.sw, r)
}

func (l *requestLogger) begin(w http.ResponseWriter, r *http.Request) (*request, *http.Request) {
	rq := &request{start: time.Now(), info: reqInfo{ID: newRequestID()}, sw: statusWriter{ResponseWriter: w}}
	h := w.Header()
	h.Set("X-Request-Id", rq.info.ID)
	if l.simulated {
		h.Set("X-Upstream", "simulator")
	}
	return rq, r.WithContext(context.WithValue(r.Context(), infoKey, &rq.info))
}

// end writes the request's log line, after answering a panic with a 500
// when the response had not begun.
func (l *requestLogger) end(rq *request, r *http.Request, p any) {
	log, ri, sw := l.log, &rq.info, &rq.sw
	if p != nil {
		if p == http.ErrAbortHandler {
			panic(p)
		}
		log.Error().Str("request_id", ri.ID).Interface("panic", p).Bytes("stack", debug.Stack()).Msg("handler panicked")
		if sw.status == 0 {
			writeError(sw, &apiError{Status: 500, Type: "server_error", Code: "internal_error", Message: "Internal error."})
		}
	}
	wire := sw.status
	if wire == 0 {
		wire = http.StatusOK
	}
	status := wire
	if ri.Status != 0 {
		status = ri.Status
	}
	ev := log.Info()
	if status >= 500 && status != 560 { // 560: a function's own error, answered as designed
		ev = log.Error()
	}
	if !ev.Enabled() {
		return // the level is off: no field is computed
	}
	ev.Str("request_id", ri.ID).Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).
		Dur("latency_ms", time.Since(rq.start)).Int64("bytes_out", sw.n)
	if wire != status {
		ev.Int("http_status", wire)
	}
	if cid := r.Header.Get("X-Request-Id"); cid != "" && len(cid) <= 128 {
		ev.Str("client_request_id", cid)
	}
	if ri.UserID != "" {
		ev.Str("user", ri.UserID)
	}
	if ri.Model != "" {
		ev.Str("model", ri.Model).Bool("stream", ri.Stream).Str("generation_id", ri.Generation).
			Int64("upstream_ms", ri.UpstreamMs).Int64("ttft_ms", ri.TTFTMs)
	}
	if ri.HasUsage {
		// Figures the row does not hold yet are labelled, or left out.
		if ri.TokensEstimated {
			ev.Int64("tokens_estimated", ri.Tokens)
		} else {
			ev.Int64("tokens", ri.Tokens)
		}
		if ri.CostKnown {
			ev.Str("cost_usd", ri.Cost.String())
		}
		ev.Str("cost_status", ri.CostStatus)
	}
	if ri.ErrorCode != "" {
		ev.Str("error_code", ri.ErrorCode)
	}
	if ri.ClientGone {
		ev.Bool("client_gone", true)
	}
	ev.Msg("request")
}

// handlerFunc is a handler that returns its error to one writer of responses.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// serve adapts h: an error becomes its client face; the cause is logged.
func serve(log zerolog.Logger, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		ae := asAPIError(err)
		ri := info(r.Context())
		ri.ErrorCode = ae.Code
		if ae.Cause != nil && ae.Status >= 500 {
			log.Error().Str("request_id", ri.ID).Err(ae.Cause).Msg(ae.Message)
		}
		if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
			return // the response began; nothing more can be said
		}
		writeError(w, ae)
	})
}

// requireAuth serves h to the callers the authenticator accepts. One
// handler frame, not two nested ones: a stream's handler waits beneath it
// (see chat).
func requireAuth(a auth.Authenticator, log zerolog.Logger, h handlerFunc) http.Handler {
	return serve(log, func(w http.ResponseWriter, r *http.Request) error {
		if err := authenticate(a, r); err != nil {
			return err
		}
		return h(w, r)
	})
}

// authenticate notes the caller's principal in the request's reqInfo.
func authenticate(a auth.Authenticator, r *http.Request) error {
	p, err := a.Authenticate(r.Context(), r)
	if err != nil {
		return err
	}
	ri := info(r.Context())
	ri.UserID, ri.principal = p.UserID, p
	return nil
}
