package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/money"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
	"llmmeter/openrouter"
	"llmmeter/openrouter/openroutertest"
)

// quotaTestServer is a Server whose model cache holds the simulator's list
// (DefaultModels: every output limit 16384), and whose quotas are q.
func quotaTestServer(t *testing.T, q Admitter) *Server {
	t.Helper()
	sim := openroutertest.NewServer(openroutertest.Options{})
	t.Cleanup(sim.Close)
	up, err := openrouter.New(openrouter.Config{BaseURL: sim.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.Open(context.Background(), filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	s := New(Options{Upstream: up, Quotas: q, Outbox: ob, Log: zerolog.Nop()})
	if _, _, err := s.models.get(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func chatRequest(t *testing.T, body string) *openrouter.ChatRequest {
	t.Helper()
	var r openrouter.ChatRequest
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return &r
}

const msgs = `"messages":[{"role":"user","content":"hi"}]`

// TestEstimate: before the fix the estimate ignored n and priced only
// "model", an unknown price counting as 0, so "unknown/cheap" with a
// Sonnet fallback got past a $0.01 quota 20 times in 20.
func TestEstimate(t *testing.T) {
	s := quotaTestServer(t, nil)
	const size = 400 // bytes: a prompt estimate of 101 tokens
	// Simulator prices in nanos per token: gpt-4o-mini 150 / 600; Sonnet
	// 3000 / 15000; the highest known: 3000 / 15000 and 5,000,000 per
	// request (sonar-reasoning).
	cases := []struct {
		name   string
		body   string
		tokens int64
		cost   money.Nanos
	}{
		// One choice of a priced model: 101×150 + 500×600.
		{"priced model", `{"model":"openai/gpt-4o-mini","max_tokens":500,` + msgs + `}`, 601, 15_150 + 300_000},
		// n = 3 multiplies the completion: 101×150 + 1500×600.
		{"n choices", `{"model":"openai/gpt-4o-mini","max_tokens":500,"n":3,` + msgs + `}`, 1601, 15_150 + 900_000},
		// The larger of max_tokens and max_completion_tokens.
		{"both limits", `{"model":"openai/gpt-4o-mini","max_tokens":10,"max_completion_tokens":500,` + msgs + `}`, 601, 315_150},
		// No max_tokens: defaultMaxTokens (4096) per choice.
		{"default completion", `{"model":"openai/gpt-4o-mini",` + msgs + `}`, 4197, 15_150 + 4096*600},
		// The reported hole: an unlisted model with a Sonnet fallback is
		// priced as Sonnet: 101×3000 + 500×15000.
		{"fallback list", `{"model":"unknown/cheap","models":["anthropic/claude-3.5-sonnet"],"max_tokens":500,` + msgs + `}`, 601, 303_000 + 7_500_000},
		// The most expensive candidate wins, whatever its place in the list.
		{"most expensive candidate", `{"model":"openai/gpt-4o-mini","models":["anthropic/claude-3.5-sonnet"],"max_tokens":500,` + msgs + `}`, 601, 7_803_000},
		// No candidate in the list: the highest known prices, request price included.
		{"no known price", `{"model":"unknown/cheap","max_tokens":500,` + msgs + `}`, 601, 303_000 + 7_500_000 + 5_000_000},
		// The largest request Validate admits stays far from overflow.
		{"largest request", `{"model":"anthropic/claude-3.5-sonnet","max_tokens":2147483648,"n":128,` + msgs + `}`, 101 + 128<<31, 303_000 + 15_000*128<<31},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tokens, cost := estimate(size, chatRequest(t, c.body), s.models.view())
			if tokens != c.tokens || cost != c.cost {
				t.Fatalf("estimate = %d tokens, %d nanos; want %d, %d", tokens, cost, c.tokens, c.cost)
			}
		})
	}
	// Before the list was first fetched nothing is priced (cost 0); the
	// tokens still count.
	if tokens, cost := estimate(size, chatRequest(t, `{"model":"m","max_tokens":5,`+msgs+`}`), priceView{}); tokens != 106 || cost != 0 {
		t.Fatalf("no list yet: %d, %d", tokens, cost)
	}
	// A listed model without a usable price (a router quotes -1) counts at
	// the highest known prices: 101×10 + 5×20 nanos (prices in 1e-15 USD).
	router := priceView{byID: map[string]openrouter.Model{"openrouter/auto": {ID: "openrouter/auto", Pricing: openrouter.Pricing{Prompt: -1, Completion: -1}}},
		ceiling: openrouter.Pricing{Prompt: 10_000_000, Completion: 20_000_000}}
	if _, cost := estimate(size, chatRequest(t, `{"model":"openrouter/auto","max_tokens":5,`+msgs+`}`), router); cost != 1110 {
		t.Fatalf("router model: %d nanos, want the ceiling's 1110", cost)
	}
	// Saturation: an estimate can never leave the stores' range.
	huge := openrouter.Pricing{Prompt: 1 << 62, Completion: 1 << 62}
	if _, cost := estimate(size, chatRequest(t, `{"model":"x","max_tokens":2147483648,"n":128,`+msgs+`}`),
		priceView{byID: map[string]openrouter.Model{"x": {ID: "x", Pricing: huge}}}); int64(cost) != store.MaxAmount {
		t.Fatalf("cost %d, want MaxAmount", cost)
	}
}

// TestCheckOutputLimit: a max_tokens above every candidate model's output
// limit is a 400 before anything is reserved or sent.
func TestCheckOutputLimit(t *testing.T) {
	s := quotaTestServer(t, nil)
	cases := []struct {
		name string
		body string
		ok   bool
	}{
		// At the simulator's limit of 16384.
		{"at the limit", `{"model":"openai/gpt-4o-mini","max_tokens":16384,` + msgs + `}`, true},
		// One over it.
		{"over the limit", `{"model":"openai/gpt-4o-mini","max_tokens":16385,` + msgs + `}`, false},
		// max_completion_tokens is held to the same limit.
		{"max_completion_tokens", `{"model":"openai/gpt-4o-mini","max_completion_tokens":100000,` + msgs + `}`, false},
		// A fallback list: over every candidate's limit.
		{"over every candidate", `{"models":["openai/gpt-4o-mini","anthropic/claude-3.5-sonnet"],"max_tokens":20000,` + msgs + `}`, false},
		// A candidate whose limit is unknown: only Validate's 2^31 applies.
		{"unknown limit", `{"model":"unknown/model","max_tokens":100000,` + msgs + `}`, true},
		// No max_tokens: nothing to check.
		{"unset", `{"model":"openai/gpt-4o-mini",` + msgs + `}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.checkOutputLimit(chatRequest(t, c.body))
			var ae *apiError
			switch {
			case c.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !c.ok && (!errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Type != "invalid_request_error"):
				t.Fatalf("got %v, want a 400 invalid_request_error", err)
			}
		})
	}
}

// refusingQuotas answers every reservation with err.
type refusingQuotas struct{ err error }

func (q refusingQuotas) Admit(context.Context, string, string, store.Amounts) error { return q.err }

// TestReserveClassifiesStoreErrors: before the fix a reservation the store
// refused as invalid was logged as an outage and the call was served
// unchecked. It is now the caller's 400; only a real outage serves unchecked
// (or, with QuotaFailClosed, 503).
func TestReserveClassifiesStoreErrors(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		failClosed bool
		status     int // 0: served
	}{
		// Input the store refuses: the caller's fault.
		{"invalid", fmt.Errorf("convexstore: %w: tokens: expected non-negative integer", store.ErrInvalid), false, http.StatusBadRequest},
		// Also when the operator chose to fail closed.
		{"invalid, fail closed", store.ErrInvalid, true, http.StatusBadRequest},
		// A store outage: served unchecked (fail open)...
		{"outage", errors.New("connection refused"), false, 0},
		// ...or refused with 503 (fail closed).
		{"outage, fail closed", errors.New("connection refused"), true, http.StatusServiceUnavailable},
		// A quota refusal: 429.
		{"exceeded", &store.QuotaExceeded{QuotaType: store.QuotaMonthlyTokens, Limit: 1, Used: 1}, false, http.StatusTooManyRequests},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := quotaTestServer(t, refusingQuotas{c.err})
			s.opt.QuotaFailClosed = c.failClosed
			req := chatRequest(t, `{"model":"openai/gpt-4o-mini",`+msgs+`}`)
			err := s.reserve(context.Background(), &call{requestID: "r", userID: "u", requestSize: 100}, req)
			var ae *apiError
			switch {
			case c.status == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case c.status != 0 && (!errors.As(err, &ae) || ae.Status != c.status):
				t.Fatalf("got %v, want %d", err, c.status)
			}
		})
	}
}

// admission is one call to recordingQuotas.Admit.
type admission struct {
	requestID, userID string
	est               store.Amounts
}

// recordingQuotas admits every call and keeps what was asked.
type recordingQuotas struct{ got []admission }

func (q *recordingQuotas) Admit(_ context.Context, requestID, userID string, est store.Amounts) error {
	q.got = append(q.got, admission{requestID, userID, est})
	return nil
}

// TestFirstCallIsPriced: before the fix the first calls of a process were
// reserved at $0 (the model list was fetched in the background), so they
// passed any cost quota. The first reservation now waits for the list.
func TestFirstCallIsPriced(t *testing.T) {
	sim := openroutertest.NewServer(openroutertest.Options{})
	t.Cleanup(sim.Close)
	up, err := openrouter.New(openrouter.Config{BaseURL: sim.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	q := &recordingQuotas{}
	s := New(Options{Upstream: up, Quotas: q, Log: zerolog.Nop()})
	req := chatRequest(t, `{"model":"anthropic/claude-3.5-sonnet","max_tokens":500,`+msgs+`}`)
	if err := s.reserve(context.Background(), &call{requestID: "r", userID: "u", requestSize: 400}, req); err != nil {
		t.Fatal(err)
	}
	if len(q.got) != 1 || q.got[0].est.Cost != 7_803_000 {
		t.Fatalf("reserved %+v, want Sonnet's price for 101 + 500 tokens", q.got)
	}
	// The admission names the request and its caller and counts one
	// request and the estimated tokens.
	if g := q.got[0]; g.requestID != "r" || g.userID != "u" || g.est.Tokens != 601 || g.est.Requests != 1 {
		t.Fatalf("reserved %+v", g)
	}
}

// TestQuotaError pins the 429 of the quota contract: cost quotas in USD,
// the others as integers; Retry-After is the whole seconds until the reset
// plus one, and at least 1 once the reset has passed.
func TestQuotaError(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	cases := []struct {
		name             string
		qe               store.QuotaExceeded
		limit, remaining string
		message          string
		retryAfter       int
		resetUnix        string
	}{
		// A token quota: integers; the reset 90.5 s ahead is 91 s away (rounded up).
		{"tokens", store.QuotaExceeded{QuotaType: store.QuotaMonthlyTokens, Limit: 1000, Used: 1200, Remaining: 0, ResetDate: now.UnixMilli() + 90_500},
			"1000", "0", "Quota monthly_tokens exceeded: 1200 of 1000 used; it resets at 2023-11-14T22:14:50Z.", 91, "1700000090"},
		// A cost quota: nanos shown as dollars.
		{"cost", store.QuotaExceeded{QuotaType: store.QuotaMonthlyCostUSD, Limit: 2_000_000_000, Used: 2_250_000_000, Remaining: 250_000_000, ResetDate: now.UnixMilli() + 10_000},
			"2.000000000", "0.250000000", "Quota monthly_cost_usd exceeded: 2.250000000 of 2.000000000 used; it resets at 2023-11-14T22:13:30Z.", 11, "1700000010"},
		// The system-wide cost quota is a cost quota too. Nothing is used yet
		// but all of it is held by calls in flight: the message says so.
		{"system cost", store.QuotaExceeded{QuotaType: store.QuotaSystemMonthlyCostUSD, Limit: 1_500_000_000, ResetDate: now.UnixMilli()},
			"1.500000000", "0.000000000", "Quota system_monthly_cost_usd exceeded: 1.500000000 of 1.500000000 in use or used (0.000000000 used, 1.500000000 held by calls in flight and leases)", 1, "1700000000"},
		// A burst: 3 settled, 7 in flight, none left.
		{"burst in flight", store.QuotaExceeded{QuotaType: store.QuotaDailyRequests, Limit: 10, Used: 3, Remaining: 0, ResetDate: now.UnixMilli() + 1000},
			"10", "0", "Quota daily_requests exceeded: 10 of 10 in use or used (3 used, 7 held by calls in flight and leases); it resets at 2023-11-14T22:13:21Z.", 2, "1700000001"},
		// A cost quota refused with room left that the call's estimate does
		// not fit: what is taken is less than the limit, and said so.
		{"estimate does not fit", store.QuotaExceeded{QuotaType: store.QuotaMonthlyCostUSD, Limit: 2_000_000_000, Used: 1_000_000_000, Remaining: 400_000_000, ResetDate: now.UnixMilli()},
			"2.000000000", "0.400000000", "Quota monthly_cost_usd exceeded: 1.600000000 of 2.000000000 in use or used (1.000000000 used, 0.600000000 held by calls in flight and leases)", 1, "1700000000"},
		// Settled use fills it and the reset is 5 h away: wait for it.
		{"full, reset hours away", store.QuotaExceeded{QuotaType: store.QuotaDailyRequests, Limit: 10, Used: 10, ResetDate: now.UnixMilli() + 5*3600_000},
			"10", "0", "Quota daily_requests exceeded: 10 of 10 used", 5*3600 + 1, "1700018000"},
		// Only calls in flight hold the rest: they end in seconds and then
		// this call fits, so the client need not wait the 5 h to the reset.
		{"held, reset hours away", store.QuotaExceeded{QuotaType: store.QuotaDailyRequests, Limit: 10, Used: 9, Remaining: 0, ResetDate: now.UnixMilli() + 5*3600_000},
			"10", "0", "Quota daily_requests exceeded: 10 of 10 in use or used (9 used, 1 held", 2, "1700018000"},
		// A reset already past (a slow store): Retry-After is still 1.
		{"reset passed", store.QuotaExceeded{QuotaType: store.QuotaDailyRequests, Limit: 5, Used: 5, ResetDate: now.UnixMilli() - 60_000},
			"5", "0", "Quota daily_requests exceeded: 5 of 5 used", 1, "1699999940"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			qe := c.qe
			e := quotaError(&qe, now)
			if e.Status != 429 || e.Type != "rate_limit_error" || e.Code != "quota_exceeded" || e.RetryAfter != c.retryAfter {
				t.Fatalf("got %d %s %s retry %d", e.Status, e.Type, e.Code, e.RetryAfter)
			}
			if !strings.HasPrefix(e.Message, c.message) {
				t.Fatalf("message %q, want prefix %q", e.Message, c.message)
			}
			want := map[string]string{"X-Quota-Type": c.qe.QuotaType, "X-Quota-Limit": c.limit, "X-Quota-Remaining": c.remaining, "X-Quota-Reset": c.resetUnix}
			// OpenAI's SDKs retry a 429 twice unless X-Should-Retry is
			// false: a quota its settled use fills cannot pass before the
			// reset; one held by calls in flight may pass once they settle.
			want["X-Should-Retry"] = ""
			if c.qe.Used >= c.qe.Limit {
				want["X-Should-Retry"] = "false"
			}
			for k, v := range want {
				if e.Headers[k] != v {
					t.Errorf("%s = %q, want %q", k, e.Headers[k], v)
				}
			}
		})
	}
}

// TestQuotaRefusalIsRecorded: a call refused on a quota was invisible to
// admins. It is now listed as a request: one request log (429,
// quota_exceeded, the message naming the quota type), no usage and no
// activity row, and nothing went upstream.
func TestQuotaRefusalIsRecorded(t *testing.T) {
	reset := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	h := newHarnessWith(t, openroutertest.Options{}, func(o *Options) {
		o.Quotas = refusingQuotas{&store.QuotaExceeded{QuotaType: store.QuotaDailyRequests, Limit: 5, Used: 5, ResetDate: reset.UnixMilli()}}
	})
	w := h.chat(chatBody(false, "a secret prompt"))
	if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), `"quota_exceeded"`) {
		t.Fatalf("answer %d %s", w.Code, w.Body)
	}
	// 5 of 5 used: no retry can pass before the reset, so OpenAI's SDKs
	// are told not to make two more (each refused and logged again).
	if got := w.Header().Get("X-Should-Retry"); got != "false" {
		t.Fatalf("X-Should-Retry %q, want false", got)
	}
	var es []outbox.Entry
	deadline := time.Now().Add(30 * time.Second)
	for len(es) == 0 && time.Now().Before(deadline) {
		es = h.entries(outbox.Ready) // written asynchronously: the answer does not wait for it
		if len(es) == 0 {
			time.Sleep(20 * time.Millisecond) // poll interval, under the 30 s deadline
		}
	}
	if len(es) != 1 {
		t.Fatalf("outbox entries %d, want 1", len(es))
	}
	b := es[0].Batch
	if len(b.Usage) != 0 || len(b.Activity) != 0 || len(b.RequestLogs) != 1 {
		t.Fatalf("rows %+v, want one request log only", b)
	}
	l := b.RequestLogs[0]
	if l.StatusCode != http.StatusTooManyRequests || l.Status != store.StatusError || l.ErrorType != store.ErrorQuotaExceeded ||
		!strings.Contains(l.ErrorMessage, store.QuotaDailyRequests) || l.GenerationID != "" || l.RequestID == "" || l.Model != "openai/gpt-4o-mini" {
		t.Fatalf("request log %+v", l)
	}
	if !store.IsQuotaRefusal(l) {
		t.Fatal("not recognised as a quota refusal")
	}
	if len(h.sim.Ledger()) != 0 {
		t.Fatalf("a refused call went upstream: %+v", h.sim.Ledger())
	}
	// Counted with the calls that have a request log, as the portal lists it.
	if n := value(h.opt.Metrics.Requests.WithLabelValues("none", store.StatusError, "429")); n != 1 {
		t.Fatalf("llmmeter_requests_total{model=none,status=error,code=429} = %v, want 1", n)
	}
	if strings.Contains(fmt.Sprintf("%+v", b), "secret prompt") {
		t.Fatal("message text stored")
	}
}
