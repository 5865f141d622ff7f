package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/convexclient"
	"llmmeter/internal/convextest"
	"llmmeter/internal/money"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
	"llmmeter/openrouter/openroutertest"
)

// setQuota sets a quota through the engine's own admin:setQuota.
func setQuota(t *testing.T, a *App, userID, typ string, limit float64) {
	t.Helper()
	args, _ := json.Marshal(map[string]any{"userId": userID, "quotaType": typ, "limit": limit})
	if typ == store.QuotaSystemMonthlyCostUSD {
		args, _ = json.Marshal(map[string]any{"quotaType": typ, "limit": limit})
	}
	s := a.Store.(*sqlitestore.Store)
	if _, err := s.Call(context.Background(), "mutation", "admin:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
		t.Fatal(err)
	}
}

// burst sends n concurrent calls and counts answers by status.
func burst(e *env, n int, text string) map[int]int {
	return burstBody(e, n, func(i int) string { return chatBody(i%2 == 0, fmt.Sprintf("%s %d", text, i)) })
}

func burstBody(e *env, n int, body func(i int) string) map[int]int {
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := e.post(body(i), e.key)
			io.ReadAll(res.Body)
			res.Body.Close()
			mu.Lock()
			codes[res.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return codes
}

func userOf(t *testing.T, e *env) string {
	var id string
	if err := e.db.QueryRow(`SELECT id FROM users WHERE externalId = 'alice'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestDailyRequestQuotaAdmitsExactlyItsLimit: 100 concurrent calls of one
// user against daily_requests = 10 pass exactly 10 (strict mode), the rest
// get the 429 of the quota contract.
func TestDailyRequestQuotaAdmitsExactlyItsLimit(t *testing.T) {
	e := start(t)
	setQuota(t, e.app, userOf(t, e), store.QuotaDailyRequests, 10)
	codes := burst(e, 100, "burst")
	if codes[200] != 10 || codes[429] != 90 {
		t.Fatalf("answers %v", codes)
	}
	res := e.post(chatBody(false, "one more"), e.key)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("X-Quota-Limit") != "10" || res.Header.Get("X-Quota-Remaining") != "0" ||
		res.Header.Get("X-Quota-Type") != "daily_requests" || res.Header.Get("Retry-After") == "" {
		t.Fatalf("429 contract: %d %v %s", res.StatusCode, res.Header, body)
	}
	reset, _ := strconv.ParseInt(res.Header.Get("X-Quota-Reset"), 10, 64)
	if reset <= time.Now().Unix() {
		t.Fatalf("X-Quota-Reset %d is not in the future", reset)
	}
	var v struct {
		Error struct{ Message, Type, Code string } `json:"error"`
	}
	json.Unmarshal(body, &v)
	if v.Error.Code != "quota_exceeded" || v.Error.Type != "rate_limit_error" {
		t.Fatalf("body %s", body)
	}
	e.settle()
	e.matchLedger()
	var used float64
	e.db.QueryRow(`SELECT used FROM userQuotas WHERE quotaType = 'daily_requests'`).Scan(&used)
	if used != 10 || e.count("requestLogs") != 10 || e.count("quotaReservations") != 0 {
		t.Fatalf("used %v, request logs %d, open reservations %d", used, e.count("requestLogs"), e.count("quotaReservations"))
	}
}

// TestCostQuotaStopsWithinOneCall: a monthly cost quota stops spending with
// at most one call over its limit, though calls come 20 at a time. The
// calls carry max_tokens, so their reservations are true upper bounds.
func TestCostQuotaStopsWithinOneCall(t *testing.T) {
	e := start(t)
	const limitUSD = 0.0001 // a few dozen calls of the simulator's default answer
	setQuota(t, e.app, userOf(t, e), store.QuotaMonthlyCostUSD, limitUSD)
	limit, _ := money.ParseUSD("0.0001")
	e.post(chatBody(false, "warm the price cache"), e.key).Body.Close()
	total := map[int]int{}
	for wave := range 10 {
		codes := burstBody(e, 20, func(i int) string {
			return fmt.Sprintf(`{"model":"openai/gpt-4o-mini","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"spend %d-%d"}]}`, wave, i)
		})
		for code, n := range codes {
			total[code] += n
		}
		e.settle() // the wave's calls are counted; their reservations settle
	}
	e.settle()
	e.matchLedger()
	var spent, maxCall money.Nanos
	for _, g := range e.sim.Ledger() {
		spent += g.Cost
		maxCall = max(maxCall, g.Cost)
	}
	t.Logf("cost quota $%s: %d admitted, %d refused, spent $%s (largest call $%s)", limit, total[200], total[429], spent, maxCall)
	if total[429] == 0 || spent > limit+maxCall || spent < limit-maxCall {
		t.Fatalf("spent $%s against a limit of $%s (one call is at most $%s)", spent, limit, maxCall)
	}
}

// TestTwoReplicasKeepOneCount: two services on one store file (one SQLite
// database, two processes' worth of outboxes) share the daily count.
func TestTwoReplicasKeepOneCount(t *testing.T) {
	shared := t.TempDir()
	var apps []*App
	var bases []string
	for range 2 {
		cfg := testConfig(t, nil)
		a, err := Start(context.Background(), cfg, zerolog.Nop(), Options{StorePath: shared + "/store.db",
			Simulator: &openroutertest.Options{AnswerTokens: 5}, Stdout: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Shutdown(context.Background()) })
		apps, bases = append(apps, a), append(bases, "http://"+a.Addr())
	}
	u, _, _ := apps[0].Store.EnsureUser(context.Background(), userInput("carol"))
	key := issueKey(t, apps[0], u.ID)
	setQuota(t, apps[0], u.ID, store.QuotaDailyRequests, 15)
	if codes := alternate(t, bases, key, 60); codes[200] != 15 || codes[429] != 45 {
		t.Fatalf("two replicas answered %v against one limit of 15", codes)
	}
}

// alternate sends n concurrent calls, alternating between the services at
// bases, and counts the answers by status.
func alternate(t *testing.T, bases []string, key string, n int) map[int]int {
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := &env{t: t, base: bases[i%len(bases)]}
			res := e.post(chatBody(i%2 == 0, fmt.Sprint("replica ", i)), key)
			io.ReadAll(res.Body)
			res.Body.Close()
			mu.Lock()
			codes[res.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return codes
}

// TestTwoReplicasOnConvexKeepOneCount: the same with the Convex engine, the
// production shape — two services, one deployment, one count.
func TestTwoReplicasOnConvexKeepOneCount(t *testing.T) {
	site, _, secret := convextest.Start(t)
	var apps []*App
	for range 2 {
		cfg := testConfig(t, map[string]string{"CONVEX_URL": site, "CONVEX_SITE_URL": site, "CONVEX_INGEST_SECRET": secret})
		a, err := Start(context.Background(), cfg, zerolog.Nop(), Options{Simulator: &openroutertest.Options{AnswerTokens: 5}, Stdout: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Shutdown(context.Background()) })
		apps = append(apps, a)
	}
	u, _, err := apps[0].Store.EnsureUser(context.Background(), userInput("dave"))
	if err != nil {
		t.Fatal(err)
	}
	key := issueKey(t, apps[0], u.ID)
	cc, _ := convexclient.New(convexclient.Config{URL: site})
	admin := convexclient.WithAuth(convextest.Token(`{"sub":"ops","iss":"https://clerk.test","role":"admin"}`))
	if err := cc.Mutation(context.Background(), "admin:setQuota", map[string]any{"userId": u.ID, "quotaType": "daily_requests", "limit": 15}, nil, admin); err != nil {
		t.Fatal(err)
	}
	bases := []string{"http://" + apps[0].Addr(), "http://" + apps[1].Addr()}
	if codes := alternate(t, bases, key, 60); codes[200] != 15 || codes[429] != 45 {
		t.Fatalf("two replicas on Convex answered %v against one limit of 15", codes)
	}
}
