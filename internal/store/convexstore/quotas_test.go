package convexstore

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"llmmeter/convexclient"
	"llmmeter/internal/store"
)

// TestReserveClassifiesInvalidInput: before the fix, Convex's 400
// ("tokens: expected non-negative integer") reached the gateway as an
// outage, which then served the call unchecked. Input out of range is now
// store.ErrInvalid without a call, and a 400 from Convex is ErrInvalid too.
func TestReserveClassifiesInvalidInput(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":{"code":"bad_request","message":"tokens: expected non-negative integer","type":"invalid_request_error"}}`))
	}))
	defer srv.Close()
	c, err := convexclient.New(convexclient.Config{SiteURL: srv.URL, Secret: "a-test-secret-of-at-least-32-bytes", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	s := New(c)
	ctx := context.Background()
	cases := []struct {
		name  string
		in    store.ReserveInput
		calls int32 // calls reaching Convex so far
	}{
		// The attack's estimate: refused before any call.
		{"MaxInt64 tokens", store.ReserveInput{RequestID: "r", UserID: "u", Tokens: math.MaxInt64, TTL: time.Minute}, 0},
		// In range here, refused by Convex: the 400 maps to ErrInvalid.
		{"Convex refuses", store.ReserveInput{RequestID: "r", UserID: "u", Tokens: 1, TTL: time.Minute}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Reserve(ctx, tc.in); !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			if calls.Load() != tc.calls {
				t.Fatalf("%d calls reached Convex, want %d", calls.Load(), tc.calls)
			}
		})
	}
}
