package convexstore

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"llmmeter/convexclient"
	"llmmeter/internal/store"
)

// TestOlderDeploymentIsNotBadInput: a deployment whose functions predate
// the v2 signature answers the new header with 400 "malformed
// X-Llmmeter-Signature header". That must not read as store.ErrInvalid,
// on which the outbox sets rows aside for good: deploying the service
// before the functions would lose them. Other 400s still are ErrInvalid.
func TestOlderDeploymentIsNotBadInput(t *testing.T) {
	for _, c := range []struct {
		message string
		invalid bool
	}{
		{"malformed X-Llmmeter-Signature header: needs t and v1", false},
		{"usage[0].promptTokens: expected non-negative integer", true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"code":"bad_request","message":"`+c.message+`"}}`)
		}))
		cl, err := convexclient.New(convexclient.Config{SiteURL: srv.URL, Secret: "a-test-secret-of-at-least-32-bytes", MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		b := store.Batch{Activity: []store.Activity{{ActivityKey: "k", UserID: "u", ActivityType: store.ActivityChatCompletion, Timestamp: 1}}}
		_, err = New(cl).Ingest(context.Background(), b)
		srv.Close()
		if err == nil || errors.Is(err, store.ErrInvalid) != c.invalid {
			t.Errorf("%q: err %v, want ErrInvalid %v", c.message, err, c.invalid)
		}
	}
}
