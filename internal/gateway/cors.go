package gateway

import (
	"net/http"
	"slices"
	"strings"
)

// corsExposed are the response headers a page may read: the ids to quote
// in a ticket, and what a refusal says about when to try again.
const corsExposed = "X-Request-Id, X-Generation-Id, Retry-After, X-Should-Retry, X-Quota-Type, X-Quota-Limit, X-Quota-Remaining, X-Quota-Reset"

// cors lets the chat app's pages call the gateway's /v1/ routes from the
// browser with a Clerk session token (CORS_ALLOWED_ORIGINS). The token is
// a bearer header, never a cookie, so no credentials mode is granted: a
// page of another origin can send only what it holds itself. Other paths
// (the admin API, the portal) are same-origin and get no CORS headers.
type cors struct {
	origins []string
	next    http.Handler
}

// withCORS wraps next when origins are configured; otherwise it is next,
// with no frame more under a stream (see chat).
func withCORS(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	return &cors{origins: origins, next: next}
}

func (c *cors) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.preflight(w, r) {
		return
	}
	c.next.ServeHTTP(w, r)
}

// preflight adds the CORS headers to a /v1/ request from an allowed
// origin, and answers it when it is a preflight (OPTIONS with
// Access-Control-Request-Method), reporting whether it did.
func (c *cors) preflight(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	allowed := origin != "" && slices.Contains(c.origins, origin)
	isPreflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if !isPreflight {
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", corsExposed)
		}
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
	if !allowed {
		writeError(w, &apiError{Status: http.StatusForbidden, Type: "invalid_request_error", Code: "origin_not_allowed",
			Message: "This origin may not call the gateway from a browser; add it to CORS_ALLOWED_ORIGINS."})
		return true
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	// The headers the page asked for, whatever they are (Authorization,
	// Content-Type, an SDK's own such as OpenAI's X-Stainless-*): the
	// origin is the gate, and nothing here rides on ambient credentials.
	if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" && len(rh) <= 2048 {
		h.Set("Access-Control-Allow-Headers", rh)
	}
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}
