package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"llmmeter/internal/logtest"
	stdlog "log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// setQuota sets a quota through the engine's own llmmeter:setQuota.
func setQuota(t *testing.T, a *App, userID, typ string, limit float64) {
	t.Helper()
	args, _ := json.Marshal(map[string]any{"userId": userID, "quotaType": typ, "limit": limit})
	if typ == store.QuotaSystemMonthlyCostUSD {
		args, _ = json.Marshal(map[string]any{"quotaType": typ, "limit": limit})
	}
	s := a.Store.(*sqlitestore.Store)
	if _, err := s.Call(context.Background(), "mutation", "llmmeter:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
		t.Fatal(err)
	}
}

// burst sends n concurrent calls and counts answers by status; it also
// returns the error messages of the 429s.
func burst(e *env, n int, text string) (map[int]int, []string) {
	return burstBody(e, n, func(i int) string { return chatBody(i%2 == 0, fmt.Sprintf("%s %d", text, i)) })
}

func burstBody(e *env, n int, body func(i int) string) (map[int]int, []string) {
	var mu sync.Mutex
	codes := map[int]int{}
	var refusals []string
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := e.post(body(i), e.key)
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var v struct {
				Error struct{ Message string } `json:"error"`
			}
			mu.Lock()
			defer mu.Unlock()
			codes[res.StatusCode]++
			if res.StatusCode == http.StatusTooManyRequests && json.Unmarshal(b, &v) == nil {
				refusals = append(refusals, v.Error.Message)
			}
		}()
	}
	wg.Wait()
	return codes, refusals
}

// heldOrUsed matches a daily_requests refusal's count: "N of L used", or
// "N of L in use or used (U used, H held by calls in flight and leases)".
var heldOrUsed = regexp.MustCompile(`^Quota daily_requests exceeded: (\d+) of (\d+) (?:used|in use or used \((\d+) used, (\d+) held by calls in flight and leases\)); it resets at `)

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
	codes, refusals := burst(e, 100, "burst")
	if codes[200] != 10 || codes[429] != 90 || len(refusals) != 90 {
		t.Fatalf("answers %v, %d refusal messages", codes, len(refusals))
	}
	// While the admitted calls are in flight nothing is settled: a refusal
	// said "0 of 10 used". Each one now counts what is held too: 10 of 10.
	for _, m := range refusals {
		g := heldOrUsed.FindStringSubmatch(m)
		if g == nil || g[1] != "10" || g[2] != "10" {
			t.Fatalf("refusal %q does not say 10 of 10", m)
		}
		if g[3] != "" {
			used, _ := strconv.Atoi(g[3])
			held, _ := strconv.Atoi(g[4])
			if used+held != 10 || held == 0 {
				t.Fatalf("refusal %q: used and held do not make the 10 taken", m)
			}
		}
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
	// 10 served and 91 refused, each refusal listed (429 quota_exceeded) and counted nowhere.
	var served, refused int
	e.db.QueryRow(`SELECT count(*) FROM requestLogs WHERE statusCode = 200`).Scan(&served)
	e.db.QueryRow(`SELECT count(*) FROM requestLogs WHERE statusCode = 429 AND errorType = 'quota_exceeded'`).Scan(&refused)
	if used != 10 || served != 10 || refused != 91 || e.count("requestLogs") != 101 || e.count("quotaReservations") != 0 {
		t.Fatalf("used %v, request logs %d (%d served, %d refused), open reservations %d", used, e.count("requestLogs"), served, refused, e.count("quotaReservations"))
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
		codes, _ := burstBody(e, 20, func(i int) string {
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
//
// The test backend answers one request at a time, and the burst queues
// lease, ingest and key calls of both replicas behind each other: on a
// loaded machine a lease call outlived the Convex client's default 15 s
// attempt, the check failed open and served a 16th call (2 in 11 runs beside
// two burners). A store outage is TestQuotaChecksFailOpenOrClosed's
// subject, not this one's: here the store may be slow, and a check that
// still cannot be answered is refused (503), never counted as admitted.
func TestTwoReplicasOnConvexKeepOneCount(t *testing.T) {
	site, _, secret := convextest.Start(t)
	var apps []*App
	log := &logtest.Buffer{}
	for range 2 {
		cfg := testConfig(t, map[string]string{"CONVEX_URL": site, "CONVEX_SITE_URL": site, "CONVEX_INGEST_SECRET": secret,
			"QUOTA_CHECK_TIMEOUT": "5m", "QUOTA_ON_ERROR": "closed"})
		a, err := Start(context.Background(), cfg, zerolog.New(log).Level(zerolog.WarnLevel), Options{Simulator: &openroutertest.Options{AnswerTokens: 5},
			Stdout: io.Discard, ConvexTimeout: 2 * time.Minute})
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
	if err := cc.Mutation(context.Background(), "llmmeter:setQuota", map[string]any{"userId": u.ID, "quotaType": "daily_requests", "limit": 15}, nil, admin); err != nil {
		t.Fatal(err)
	}
	bases := []string{"http://" + apps[0].Addr(), "http://" + apps[1].Addr()}
	if codes := alternate(t, bases, key, 60); codes[200] != 15 || codes[429] != 45 {
		t.Fatalf("two replicas on Convex answered %v against one limit of 15\n%s", codes, log.String())
	}
}

// gatedUpstream is a simulator behind a proxy that holds every chat call
// until open is called, counting arrivals: a test can have every call of a
// burst reserve (or be refused) before any of them settles, which makes
// the number admitted exact instead of a matter of scheduling.
type gatedUpstream struct {
	sim     *openroutertest.Server
	url     string // the API base to give the service
	arrived atomic.Int32
	release chan struct{}
	once    sync.Once
}

func newGatedUpstream(t *testing.T, opts openroutertest.Options) *gatedUpstream {
	t.Helper()
	g := &gatedUpstream{sim: openroutertest.NewServer(opts), release: make(chan struct{})}
	t.Cleanup(g.sim.Close)
	target, _ := url.Parse(g.sim.URL)
	target.Path = ""
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1                       // pass SSE events through as they come
	proxy.ErrorLog = stdlog.New(io.Discard, "", 0) // a client that left is not news
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/chat/completions") {
			g.arrived.Add(1)
			select {
			case <-g.release:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(g.open) // runs first: nothing stays held at the end
	g.url = srv.URL + "/api/v1"
	return g
}

func (g *gatedUpstream) open() { g.once.Do(func() { close(g.release) }) }

// startGated starts the service with g as its upstream, logging into log,
// and a user alice with a key; the embedded engine unless env names a
// Convex deployment in extra (then e.db is nil).
func startGated(t *testing.T, g *gatedUpstream, log *logtest.Buffer, extra map[string]string) *env {
	t.Helper()
	vars := map[string]string{"OPENROUTER_API_KEY": "sk-or-test", "OPENROUTER_BASE_URL": g.url}
	for k, v := range extra {
		vars[k] = v
	}
	cfg := testConfig(t, vars)
	opt := Options{PendingGiveUp: time.Minute, GenerationWait: 5 * time.Second, Stdout: io.Discard}
	if cfg.ConvexEnabled() {
		opt.ConvexTimeout = 2 * time.Minute // the test backend queues every call: slow, not down
	}
	e := launch(t, cfg, zerolog.New(log), opt, "alice")
	e.sim = g.sim
	if extra["CONVEX_URL"] == "" {
		e.openStore(filepath.Join(cfg.DataDir, StoreFile))
	}
	return e
}

// gatedBurst sends every body at once, holds the upstream until each call
// has either been answered (refused) or reached it, then lets them run;
// it counts the answers by status.
func gatedBurst(e *env, g *gatedUpstream, bodies []string) map[int]int {
	results := make(chan int, len(bodies))
	for _, b := range bodies {
		go func() {
			res := e.post(b, e.key)
			io.ReadAll(res.Body)
			res.Body.Close()
			results <- res.StatusCode
		}()
	}
	codes := map[int]int{}
	answered := 0
	deadline := time.After(2 * time.Minute) // only a bound against a hang
	for answered+int(g.arrived.Load()) < len(bodies) {
		select {
		case c := <-results:
			codes[c]++
			answered++
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			e.t.Fatalf("the burst never reached the gate: %d answered, %d upstream", answered, g.arrived.Load())
		}
	}
	g.open()
	for ; answered < len(bodies); answered++ {
		codes[<-results]++
	}
	return codes
}

// TestHostileMaxTokensCannotBreakQuotas is the reported attack: with
// monthly_tokens = 2000, one call with max_tokens = MaxInt64 and 20 with
// 500, all at once. Before the fix 8 of the 20 were admitted, used ended at
// 3,345, reserved was stored as the float 9.22e18, every later check was
// "serving the call unchecked", and the outbox stalled on a scan error.
// Now the hostile call is a 400 that stores nothing, exactly the calls that
// fit are admitted, and the quota keeps working.
func TestHostileMaxTokensCannotBreakQuotas(t *testing.T) {
	g := newGatedUpstream(t, openroutertest.Options{GenerationDelay: 50 * time.Millisecond, AnswerTokens: 500, TokensPerChunk: 50})
	log := &logtest.Buffer{}
	e := startGated(t, g, log, nil)
	setQuota(t, e.app, userOf(t, e), store.QuotaMonthlyTokens, 2000)
	body := func(maxTokens string, i int) string {
		return fmt.Sprintf(`{"model":"openai/gpt-4o-mini","max_tokens":%s,"stream":%v,"messages":[{"role":"user","content":"call %02d"}]}`, maxTokens, i%2 == 0, i)
	}
	bodies := []string{body("9223372036854775807", 99)}
	for i := range 20 {
		bodies = append(bodies, body("500", i))
	}
	// Each call reserves prompt (len/4 + 1 = 28) + 500 = 528 tokens: three
	// fit in 2000 (1584); a fourth does not, and is not alone.
	codes := gatedBurst(e, g, bodies)
	if codes[400] != 1 || codes[200] != 3 || codes[429] != 17 {
		t.Fatalf("answers %v; want 1×400, 3×200, 17×429", codes)
	}
	e.settle()
	e.matchLedger()
	var maxCall, sum int64
	for _, gen := range e.sim.Ledger() {
		maxCall = max(maxCall, gen.PromptTokens+gen.CompletionTokens)
		sum += gen.PromptTokens + gen.CompletionTokens
	}
	type counters struct {
		used                   float64
		reserved               int64
		usedType, reservedType string
	}
	read := func() counters {
		var c counters
		if err := e.db.QueryRow(`SELECT used, reserved, typeof(used), typeof(reserved) FROM userQuotas WHERE quotaType = 'monthly_tokens'`).
			Scan(&c.used, &c.reserved, &c.usedType, &c.reservedType); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Integers, the ledger's sum, within the limit (the bound allows one
	// call over: the alone rule), and nothing left reserved.
	c := read()
	if c.used != float64(sum) || c.used != float64(int64(c.used)) || c.reserved != 0 || c.reservedType != "integer" ||
		c.used > 2000+float64(maxCall) || e.count("quotaReservations") != 0 {
		t.Fatalf("quota after the burst: %+v (ledger %d tokens, largest call %d)", c, sum, maxCall)
	}
	// The quota is still checked: alone, one more call may run (used <
	// limit); after it, used is over the limit and the next is refused.
	if c.used+float64(maxCall) <= 2000 {
		t.Fatalf("the test's arithmetic: used %v leaves room for another call", c.used)
	}
	for i, want := range []int{200, 429} {
		res := e.post(body("500", 50+i), e.key)
		io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want || (want == 429 && res.Header.Get("X-Quota-Type") != store.QuotaMonthlyTokens) {
			t.Fatalf("call %d after the burst: %d %v, want %d", i, res.StatusCode, res.Header, want)
		}
		e.settle()
	}
	if c := read(); c.used > 2000+float64(maxCall) || c.reservedType != "integer" {
		t.Fatalf("quota at the end: %+v", c)
	}
	if st, _ := e.app.Outbox.Stats(context.Background()); st.Dead != 0 {
		t.Fatalf("outbox: %+v", st)
	}
	for _, bad := range []string{"serving the call unchecked", "outbox delivery failed"} {
		if strings.Contains(log.String(), bad) {
			t.Fatalf("the log says %q", bad)
		}
	}
}

// TestFallbackListCannotSkipCostQuota: a user with monthly_cost_usd = 0.01
// sending "model":"unknown/cheap" with a Sonnet fallback got 20 of 20 calls
// through (the estimate priced only "model", an unknown price as 0). Now
// the reservation is priced at the most expensive candidate (Sonnet), so
// of 20 calls at once exactly the one that fits is admitted, and the quota
// settles to the actual cost.
func TestFallbackListCannotSkipCostQuota(t *testing.T) {
	g := newGatedUpstream(t, openroutertest.Options{GenerationDelay: 50 * time.Millisecond, AnswerTokens: 500, TokensPerChunk: 50})
	e := startGated(t, g, &logtest.Buffer{}, nil)
	setQuota(t, e.app, userOf(t, e), store.QuotaMonthlyCostUSD, 0.01)
	// Fill the price cache (GET /v1/models), as any earlier call would.
	req, _ := http.NewRequest("GET", e.base+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("models: %v %v", res, err)
	}
	res.Body.Close()
	var bodies []string
	for i := range 20 {
		bodies = append(bodies, fmt.Sprintf(`{"model":"unknown/cheap","models":["anthropic/claude-3.5-sonnet"],"max_tokens":500,"stream":%v,"messages":[{"role":"user","content":"call %02d"}]}`, i%2 == 0, i))
	}
	// At Sonnet's prices a call reserves about $0.0078: one fits in $0.01.
	codes := gatedBurst(e, g, bodies)
	if codes[200] != 1 || codes[429] != 19 {
		t.Fatalf("answers %v; want 1×200, 19×429", codes)
	}
	e.settle()
	e.matchLedger()
	var spent money.Nanos
	for _, gen := range e.sim.Ledger() {
		spent += gen.Cost
		if gen.Model != "anthropic/claude-3.5-sonnet" {
			t.Fatalf("ran on %s", gen.Model)
		}
	}
	limit, _ := money.ParseUSD("0.01")
	var used money.Nanos
	var reserved int64
	if err := e.db.QueryRow(`SELECT usedNanoUsd, reserved FROM userQuotas WHERE quotaType = 'monthly_cost_usd'`).Scan(&used, &reserved); err != nil {
		t.Fatal(err)
	}
	if used != spent || reserved != 0 || spent > limit {
		t.Fatalf("used $%s (reserved %d) against the ledger's $%s and a limit of $%s", used, reserved, spent, limit)
	}
}

// TestHostileMaxTokensOnConvex: the same burst against the Convex engine,
// the production shape. Before the fix Convex refused the estimate with
// "tokens: expected non-negative integer" and the gateway, taking that for
// an outage, served the call unchecked.
//
// It runs fail-closed with long store timeouts, as
// TestTwoReplicasOnConvexKeepOneCount does: the test backend answers one
// request at a time, and a lease call queued behind the burst could outlive
// the Convex client's 15 s attempt and fail open, serving a call unchecked.
// Here the store may be slow; a check that still cannot be answered is
// refused (503), which the exact count below would show.
func TestHostileMaxTokensOnConvex(t *testing.T) {
	site, _, secret := convextest.Start(t)
	g := newGatedUpstream(t, openroutertest.Options{GenerationDelay: 50 * time.Millisecond, AnswerTokens: 500, TokensPerChunk: 50})
	log := &logtest.Buffer{}
	e := startGated(t, g, log, map[string]string{"CONVEX_URL": site, "CONVEX_SITE_URL": site, "CONVEX_INGEST_SECRET": secret,
		"QUOTA_CHECK_TIMEOUT": "5m", "QUOTA_ON_ERROR": "closed"})
	u, _, err := e.app.Store.EnsureUser(context.Background(), userInput("alice"))
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := convexclient.New(convexclient.Config{URL: site})
	admin := convexclient.WithAuth(convextest.Token(`{"sub":"ops","iss":"https://clerk.test","role":"admin"}`))
	if err := cc.Mutation(context.Background(), "llmmeter:setQuota", map[string]any{"userId": u.ID, "quotaType": "monthly_tokens", "limit": 2000}, nil, admin); err != nil {
		t.Fatal(err)
	}
	bodies := []string{`{"model":"openai/gpt-4o-mini","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"call 99"}]}`}
	for i := range 20 {
		bodies = append(bodies, fmt.Sprintf(`{"model":"openai/gpt-4o-mini","max_tokens":500,"stream":%v,"messages":[{"role":"user","content":"call %02d"}]}`, i%2 == 0, i))
	}
	if codes := gatedBurst(e, g, bodies); codes[400] != 1 || codes[200] != 3 || codes[429] != 17 {
		t.Fatalf("answers %v; want 1×400, 3×200, 17×429", codes)
	}
	e.settle()
	var quotas []struct {
		QuotaType string  `json:"quotaType"`
		Used      float64 `json:"used"`
	}
	if err := cc.Query(context.Background(), "llmmeter:quotas", map[string]any{"userId": u.ID}, &quotas, admin); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, gen := range e.sim.Ledger() {
		sum += gen.PromptTokens + gen.CompletionTokens
	}
	if len(quotas) != 1 || quotas[0].Used != float64(sum) || quotas[0].Used > 2000 {
		t.Fatalf("quotas %+v, ledger %d tokens", quotas, sum)
	}
	if strings.Contains(log.String(), "quota check failed") { // served unchecked, or refused 503
		t.Fatalf("a quota check failed:\n%s", log.String())
	}
}
