package convexstore

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"llmmeter/convexclient"
	"llmmeter/internal/store"
)

// TestEnsureUserIsOneRoundTrip: EnsureUser called /users/ensure and then
// /users/get, two round trips in a row on the path of a new end user's
// first call (within AUTH_CHECK_TIMEOUT); /users/ensure now answers with
// the user, and EnsureUser reads it from there.
func TestEnsureUserIsOneRoundTrip(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		user := `{"id":"u1","clerkUserId":null,"externalId":"ann","email":null,"name":"Ann","role":"user","createdAt":5}`
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/users/ensure":
			w.Write([]byte(`{"userId":"u1","created":true,"user":` + user + `}`))
		case "/users/get":
			w.Write([]byte(`{"user":` + user + `}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	c, err := convexclient.New(convexclient.Config{SiteURL: srv.URL, Secret: "a-test-secret-of-at-least-32-bytes", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	u, created, err := New(c).EnsureUser(context.Background(), store.EnsureUserInput{ExternalID: "ann", Name: "Ann"})
	if err != nil || !created || u != (store.User{ID: "u1", ExternalID: "ann", Name: "Ann", CreatedAt: 5}) {
		t.Fatalf("EnsureUser: %+v, %v, %v", u, created, err)
	}
	if len(paths) != 1 {
		t.Fatalf("EnsureUser made %d requests %v, want one", len(paths), paths)
	}
}
