package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"llmmeter/internal/auth"
	"llmmeter/internal/store"
)

// The headers with which a service key names the end user of a call, as
// LiteLLM's x-litellm-end-user-id and Helicone's Helicone-User-Id do.
const (
	headerEndUser      = "X-Llmmeter-User"
	headerEndUserName  = "X-Llmmeter-User-Name"
	headerEndUserEmail = "X-Llmmeter-User-Email"
)

// Bounds of the end user's fields.
const (
	maxEndUserID    = 128
	maxEndUserName  = 256
	maxEndUserEmail = 320
)

// endUser is the person a service key's call is for, as the caller named it.
type endUser struct {
	id, name, email string
	named           bool // an id was given, by header (or later by the body)
}

// endUserHeaders reads the X-Llmmeter-User headers. Only a service key may
// send them: anyone else is refused (403) rather than ignored, so that a
// misconfigured caller learns at once that its rows are not attributed the
// way it meant. Nothing is stored either way.
func endUserHeaders(r *http.Request, p auth.Principal) (endUser, error) {
	h := r.Header
	_, hasID := h[headerEndUser]
	_, hasName := h[headerEndUserName]
	_, hasEmail := h[headerEndUserEmail]
	if !hasID && !hasName && !hasEmail {
		return endUser{}, nil
	}
	if !p.IsService {
		return endUser{}, &apiError{Status: http.StatusForbidden, Type: "permission_error", Code: "not_a_service_key",
			Message: headerEndUser + " headers may be sent only with a service key; this credential calls as its own user."}
	}
	var (
		eu  endUser
		err error
	)
	if hasID {
		if len(h.Values(headerEndUser)) != 1 {
			return endUser{}, badRequest("%s must be sent once.", headerEndUser)
		}
		if eu.id, err = endUserID(h.Get(headerEndUser), headerEndUser); err != nil {
			return endUser{}, err
		}
		eu.named = true
	}
	if eu.name, err = displayField(h, headerEndUserName, maxEndUserName); err != nil {
		return endUser{}, err
	}
	if eu.email, err = displayField(h, headerEndUserEmail, maxEndUserEmail); err != nil {
		return endUser{}, err
	}
	if eu.email != "" && !looksLikeEmail(eu.email) {
		return endUser{}, badRequest("%s must look like an email address (name@domain).", headerEndUserEmail)
	}
	return eu, nil
}

// fromBody takes the body's "user" (OpenAI's own field for it) as the end
// user's id when no header named one. A service key only: for others the
// body's user is dropped, as it always was. A user left out names nobody
// (the call is the service key's own); one sent as "" is refused, since it
// is most likely an app's unset id, whose calls would all be charged to
// the service key's user and escape the end users' quotas.
func (eu *endUser) fromBody(user string, given bool) error {
	if eu.named {
		return nil
	}
	if user == "" {
		if given {
			return badRequest("user must not be empty: name the end user, or leave user out to call as the service key's own user.")
		}
		return nil
	}
	var err error
	if eu.id, err = endUserID(user, "user"); err != nil {
		return err
	}
	eu.named = true
	return nil
}

// endUserID checks an end user's id: 1..128 of [A-Za-z0-9_:.@|-], enough
// for Clerk subjects, emails and "tenant:user" forms, and nothing that
// could need escaping in a log line or a URL.
func endUserID(id, field string) (string, error) {
	ok := len(id) >= 1 && len(id) <= maxEndUserID
	for i := 0; ok && i < len(id); i++ {
		ok = isIDByte(id[i])
	}
	if !ok {
		return "", badRequest("%s must be 1 to %d characters of A-Z a-z 0-9 _ : . @ | -.", field, maxEndUserID)
	}
	return id, nil
}

func isIDByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("_:.@|-", b) >= 0
}

// rfc8187Prefix starts a display header sent as RFC 8187's ext-value: the
// charset, two apostrophes, then the text percent-encoded (displayField).
const rfc8187Prefix = "utf-8''"

// displayField reads an optional display header: sent at most once, valid
// UTF-8 without control characters, at most max bytes.
//
// A chat app's server cannot send UTF-8 in a header from JavaScript's fetch
// (the OpenAI SDK's, Node's, Convex's) or Python's http.client: they send a
// character up to U+00FF as one ISO-8859-1 byte ("Zoë" arrives as 5A 6F EB,
// not UTF-8) and refuse any other ("王芳" throws before the call). So a
// value may also be RFC 8187's ext-value, which any client can send:
//
//	X-Llmmeter-User-Name: UTF-8''%E7%8E%8B%E8%8A%B3
//	headers["x-llmmeter-user-name"] = "UTF-8''" + encodeURIComponent(name) // JavaScript
//
// and a value that is not UTF-8 is refused with a message saying how to
// send it, not with one about its length.
func displayField(h http.Header, name string, max int) (string, error) {
	vals := h.Values(name)
	switch {
	case len(vals) == 0:
		return "", nil
	case len(vals) > 1:
		return "", badRequest("%s must be sent once.", name)
	}
	v := strings.TrimSpace(vals[0])
	if len(v) >= len(rfc8187Prefix) && strings.EqualFold(v[:len(rfc8187Prefix)], rfc8187Prefix) {
		d, err := url.PathUnescape(v[len(rfc8187Prefix):])
		if err != nil {
			return "", badRequest("%s: the text after UTF-8'' must be percent-encoded UTF-8 (encodeURIComponent).", name)
		}
		v = strings.TrimSpace(d)
	}
	switch {
	case !utf8.ValidString(v):
		return "", badRequest("%s is not UTF-8 text. Send text past ASCII percent-encoded, as UTF-8''<percent-encoded UTF-8> (RFC 8187): \"UTF-8''\" + encodeURIComponent(name).", name)
	case len(v) > max || strings.IndexFunc(v, unicode.IsControl) >= 0:
		return "", badRequest("%s must be at most %d bytes of UTF-8 text, without control characters.", name, max)
	}
	return v, nil
}

// looksLikeEmail is a loose shape check: one @ between non-empty parts, a
// dot in the domain, no spaces. Deliverability is not our business.
func looksLikeEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(domain, "@") &&
		!strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.ContainsFunc(s, unicode.IsSpace)
}

// attribute decides whose call this is: the named end user (created on
// first sight, through the same cache as Clerk users), or else the
// credential's own user. Name and email without an id are refused: they
// would describe nobody.
func (s *Server) attribute(ctx context.Context, c *call, p auth.Principal, eu endUser) error {
	c.userID, c.apiKeyID = p.UserID, p.KeyID
	if !eu.named {
		if eu.name != "" || eu.email != "" {
			return badRequest("%s and %s describe the end user named by %s (or the body's user); name one.", headerEndUserName, headerEndUserEmail, headerEndUser)
		}
		return nil
	}
	id, err := s.endUsers.UserID(ctx, store.EnsureUserInput{ExternalID: eu.id, Name: eu.name, Email: eu.email})
	switch {
	case errors.Is(err, store.ErrInvalid):
		return badRequest("The end user was refused: %v", err)
	case err != nil:
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "users_unavailable",
			Message: "The end user cannot be recorded right now; try again shortly.", RetryAfter: 5, Cause: err}
	}
	c.userID = id
	return nil
}
