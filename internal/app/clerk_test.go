package app

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/auth/authtest"
)

// TestClerkSessionThroughTheGateway: a Clerk session token is accepted beside
// API keys, its user gets one users row keyed by the Clerk id, and that row's
// id is what the usage row and OpenRouter's user field carry. A token from a
// foreign key is refused and records nothing.
func TestClerkSessionThroughTheGateway(t *testing.T) {
	key := authtest.NewKey()
	clerk := authtest.NewServer(key)
	defer clerk.Close()
	issuer := "https://clerk.example.test"
	e := start(t, "CLERK_ISSUER", issuer, "CLERK_JWKS_URL", clerk.JWKSURL())

	token := key.Sign(authtest.SessionClaims(issuer, "user_2abc", time.Now()))
	for range 2 {
		res := e.post(chatBody(true, "hello from the chat app"), token)
		io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	forged := authtest.NewKey().Sign(authtest.SessionClaims(issuer, "user_evil", time.Now()))
	if res := e.post(chatBody(true, "x"), forged); res.StatusCode != 401 {
		t.Fatalf("forged token: %d", res.StatusCode)
	}
	// A session token may not name someone else (only service keys may):
	// 403, nothing stored (the request-log count below stays at 2).
	req, _ := http.NewRequest("POST", e.base+"/v1/chat/completions", strings.NewReader(chatBody(false, "x")))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Llmmeter-User", "someone_else")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 403 || !strings.Contains(string(body), `"permission_error"`) {
		t.Fatalf("clerk token naming an end user: %d %s", res.StatusCode, body)
	}
	e.settle()
	e.matchLedger()
	var id string
	var users int
	e.db.QueryRow(`SELECT count(*) FROM users WHERE clerkUserId IS NOT NULL`).Scan(&users)
	e.db.QueryRow(`SELECT id FROM users WHERE clerkUserId = 'user_2abc'`).Scan(&id)
	if users != 1 || id == "" {
		t.Fatalf("clerk users %d, id %q", users, id)
	}
	for _, g := range e.sim.Ledger() {
		if g.User != id {
			t.Fatalf("upstream user %q, want %q", g.User, id)
		}
	}
	var rows int
	e.db.QueryRow(`SELECT count(*) FROM usageTracking WHERE userId = ?`, id).Scan(&rows)
	if rows != 2 || e.count("requestLogs") != 2 {
		t.Fatalf("usage rows %d, logs %d", rows, e.count("requestLogs"))
	}
}
