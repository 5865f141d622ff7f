package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/convexclient"
	"llmmeter/internal/convextest"
	"llmmeter/internal/money"
	"llmmeter/openrouter/openroutertest"
)

// Proxy modes: how the flaky link to Convex behaves.
const (
	linkUp   int32 = iota // pass requests through
	linkDown              // drop the connection: Convex unreachable
	link503               // answer 503
	linkSlow              // hold the request until the client gives up (a partition)
)

// flakyLink is a reverse proxy in front of the Convex test backend whose
// behaviour the test switches, so the backend (in memory) keeps its data
// through the "outage".
type flakyLink struct {
	mode   atomic.Int32
	faults atomic.Int32
	srv    *httptest.Server
}

func newFlakyLink(t *testing.T, target string) *flakyLink {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	l := &flakyLink{}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch l.mode.Load() {
		case linkDown:
			l.faults.Add(1)
			panic(http.ErrAbortHandler) // the connection just drops
		case link503:
			l.faults.Add(1)
			http.Error(w, `{"error":{"code":"unavailable","message":"down for maintenance"}}`, 503)
			return
		case linkSlow:
			l.faults.Add(1)
			// Read the body first: only then does the server notice the
			// client giving up and end r.Context().
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Minute): // only a bound against a hang
			}
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(l.srv.Close)
	return l
}

// transport gives the service's Convex client a short per-request deadline
// only while the link is slow: the timeout is a fault injected after start,
// so the start itself runs with the default, generous timeout.
func (l *flakyLink) transport() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if l.mode.Load() != linkSlow {
			return http.DefaultTransport.RoundTrip(r)
		}
		ctx, cancel := context.WithTimeout(r.Context(), 300*time.Millisecond)
		defer cancel()
		res, err := http.DefaultTransport.RoundTrip(r.WithContext(ctx))
		if err == nil {
			res.Body.Close() // an answer after the switch to slow counts as a fault too
			err = context.DeadlineExceeded
		}
		return nil, err
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// convexTotals reads what Convex holds for all time, as an admin.
func convexTotals(t *testing.T, be backend) (requests, failed, tokens int64, cost money.Nanos) {
	t.Helper()
	convextest.Fold(t, be.URL, be.Secret, nil)
	cc, _ := convexclient.New(convexclient.Config{URL: be.URL})
	var ov struct {
		Requests, Failed, TotalTokens int64
		CostNanoUsd                   int64 `json:"costNanoUsd"`
	}
	now := time.Now().UnixMilli()
	admin := convexclient.WithAuth(convextest.Token(`{"sub":"ops","iss":"https://clerk.test","role":"admin"}`))
	if err := cc.Query(context.Background(), "llmmeter:overview", map[string]int64{"from": now - 40*3600_000 - now%3600_000, "to": now + 3600_000}, &ov, admin); err != nil {
		t.Fatal(err)
	}
	return ov.Requests, ov.Failed, ov.TotalTokens, money.Nanos(ov.CostNanoUsd)
}

func ledgerTotals(sim *openroutertest.Simulator) (gens int, tokens int64, cost money.Nanos) {
	for _, g := range sim.Ledger() {
		gens++
		tokens += g.PromptTokens + g.CompletionTokens
		cost += g.Cost
	}
	return
}

// TestDeliveryThroughConvexOutages keeps streaming requests coming while the
// link to Convex drops, answers 503 and times out; afterwards Convex holds
// exactly the simulator's ledger: nothing lost, nothing doubled.
func TestDeliveryThroughConvexOutages(t *testing.T) {
	site, _, secret := convextest.Start(t)
	be := backend{URL: site, Secret: secret}
	link := newFlakyLink(t, be.URL)
	cfg := testConfig(t, map[string]string{"CONVEX_URL": link.srv.URL, "CONVEX_SITE_URL": link.srv.URL, "CONVEX_INGEST_SECRET": be.Secret})
	a, err := Start(context.Background(), cfg, zerolog.Nop(), Options{
		Simulator: &openroutertest.Options{AnswerTokens: 8}, Stdout: io.Discard,
		ConvexHTTPClient: link.transport(), MaxDeliveryBackoff: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	e := &env{t: t, app: a, base: "http://" + a.Addr(), sim: a.Sim}
	u, _, err := a.Store.EnsureUser(context.Background(), userInput("loadgen"))
	if err != nil {
		t.Fatal(err)
	}
	// The key lookup is cached, so callers keep being served during outages.
	key := issueKey(t, a, u.ID)

	const perPhase = 25
	var sent atomic.Int32
	burst := func() {
		var wg sync.WaitGroup
		for i := range perPhase {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := e.post(chatBody(i%4 != 0, fmt.Sprintf("q%d", sent.Add(1))), key)
				io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					t.Errorf("status %d during an outage", res.StatusCode)
				}
			}()
		}
		wg.Wait()
	}
	for _, mode := range []int32{linkUp, linkDown, link503, linkSlow, linkUp} {
		before := link.faults.Load()
		link.mode.Store(mode)
		burst()
		if mode != linkUp {
			// Delivery keeps failing (and backing off) while the link is bad;
			// the rows wait in the outbox.
			waitFor(t, func() bool { return link.faults.Load() >= before+3 })
			st, _ := a.Outbox.Stats(context.Background())
			t.Logf("link mode %d: %d faults so far, outbox ready=%d pending=%d", mode, link.faults.Load(), st.Ready, st.Pending)
			if st.Ready == 0 {
				t.Fatal("nothing waiting in the outbox during an outage")
			}
		}
	}
	link.mode.Store(linkUp)
	e.settle()

	gens, tokens, cost := ledgerTotals(a.Sim.Simulator)
	reqs, _, gotTokens, gotCost := convexTotals(t, be)
	t.Logf("outages: %d requests sent, %d link faults; ledger %d generations $%s %d tokens; Convex %d requests $%s %d tokens",
		sent.Load(), link.faults.Load(), gens, cost, tokens, reqs, gotCost, gotTokens)
	if reqs != int64(sent.Load()) || gotCost != cost || gotTokens != tokens || gens != int(sent.Load()) {
		t.Fatal("Convex does not hold exactly the ledger")
	}
}

// waitFor polls cond for up to 30s: generous, for a busy machine.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 2 minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestQuotaChecksFailOpenOrClosed: when the store cannot answer a quota
// check, the default serves the call unchecked; QUOTA_ON_ERROR=closed
// refuses it with 503 and sends nothing upstream. A user with a warm lease
// needs no store to be admitted (issue 15), so the call during the outage
// is the user's first: the key is cached by a call refused as bad input,
// which never reaches the quota check.
func TestQuotaChecksFailOpenOrClosed(t *testing.T) {
	site, _, secret := convextest.Start(t)
	for _, c := range []struct {
		mode string
		want int
	}{{"open", 200}, {"closed", 503}} {
		t.Run(c.mode, func(t *testing.T) {
			link := newFlakyLink(t, site)
			cfg := testConfig(t, map[string]string{"CONVEX_URL": link.srv.URL, "CONVEX_SITE_URL": link.srv.URL,
				"CONVEX_INGEST_SECRET": secret, "QUOTA_ON_ERROR": c.mode})
			a, err := Start(context.Background(), cfg, zerolog.Nop(), Options{Stdout: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Shutdown(context.Background()) })
			u, _, _ := a.Store.EnsureUser(context.Background(), userInput("erin"))
			key := issueKey(t, a, u.ID)
			e := &env{t: t, base: "http://" + a.Addr(), sim: a.Sim}
			warm := e.post(`{"model":"openai/gpt-4o-mini","messages":[]}`, key) // the key is now cached
			io.ReadAll(warm.Body)
			warm.Body.Close()
			if warm.StatusCode != http.StatusBadRequest {
				t.Fatalf("warm-up call: %d, want 400", warm.StatusCode)
			}
			link.mode.Store(link503)
			before := len(a.Sim.Ledger())
			res := e.post(chatBody(false, "during the outage"), key)
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, c.want, body)
			}
			if went := len(a.Sim.Ledger()) - before; (c.want == 503) != (went == 0) {
				t.Fatalf("%d calls went upstream", went)
			}
		})
	}
}

// TestOutboxBoundRefusesCalls: while the store is unreachable the outbox
// grows; at OUTBOX_MAX_ENTRIES the gateway refuses new calls with 503
// instead of making calls it could not account for. The outage is injected
// after start: the start runs with the default Convex timeout (a 100ms one
// failed the start on a busy machine, and the failed start panicked).
func TestOutboxBoundRefusesCalls(t *testing.T) {
	site, _, secret := convextest.Start(t)
	link := newFlakyLink(t, site)
	cfg := testConfig(t, map[string]string{"CONVEX_URL": link.srv.URL, "CONVEX_SITE_URL": link.srv.URL,
		"CONVEX_INGEST_SECRET": secret, "OUTBOX_MAX_ENTRIES": "3"})
	a, err := Start(context.Background(), cfg, zerolog.Nop(), Options{Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	u, _, _ := a.Store.EnsureUser(context.Background(), userInput("fay"))
	key := issueKey(t, a, u.ID)
	e := &env{t: t, base: "http://" + a.Addr(), sim: a.Sim}
	call := func() *http.Response {
		res := e.post(chatBody(false, "count me"), key)
		io.ReadAll(res.Body)
		res.Body.Close()
		return res
	}
	call() // caches the key while Convex answers
	waitFor(t, func() bool { st, _ := a.Outbox.Stats(context.Background()); return st.Ready == 0 })
	link.mode.Store(linkDown)
	for i := range 3 {
		if res := call(); res.StatusCode != 200 {
			t.Fatalf("call %d before the bound: %d", i, res.StatusCode)
		}
	}
	res := call()
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("call past the bound: %d", res.StatusCode)
	}
	if n := len(a.Sim.Ledger()); n != 4 {
		t.Fatalf("%d calls went upstream, want 4 (the refused one must not)", n)
	}
}
