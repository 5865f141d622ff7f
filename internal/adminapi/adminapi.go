// Package adminapi serves the admin functions of the embedded engine over
// Convex's HTTP API, so that the portal, the CLI and convexclient talk to
// either engine the same way:
//
//	POST /api/query     {"path": "llmmeter:overview", "args": {...}, "format": "json"}
//	POST /api/mutation  {"path": "llmmeter:setQuota", "args": {...}, "format": "json"}
//
// answer 200 {"status":"success","value":...,"logLines":[]} or, when the
// function fails, 560 {"status":"error","errorMessage":...,"errorData":{code,
// message},"logLines":[]} (errorData only for expected failures, Convex's
// ConvexError; argument-validator failures and unknown paths carry none),
// as internal/convextest/backend/server.ts does. format "convex_encoded_json" with
// args as a one-element array (what ConvexHttpClient sends) works too.
// POST /api/action answers that no such action exists: there are none.
//
// The caller is whoever the Authenticator says the bearer credential is (an
// API key, or a Clerk session token with the admin claim); no credential is
// an anonymous call. The functions refuse anonymous callers with
// "unauthenticated" and other non-admins with "forbidden" (560, errorData)
// before they look at the arguments, as packages/convex/src/lib/auth.ts does, so that a
// non-admin learns nothing about them. A credential that does not verify is
// refused before any function runs: 401
// {"code":"Unauthenticated","message":...}, as Convex does for a bad token.
// A body that is not JSON is 400 {"code":"BadRequest","message":...}; one
// over MaxBody is 413 {"code":"PayloadTooLarge",...}, whoever the caller.
package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"llmmeter/internal/auth"
	"llmmeter/internal/httpbody"
	"llmmeter/internal/store"
)

// MaxBody is the largest request body accepted.
const MaxBody = 8 << 20

// StatusFunctionError is Convex's HTTP status for a function that threw.
const StatusFunctionError = 560

// Options configure Handler.
type Options struct {
	// Functions runs the functions; required (a *sqlitestore.Store).
	Functions store.Functions
	// Auth identifies callers; nil makes every caller anonymous.
	Auth auth.Authenticator
	// Log gets one line per internal failure; never tokens or arguments.
	Log zerolog.Logger
}

// Handler serves POST /api/query, /api/mutation and /api/action, and
// POST /api/export/requestLogs (export.go).
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	for _, kind := range []string{"query", "mutation", "action"} {
		mux.Handle("/api/"+kind, &handler{o: o, kind: kind})
	}
	mux.Handle("/api/export/requestLogs", exportHandler{&handler{o: o, kind: "query"}})
	return mux
}

type handler struct {
	o    Options
	kind string
}

// request is the body of a Convex HTTP API call.
type request struct {
	Path   any             `json:"path"`
	Args   json.RawMessage `json:"args"`
	Format string          `json:"format"`
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"code": "MethodNotAllowed", "message": "use POST"})
		return
	}
	caller, ok := h.admit(w, r)
	if !ok {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req request
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&req); err != nil || d.More() {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "BadRequest", "message": "body is not a JSON object"})
		return
	}
	path, ok := req.Path.(string)
	if !ok {
		writeError(w, "path: expected string", nil)
		return
	}
	args := req.Args
	if req.Format == "convex_encoded_json" {
		var list []json.RawMessage
		if json.Unmarshal(args, &list) == nil {
			args = nil
			if len(list) > 0 {
				args = list[0]
			}
		}
	}
	if h.kind == "action" {
		writeError(w, fmt.Sprintf("Could not find public action function '%s'", path), nil)
		return
	}
	value, err := h.o.Functions.Call(r.Context(), h.kind, path, args, caller)
	var (
		fe *store.FunctionError
		ae *store.ArgumentError
	)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]any{"status": "success", "value": value, "logLines": []string{}})
	case errors.As(err, &fe):
		msg, _ := marshal(fe)
		writeError(w, strings.TrimSpace(string(msg)), fe)
	case errors.As(err, &ae):
		writeError(w, ae.Error(), nil)
	case errors.Is(err, store.ErrNoFunction):
		writeError(w, fmt.Sprintf("Could not find public %s function '%s'", h.kind, path), nil)
	case r.Context().Err() != nil:
		// The caller went away (a page navigated on): nothing went wrong here.
		h.o.Log.Debug().Err(err).Str("path", path).Msg("admin function abandoned by its caller")
		writeError(w, "Server Error", nil)
	default:
		h.o.Log.Error().Err(err).Str("path", path).Msg("admin function failed")
		writeError(w, "Server Error", nil)
	}
}

// admit refuses a declared body over MaxBody (413, before anything else:
// it is the request's real problem) and a credential that does not verify,
// answering for itself; otherwise it returns the caller.
func (h *handler) admit(w http.ResponseWriter, r *http.Request) (store.Caller, bool) {
	if httpbody.TooLarge(w, r, MaxBody) {
		tooLarge(w)
		return store.Caller{}, false
	}
	caller, status, msg := h.authenticate(r)
	if status != 0 {
		code := map[int]string{400: "BadRequest", 401: "Unauthenticated", 503: "ServiceUnavailable", 500: "InternalServerError"}[status]
		writeJSON(w, status, map[string]any{"code": code, "message": msg})
		return store.Caller{}, false
	}
	return caller, true
}

// readBody reads the body, answering 413 or 400 itself when it cannot.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := httpbody.Read(w, r, MaxBody)
	var tooBig *httpbody.TooLargeError
	switch {
	case errors.As(err, &tooBig):
		tooLarge(w)
		return nil, false
	case errors.Is(err, httpbody.ErrTimeout):
		writeJSON(w, http.StatusRequestTimeout, map[string]any{"code": "RequestTimeout", "message": "the request body did not arrive within " + httpbody.ReadWithin.String()})
		return nil, false
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "BadRequest", "message": "body unreadable"})
		return nil, false
	}
	return body, true
}

func tooLarge(w http.ResponseWriter) {
	writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"code": "PayloadTooLarge",
		"message": fmt.Sprintf("request body is larger than %d bytes", MaxBody)})
}

// authenticate returns the caller, or an HTTP status and message refusing
// the request.
func (h *handler) authenticate(r *http.Request) (store.Caller, int, string) {
	hdr := r.Header.Get("Authorization")
	if hdr == "" || h.o.Auth == nil {
		return store.Caller{}, 0, ""
	}
	if _, ok := auth.Bearer(r); !ok {
		return store.Caller{}, http.StatusBadRequest, "Authorization must be 'Bearer <token>'"
	}
	p, err := h.o.Auth.Authenticate(r.Context(), r)
	switch {
	case err == nil:
		return store.Caller{Authenticated: true, UserID: p.UserID, IsAdmin: p.IsAdmin}, 0, ""
	case errors.Is(err, auth.ErrMissing), errors.Is(err, auth.ErrInvalid):
		return store.Caller{}, http.StatusUnauthorized, "invalid credential"
	case errors.Is(err, auth.ErrUnavailable):
		return store.Caller{}, http.StatusServiceUnavailable, "the credential cannot be checked right now; try again shortly"
	}
	h.o.Log.Error().Err(err).Msg("admin api: authenticate")
	return store.Caller{}, http.StatusInternalServerError, "internal error"
}

func writeError(w http.ResponseWriter, message string, data *store.FunctionError) {
	out := map[string]any{"status": "error", "errorMessage": message, "logLines": []string{}}
	if data != nil {
		out["errorData"] = data
	}
	writeJSON(w, StatusFunctionError, out)
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"InternalServerError","message":"cannot encode the result"}`+"\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
