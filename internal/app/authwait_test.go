package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/auth"
	"llmmeter/internal/convextest"
)

// TestUnknownKeyWhileConvexHangs: while Convex hangs (a partition: no
// answer, no refusal), a key the service has not verified before waits at
// most AUTH_CHECK_TIMEOUT and gets 503 auth_unavailable in OpenAI's shape,
// with Retry-After; nothing goes upstream. Before, it waited the Convex
// client's whole attempt (15 s by default, 2 min here). A key that does not
// exist gets the same 503, never a 401 that the store did not say. Nothing
// of the failed look-ups is cached: once Convex answers, the key works and
// the bogus one is a 401.
func TestUnknownKeyWhileConvexHangs(t *testing.T) {
	site, _, secret := convextest.Start(t)
	link := newFlakyLink(t, site)
	cfg := testConfig(t, map[string]string{"CONVEX_URL": link.srv.URL, "CONVEX_SITE_URL": link.srv.URL,
		"CONVEX_INGEST_SECRET": secret, "AUTH_CHECK_TIMEOUT": "1s"})
	a, err := Start(context.Background(), cfg, zerolog.Nop(), Options{Stdout: io.Discard, ConvexTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	u, _, err := a.Store.EnsureUser(context.Background(), userInput("frank"))
	if err != nil {
		t.Fatal(err)
	}
	key := issueKey(t, a, u.ID) // never yet presented to the gateway
	bogus, _, _ := auth.NewKey()
	e := &env{t: t, base: "http://" + a.Addr(), sim: a.Sim}

	link.mode.Store(linkSlow)
	before := len(a.Sim.Ledger())
	for _, k := range []string{key, bogus} {
		start := time.Now()
		res := e.post(chatBody(false, "during the partition"), k)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		took := time.Since(start)
		var v struct {
			Error struct{ Message, Type, Code string } `json:"error"`
		}
		if err := json.Unmarshal(body, &v); err != nil || res.StatusCode != http.StatusServiceUnavailable ||
			v.Error.Code != "auth_unavailable" || v.Error.Type != "server_error" || v.Error.Message == "" || res.Header.Get("Retry-After") == "" {
			t.Fatalf("while Convex hangs: %d %v %s", res.StatusCode, res.Header, body)
		}
		// 1 s plus a busy machine's slack; the Convex attempt allowed 2 min.
		if took > time.Minute {
			t.Fatalf("a key look-up held the call %v while Convex hung", took)
		}
	}
	if went := len(a.Sim.Ledger()) - before; went != 0 {
		t.Fatalf("%d calls went upstream with an unchecked key", went)
	}

	// Once Convex answers again: a test backend that is catching up (the
	// one-at-a-time queue of deliveries and leases held back by the outage)
	// may still take longer than the 1 s bound, a 503 again; retried, each
	// key gets its real answer: nothing of the failures was cached.
	link.mode.Store(linkUp)
	for k, want := range map[string]int{key: http.StatusOK, bogus: http.StatusUnauthorized} {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			res := e.post(chatBody(false, "Convex answers again"), k)
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == want {
				break
			}
			if res.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
				t.Fatalf("once Convex answers: %d, want %d: %s", res.StatusCode, want, body)
			}
		}
	}
}
