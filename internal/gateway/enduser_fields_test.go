package gateway

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"llmmeter/internal/auth"
)

// TestEndUserEmailShapes: the loose email check refuses each broken part
// on its own, and a display header counts only when sent once.
func TestEndUserEmailShapes(t *testing.T) {
	service := auth.Principal{UserID: "u_svc", KeyID: "k_svc", IsService: true, Method: "api_key"}
	for _, c := range []struct {
		name    string
		headers [][2]string
		ok      bool
	}{
		{"plain", [][2]string{{headerEndUserEmail, "ada@example.com"}}, true},
		{"subdomain", [][2]string{{headerEndUserEmail, "ada@mail.example.co.uk"}}, true},
		{"empty local part", [][2]string{{headerEndUserEmail, "@example.com"}}, false},
		{"domain starts with a dot", [][2]string{{headerEndUserEmail, "ada@.example.com"}}, false},
		{"domain ends with a dot", [][2]string{{headerEndUserEmail, "ada@example.com."}}, false},
		{"space in the local part", [][2]string{{headerEndUserEmail, "a da@example.com"}}, false},
		{"tab in the domain", [][2]string{{headerEndUserEmail, "ada@exa\tmple.com"}}, false},
		{"email sent twice", [][2]string{{headerEndUserEmail, "a@example.com"}, {headerEndUserEmail, "b@example.com"}}, false},
		{"name sent twice", [][2]string{{headerEndUserName, "Ada"}, {headerEndUserName, "Bea"}}, false},
		{"name not UTF-8", [][2]string{{headerEndUserName, "Ad\xffa"}}, false},
		{"empty name", [][2]string{{headerEndUserName, ""}}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", "/v1/chat/completions", nil)
			r.Header.Add(headerEndUser, "u1")
			for _, h := range c.headers {
				r.Header.Add(h[0], h[1])
			}
			got, err := endUserHeaders(r, service)
			if c.ok {
				if err != nil || got.id != "u1" {
					t.Fatalf("got %+v, %v; want accepted", got, err)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code != "invalid_request" {
				t.Fatalf("got %+v, %v; want 400 invalid_request", got, err)
			}
		})
	}
}

// TestEndUserDisplayFieldEncoding: JavaScript's fetch (the OpenAI SDK's)
// cannot send UTF-8 in a header: "Zoë" went as ISO-8859-1 and got a 400
// saying the name was over 256 bytes, and "王芳" cannot be sent at all. A
// display field may now be RFC 8187's ext-value (percent-encoded), and a value
// that is not UTF-8 gets a message saying so and how to send it.
func TestEndUserDisplayFieldEncoding(t *testing.T) {
	service := auth.Principal{UserID: "u_svc", KeyID: "k_svc", IsService: true, Method: "api_key"}
	for _, c := range []struct {
		name, header, value string
		want                string // accepted with this value, or refused when ""
		message             string // the refusal's message holds this
	}{
		{"percent-encoded CJK", headerEndUserName, "UTF-8''%E7%8E%8B%E8%8A%B3", "王芳", ""},
		{"percent-encoded, charset in lower case", headerEndUserName, "utf-8''Zo%C3%AB%20Ada", "Zoë Ada", ""},
		{"percent-encoded email", headerEndUserEmail, "UTF-8''z%40example.com", "z@example.com", ""},
		{"plain UTF-8 still passes", headerEndUserName, "Zoë", "Zoë", ""},
		{"ISO-8859-1 as fetch sends it", headerEndUserName, "Zo\xeb", "", "is not UTF-8 text"},
		{"bad escape", headerEndUserName, "UTF-8''%E7%8", "", "percent-encoded"},
		{"encoded bytes not UTF-8", headerEndUserName, "UTF-8''Zo%EB", "", "is not UTF-8 text"},
		{"encoded control character", headerEndUserName, "UTF-8''a%07b", "", "control characters"},
		{"decoded length counts", headerEndUserName, "UTF-8''" + strings.Repeat("%C3%AB", 129), "", "at most 256 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", "/v1/chat/completions", nil)
			r.Header.Add(headerEndUser, "u1")
			r.Header.Add(c.header, c.value)
			got, err := endUserHeaders(r, service)
			if c.want != "" {
				v := got.name
				if c.header == headerEndUserEmail {
					v = got.email
				}
				if err != nil || v != c.want {
					t.Fatalf("got %+v, %v; want %q", got, err, c.want)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, c.message) {
				t.Fatalf("got %+v, %v; want 400 saying %q", got, err, c.message)
			}
		})
	}
	// The prefix with nothing after it is an empty name (as an empty
	// header is), not the name "UTF-8''".
	r, _ := http.NewRequest("POST", "/v1/chat/completions", nil)
	r.Header.Add(headerEndUser, "u1")
	r.Header.Add(headerEndUserName, "UTF-8''")
	if got, err := endUserHeaders(r, service); err != nil || got.name != "" {
		t.Fatalf("prefix alone: %+v, %v", got, err)
	}
}
