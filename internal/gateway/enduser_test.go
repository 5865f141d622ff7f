package gateway

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"llmmeter/internal/auth"
)

// TestEndUserHeaders pins who may name an end user and which names pass.
func TestEndUserHeaders(t *testing.T) {
	service := auth.Principal{UserID: "u_svc", KeyID: "k_svc", IsService: true, Method: "api_key"}
	userKey := auth.Principal{UserID: "u_1", KeyID: "k_1", Method: "api_key"}
	clerk := auth.Principal{UserID: "u_2", Method: "clerk"}
	admin := auth.Principal{UserID: "u_3", KeyID: "k_3", IsAdmin: true, Method: "api_key"}
	for _, c := range []struct {
		name    string
		p       auth.Principal
		headers [][2]string
		want    endUser
		status  int // 0: accepted
		code    string
	}{
		// No headers: nobody named, for any credential.
		{"service, no headers", service, nil, endUser{}, 0, ""},
		{"clerk, no headers", clerk, nil, endUser{}, 0, ""},
		// Every allowed character, at the upper bound of 128.
		{"all allowed characters", service, [][2]string{{headerEndUser, "aZ09_:.@|-" + strings.Repeat("x", 118)}},
			endUser{id: "aZ09_:.@|-" + strings.Repeat("x", 118), named: true}, 0, ""},
		{"display fields trimmed", service, [][2]string{{headerEndUser, "u1"}, {headerEndUserName, " Zoë Ada "}, {headerEndUserEmail, "z@example.com"}},
			endUser{id: "u1", name: "Zoë Ada", email: "z@example.com", named: true}, 0, ""},
		// Name and email alone pass here; attribute refuses them without an id
		// (the body may still name one).
		{"name alone", service, [][2]string{{headerEndUserName, "Ada"}}, endUser{name: "Ada"}, 0, ""},
		// Only a service key may name anyone: 403, whatever the header says.
		{"user key", userKey, [][2]string{{headerEndUser, "u1"}}, endUser{}, 403, "not_a_service_key"},
		{"clerk token", clerk, [][2]string{{headerEndUser, "u1"}}, endUser{}, 403, "not_a_service_key"},
		{"admin key", admin, [][2]string{{headerEndUser, "u1"}}, endUser{}, 403, "not_a_service_key"},
		{"user key, name only", userKey, [][2]string{{headerEndUserName, "Ada"}}, endUser{}, 403, "not_a_service_key"},
		{"clerk token, bad id", clerk, [][2]string{{headerEndUser, "a b"}}, endUser{}, 403, "not_a_service_key"},
		// Bad ids.
		{"empty id", service, [][2]string{{headerEndUser, ""}}, endUser{}, 400, "invalid_request"},
		{"129 characters", service, [][2]string{{headerEndUser, strings.Repeat("a", 129)}}, endUser{}, 400, "invalid_request"},
		{"space", service, [][2]string{{headerEndUser, "a b"}}, endUser{}, 400, "invalid_request"},
		{"slash", service, [][2]string{{headerEndUser, "a/b"}}, endUser{}, 400, "invalid_request"},
		{"non-ASCII", service, [][2]string{{headerEndUser, "zoë"}}, endUser{}, 400, "invalid_request"},
		{"sent twice", service, [][2]string{{headerEndUser, "a"}, {headerEndUser, "b"}}, endUser{}, 400, "invalid_request"},
		// Bad display fields.
		{"name too long", service, [][2]string{{headerEndUser, "u1"}, {headerEndUserName, strings.Repeat("n", 257)}}, endUser{}, 400, "invalid_request"},
		{"name of exactly 256 bytes", service, [][2]string{{headerEndUser, "u1"}, {headerEndUserName, strings.Repeat("n", 256)}},
			endUser{id: "u1", name: strings.Repeat("n", 256), named: true}, 0, ""},
		{"name starting with a control character", service, [][2]string{{headerEndUser, "u1"}, {headerEndUserName, "\x1bAda"}}, endUser{}, 400, "invalid_request"},
		{"name with a control character", service, [][2]string{{headerEndUser, "u1"}, {headerEndUserName, "a\x7fb"}}, endUser{}, 400, "invalid_request"},
		{"email without @", service, [][2]string{{headerEndUser, "u1"}, {headerEndUserEmail, "example.com"}}, endUser{}, 400, "invalid_request"},
		{"email without a dot in the domain", service, [][2]string{{headerEndUser, "u1"}, {headerEndUserEmail, "a@localhost"}}, endUser{}, 400, "invalid_request"},
		{"email with two @", service, [][2]string{{headerEndUser, "u1"}, {headerEndUserEmail, "a@b@c.com"}}, endUser{}, 400, "invalid_request"},
		{"email too long", service, [][2]string{{headerEndUser, "u1"}, {headerEndUserEmail, strings.Repeat("a", 310) + "@example.com"}}, endUser{}, 400, "invalid_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", "/v1/chat/completions", nil)
			for _, h := range c.headers {
				r.Header.Add(h[0], h[1])
			}
			got, err := endUserHeaders(r, c.p)
			if c.status == 0 {
				if err != nil || got != c.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != c.status || ae.Code != c.code {
				t.Fatalf("got %+v, %v; want %d %s", got, err, c.status, c.code)
			}
		})
	}
}

// TestBodyUserNamesTheEndUser: the body's user counts only when no header
// named anyone, and is held to the same rule.
func TestBodyUserNamesTheEndUser(t *testing.T) {
	for _, c := range []struct {
		name    string
		before  endUser
		user    string
		given   bool
		want    endUser
		wantErr bool
	}{
		{"header wins", endUser{id: "h", named: true}, "b", true, endUser{id: "h", named: true}, false},
		{"header wins over empty", endUser{id: "h", named: true}, "", true, endUser{id: "h", named: true}, false},
		{"body names", endUser{}, "tenant:42", true, endUser{id: "tenant:42", named: true}, false},
		{"left out names nobody", endUser{}, "", false, endUser{}, false},
		{"empty is refused", endUser{}, "", true, endUser{}, true},
		{"display fields kept", endUser{name: "Ada"}, "b", true, endUser{id: "b", name: "Ada", named: true}, false},
		{"bad body user", endUser{}, "a b", true, endUser{}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			eu := c.before
			err := eu.fromBody(c.user, c.given)
			if (err != nil) != c.wantErr || (!c.wantErr && eu != c.want) {
				t.Fatalf("got %+v, %v", eu, err)
			}
		})
	}
}
