package quotalease

import (
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
)

// q is a quota with limit 1000, used u, others o, our lease l and r of it
// left locally.
func q(typ string, u, o, l, r int64) quota {
	return quota{LeasedQuota: store.LeasedQuota{QuotaType: typ, Limit: 1000, Used: u, Others: o, Lease: l}, remaining: r}
}

// TestWant pins the sizing rule: a background renewal tops the lease up to
// the target within half the free headroom; a waiting call asks for its
// need times the calls waiting, or its need plus the target within half
// the headroom; near the limit a lease shrinks to the call itself.
func TestWant(t *testing.T) {
	cases := []struct {
		name    string
		q       quota
		target  int64
		need    int64
		waiting int
		sync    bool
		want    int64
	}{
		// Plenty of room: the background tops up what is left to the target.
		{"top up", q(store.QuotaMonthlyTokens, 0, 0, 100, 40), 300, 0, 0, false, 260},
		// Already above the target: nothing more.
		{"enough", q(store.QuotaMonthlyTokens, 0, 0, 500, 400), 300, 0, 0, false, 0},
		// Free is 1000−600−100−100 = 200: at most half of it.
		{"half the headroom", q(store.QuotaMonthlyTokens, 600, 100, 100, 0), 300, 0, 0, false, 100},
		// Nothing free: nothing asked in the background.
		{"full", q(store.QuotaMonthlyTokens, 900, 100, 0, 0), 300, 0, 0, false, 0},
		// Over the limit (an alone call): Free is 0, not negative.
		{"over", q(store.QuotaMonthlyTokens, 1200, 0, 0, 0), 300, 0, 0, false, 0},
		// A waiting call with room: its need plus the target.
		{"sync with room", q(store.QuotaDailyRequests, 0, 0, 0, 0), 20, 1, 1, true, 21},
		// Near the limit (Free 4, half is 2): the call plus 2.
		{"sync near the limit", q(store.QuotaDailyRequests, 990, 6, 0, 0), 20, 1, 1, true, 3},
		// At the limit: just the call, which is today's reservation.
		{"sync at the limit", q(store.QuotaDailyRequests, 995, 5, 0, 0), 20, 1, 1, true, 1},
		// Ten calls waiting alike: ten calls' worth, even near the limit
		// (the store grants only what fits).
		{"waiting calls", q(store.QuotaDailyRequests, 995, 0, 0, 0), 0, 1, 10, true, 10},
		// No target yet (cold rate): the need alone.
		{"cold rate", q(store.QuotaMonthlyTokens, 0, 0, 0, 0), 0, 528, 1, true, 528},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := want(c.q, c.target, c.need, c.waiting, c.sync); got != c.want {
				t.Fatalf("want(%+v, target %d, need %d, waiting %d, sync %v) = %d, want %d", c.q, c.target, c.need, c.waiting, c.sync, got, c.want)
			}
		})
	}
}

// TestTarget: rate over the horizon, rounded up, saturating; a burst that
// emptied the lease raises it by the slow start's boost.
func TestTarget(t *testing.T) {
	for _, c := range []struct {
		rate float64
		h    time.Duration
		want int64
	}{{0, 2 * time.Second, 0}, {0.1, 2 * time.Second, 1}, {10, 2 * time.Second, 20}, {2.5, time.Second, 3}, {1e300, time.Second, store.MaxAmount}} {
		if got := target(c.rate, c.h); got != c.want {
			t.Errorf("target(%v, %v) = %d, want %d", c.rate, c.h, got, c.want)
		}
	}
	e := &entry{rate: rates{requests: 1, tokens: 50}, boost: 8, lastEst: store.Amounts{Requests: 1, Tokens: 100, Cost: money.Nanos(7)}}
	if got := e.targetOf(store.QuotaDailyRequests, 2*time.Second); got != 8 { // boost 8 × 1 beats 2
		t.Errorf("requests target %d, want 8", got)
	}
	if got := e.targetOf(store.QuotaMonthlyTokens, 100*time.Second); got != 5000 { // the rate beats 800
		t.Errorf("tokens target %d, want 5000", got)
	}
	if got := e.targetOf(store.QuotaMonthlyCostUSD, time.Second); got != 56 {
		t.Errorf("cost target %d, want 56", got)
	}
}

// TestObserveRate: use over at least minRateWindow; up at once, down by
// halves.
func TestObserveRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	e := &entry{}
	e.observeRate(t0) // starts the window
	e.drawn = store.Amounts{Requests: 10, Tokens: 1000}
	e.observeRate(t0.Add(2 * time.Second)) // 5/s and 500/s: up at once
	if e.rate.requests != 5 || e.rate.tokens != 500 || e.drawn != (store.Amounts{}) {
		t.Fatalf("after 2s: %+v drawn %+v", e.rate, e.drawn)
	}
	e.drawn = store.Amounts{Requests: 10}
	e.observeRate(t0.Add(2*time.Second + time.Millisecond)) // a burst: counted over 50ms, not 1ms
	if e.rate.requests != 200 || e.rate.tokens != 250 {     // tokens: none used, down by half
		t.Fatalf("after a burst: %+v", e.rate)
	}
}

// TestRenewalDue: by age (a third of the TTL), by an empty or low quota,
// or by claims piling up.
func TestRenewalDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ttl, h := 30*time.Second, 2*time.Second
	fresh := func() *entry {
		return &entry{sentAt: t0, rate: rates{requests: 10}, quotas: []quota{q(store.QuotaDailyRequests, 0, 0, 100, 100)}}
	}
	if e := fresh(); e.renewalDue(t0.Add(time.Second), ttl, h) {
		t.Error("fresh and full: due")
	}
	if e := fresh(); !e.renewalDue(t0.Add(10*time.Second), ttl, h) {
		t.Error("a third of the TTL old: not due")
	}
	e := fresh()
	e.quotas[0].remaining = 10 // exactly half of 10/s × 2s: enough
	if e.renewalDue(t0, ttl, h) {
		t.Error("half left: due")
	}
	e.quotas[0].remaining = 9 // below half of 10/s × 2s
	if !e.renewalDue(t0, ttl, h) {
		t.Error("low: not due")
	}
	e.quotas[0].remaining = 0
	e.rate = rates{}
	if !e.renewalDue(t0, ttl, h) {
		t.Error("empty: not due")
	}
	// Use since the last request counts before the rate is updated: 30
	// calls in the last 300 ms is 100/s, 200 in a horizon; 60 left is low.
	e = fresh()
	e.rate, e.rateSince, e.drawn = rates{}, t0, store.Amounts{Requests: 30}
	e.quotas[0].remaining = 60
	if !e.renewalDue(t0.Add(300*time.Millisecond), ttl, h) {
		t.Error("a faster rate than the lease was sized for: not due")
	}
	e = fresh()
	e.claims = make([]store.Claim, store.MaxClaims/2)
	if !e.renewalDue(t0, ttl, h) {
		t.Error("claims piling up: not due")
	}
	// usable keeps a tenth of the TTL as margin.
	e = fresh()
	e.ready = true
	if !e.usable(t0.Add(26*time.Second), ttl) || e.usable(t0.Add(27*time.Second), ttl) {
		t.Error("usable: margin")
	}
}

// TestRateComesDownByHalves: a slower use than the rate lowers it by
// halves per request, never below what was just seen; current divides the
// use by the window.
func TestRateComesDownByHalves(t *testing.T) {
	t0 := time.Unix(1000, 0)
	e := &entry{rate: rates{requests: 40, tokens: 4000, cost: 400}, rateSince: t0,
		drawn: store.Amounts{Requests: 10, Tokens: 1000, Cost: 100}}
	if c := e.current(t0.Add(2 * time.Second)); c != (rates{5, 500, 50}) {
		t.Fatalf("current: %+v", c)
	}
	e.observeRate(t0.Add(time.Second)) // 10/s seen: (40 + 10) / 2
	if e.rate != (rates{25, 2500, 250}) {
		t.Fatalf("rate: %+v", e.rate)
	}
}

// TestDraw: a call takes its estimate from every quota of the key and is
// remembered as a claim; a key without quotas keeps no claims.
func TestDraw(t *testing.T) {
	e := &entry{quotas: []quota{q(store.QuotaDailyRequests, 0, 0, 10, 10), q(store.QuotaMonthlyTokens, 0, 0, 500, 500)}}
	est := store.Amounts{Requests: 1, Tokens: 120, Cost: 9}
	e.draw("r1", est)
	if e.quotas[0].remaining != 9 || e.quotas[1].remaining != 380 || len(e.claims) != 1 || e.claims[0] != (store.Claim{RequestID: "r1", Amounts: est}) {
		t.Fatalf("after a draw: %+v claims %+v", e.quotas, e.claims)
	}
	if e.drawn != est {
		t.Fatalf("drawn %+v", e.drawn)
	}
	none := &entry{}
	none.draw("r2", est)
	if len(none.claims) != 0 || none.drawn != est {
		t.Fatalf("no quotas: claims %+v drawn %+v", none.claims, none.drawn)
	}
}

// TestPrepare: a waiting call's request gives the local lease back, takes
// the claims and asks per quota for what want sizes; a cold key asks for
// what the waiting calls need; a background request gives nothing back.
func TestPrepare(t *testing.T) {
	m := New(Options{Store: nil, Holder: "h", Horizon: 2 * time.Second})
	t0 := time.Unix(1000, 0)
	est := store.Amounts{Requests: 1, Tokens: 100, Cost: 7}
	warm := &entry{key: "u", waiting: 1, rate: rates{requests: 10}, rateSince: t0.Add(-time.Hour),
		quotas: []quota{q(store.QuotaDailyRequests, 0, 0, 30, 4)}, claims: []store.Claim{{RequestID: "c1", Amounts: est}}}
	in := m.prepare(warm, t0, est, true)
	// The rate halves (nothing drawn for an hour) to 5/s: a target of 10.
	// Requests: 1 + min(10, half of 1000 − 30 free) = 11; the other units
	// (no quota) ask for the estimate.
	if in.Want != (store.Amounts{Requests: 11, Tokens: 100, Cost: 7}) || in.Need != est || in.Return != (store.Amounts{Requests: 4}) ||
		len(in.Claims) != 1 || len(warm.claims) != 0 || warm.quotas[0].remaining != 0 || in.Holder != "h" || in.UserID != "u" {
		t.Fatalf("warm: %+v; entry %+v", in, warm)
	}
	cold := &entry{key: "v", waiting: 3}
	if in := m.prepare(cold, t0, est, true); in.Want != (store.Amounts{Requests: 3, Tokens: 300, Cost: 21}) || in.Need != est {
		t.Fatalf("cold: %+v", in)
	}
	bg := &entry{key: "u", rate: rates{requests: 10}, rateSince: t0.Add(-time.Hour), quotas: []quota{q(store.QuotaDailyRequests, 0, 0, 30, 4)}}
	if in := m.prepare(bg, t0, store.Amounts{}, false); in.Want != (store.Amounts{Requests: 6}) || in.Return != (store.Amounts{}) || bg.quotas[0].remaining != 4 {
		t.Fatalf("background: %+v", in)
	}
}

// TestApplyNeverExceedsTheStoresLease: what was drawn while a request was
// out is inside the store's lease, so the local lease is at most the
// store's lease minus it (a lease that expired at the store while its
// renewal was slow goes locally too).
func TestApplyNeverExceedsTheStoresLease(t *testing.T) {
	e := &entry{quotas: []quota{q(store.QuotaMonthlyTokens, 0, 0, 500, 200)},
		claims: []store.Claim{{RequestID: "during", Amounts: store.Amounts{Tokens: 300}}}}
	e.apply(store.LeaseGrant{Quotas: []store.LeasedQuota{{QuotaType: store.QuotaMonthlyTokens, Limit: 1000, Granted: 100, Lease: 350}}}, time.Unix(1, 0))
	if e.quotas[0].remaining != 50 || !e.ready {
		t.Fatalf("remaining %d, want 350 − 300 drawn meanwhile", e.quotas[0].remaining)
	}
	e.claims = nil
	e.apply(store.LeaseGrant{Quotas: []store.LeasedQuota{{QuotaType: store.QuotaMonthlyTokens, Limit: 1000, Granted: 100, Lease: 1000}}}, time.Unix(2, 0))
	if e.quotas[0].remaining != 150 {
		t.Fatalf("remaining %d, want 50 + 100 granted", e.quotas[0].remaining)
	}
	refusal := &store.QuotaExceeded{QuotaType: store.QuotaMonthlyTokens}
	e.gen = 7
	e.apply(store.LeaseGrant{Refused: refusal}, time.Unix(3, 0))
	if len(e.quotas) != 0 || e.refused != refusal || e.refusedGen != 7 {
		t.Fatalf("a quota gone and a refusal: %+v", e)
	}
}
