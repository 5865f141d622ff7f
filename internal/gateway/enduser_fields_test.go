package gateway

import (
	"errors"
	"net/http"
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
