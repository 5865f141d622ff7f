package quotalease

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
)

// recorder is a store that grants nothing and remembers what it was sent:
// enough to see which request each of Sweep's decisions makes.
type recorder struct {
	mu  sync.Mutex
	ins []store.LeaseInput
}

func (r *recorder) Lease(_ context.Context, in store.LeaseInput) (store.LeaseGrant, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ins = append(r.ins, in)
	return store.LeaseGrant{}, nil
}

// TestSweepDecisions: each branch of Sweep and its boundaries, on one key
// set up by hand under an injected clock. A key is idle once unused for
// exactly a TTL; an idle key holding nothing is forgotten, one holding
// allowance gives it all back, one with unsent claims sends them; a key in
// use renews once its last request is exactly a third of the TTL old; a key
// with a request in flight or a call waiting is left alone.
func TestSweepDecisions(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	ttl := DefaultTTL
	held := []quota{{LeasedQuota: store.LeasedQuota{QuotaType: store.QuotaDailyRequests}, remaining: 7}}
	claim := []store.Claim{{RequestID: "r1", Amounts: store.Amounts{Requests: 1}}}
	cases := []struct {
		name     string
		e        entry
		kept     bool // the key is still known after the sweep
		request  bool // the sweep sent a lease request
		returned int64
		claims   int
		boost    int64 // e.boost after the sweep
	}{
		// Unused for exactly a TTL and holding nothing: forgotten.
		{name: "idle empty forgotten", e: entry{lastUse: now.Add(-ttl), sentAt: now.Add(-ttl)}},
		// A nanosecond short of idle: kept, and with nothing held no renewal.
		{name: "almost idle empty kept", e: entry{lastUse: now.Add(-ttl + 1), sentAt: now.Add(-ttl)}, kept: true},
		// Idle with allowance: all of it given back, nothing more wanted.
		{name: "idle held returned", e: entry{lastUse: now.Add(-ttl), sentAt: now.Add(-time.Second), quotas: held},
			kept: true, request: true, returned: 7},
		// Idle with claims not yet sent: they go, the allowance stays.
		{name: "idle claims sent", e: entry{lastUse: now.Add(-ttl), sentAt: now.Add(-ttl / 3), quotas: held, claims: claim},
			kept: true, request: true, claims: 1},
		// Idle with claims, last request recent: wait for it to age.
		{name: "idle claims young", e: entry{lastUse: now.Add(-ttl), sentAt: now.Add(-ttl/3 + 1), claims: claim}, kept: true},
		// In use, allowance held, last request exactly TTL/3 old: renewed,
		// the slow start halved.
		{name: "held aged renewed", e: entry{lastUse: now, sentAt: now.Add(-ttl / 3), quotas: held, boost: 8},
			kept: true, request: true, boost: 4},
		// The same a nanosecond younger: no request.
		{name: "held young kept", e: entry{lastUse: now, sentAt: now.Add(-ttl/3 + 1), quotas: held, boost: 8}, kept: true, boost: 8},
		// Claims alone (nothing held) are reason enough to renew.
		{name: "claims aged renewed", e: entry{lastUse: now, sentAt: now.Add(-ttl / 3), claims: claim, boost: 1},
			kept: true, request: true, claims: 1},
		// In use but holding nothing: nothing to renew, nothing to forget.
		{name: "in use empty kept", e: entry{lastUse: now, sentAt: now.Add(-ttl)}, kept: true},
		// In use, its last grant named no quota, a third of the TTL old:
		// renewed, since such a key admits every call locally and must see
		// a quota created since.
		{name: "no quotas aged renewed", e: entry{ready: true, lastUse: now, sentAt: now.Add(-ttl / 3)}, kept: true, request: true},
		// The same a nanosecond younger: no request.
		{name: "no quotas young kept", e: entry{ready: true, lastUse: now, sentAt: now.Add(-ttl/3 + 1)}, kept: true},
		// A request in flight: left alone, even though idle and empty.
		{name: "busy skipped", e: entry{lastUse: now.Add(-ttl), sentAt: now.Add(-ttl), busy: make(chan struct{})}, kept: true},
		// A call waiting for a lease: left alone too.
		{name: "waiting skipped", e: entry{lastUse: now.Add(-ttl), sentAt: now.Add(-ttl), waiting: 1}, kept: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			m := New(Options{Store: rec, Now: func() time.Time { return now }})
			e := tc.e
			e.key = "u1"
			e.quotas = append([]quota(nil), e.quotas...)
			m.keys["u1"] = &e
			m.Sweep()
			m.bg.Wait()
			m.mu.Lock()
			_, kept := m.keys["u1"]
			boost := e.boost
			m.mu.Unlock()
			if kept != tc.kept {
				t.Fatalf("kept = %v, want %v", kept, tc.kept)
			}
			if (len(rec.ins) == 1) != tc.request || len(rec.ins) > 1 {
				t.Fatalf("%d requests, want request=%v", len(rec.ins), tc.request)
			}
			if boost != tc.boost {
				t.Errorf("boost %d, want %d", boost, tc.boost)
			}
			if !tc.request {
				return
			}
			in := rec.ins[0]
			if in.Return.Requests != tc.returned || len(in.Claims) != tc.claims || in.Need != (store.Amounts{}) {
				t.Errorf("sent %+v, want %d returned and %d claims, no need", in, tc.returned, tc.claims)
			}
			if tc.returned > 0 && in.Want != (store.Amounts{}) {
				t.Errorf("giving back wants %+v, want nothing", in.Want)
			}
			if in.UserID != "u1" || in.TTL != DefaultTTL+DefaultHold || in.ClaimTTL != DefaultClaimTTL || in.Holder != m.Holder() {
				t.Errorf("sent %+v: wrong key, TTLs or holder", in)
			}
		})
	}
}

// TestNewDefaults: a zero Options gets the documented defaults, a random
// holder name of its own, and a harmless OnError; given values are kept.
func TestNewDefaults(t *testing.T) {
	if DefaultTTL != 30*time.Second || DefaultHold != 2*time.Minute || DefaultClaimTTL != 30*time.Minute || DefaultHorizon != 2*time.Second {
		t.Fatalf("defaults changed: TTL %v, hold %v, claim TTL %v, horizon %v (the docs and the Convex side state them)", DefaultTTL, DefaultHold, DefaultClaimTTL, DefaultHorizon)
	}
	a, b := New(Options{Store: &recorder{}}), New(Options{Store: &recorder{}})
	if a.opt.TTL != DefaultTTL || a.opt.Hold != DefaultHold || a.opt.ClaimTTL != DefaultClaimTTL || a.opt.Horizon != DefaultHorizon {
		t.Fatalf("zero Options: %+v", a.opt)
	}
	if !strings.HasPrefix(a.Holder(), "replica-") || len(a.Holder()) != len("replica-")+16 || a.Holder() == b.Holder() {
		t.Fatalf("holders %q and %q: want two distinct random replica names", a.Holder(), b.Holder())
	}
	if a.opt.Now == nil || a.opt.OnError == nil {
		t.Fatal("Now and OnError left nil")
	}
	a.opt.OnError("k", context.Canceled) // must not panic
	if d := time.Since(a.opt.Now()); d < -time.Minute || d > time.Minute {
		t.Fatalf("default clock is %v off", d)
	}
	for _, neg := range []time.Duration{0, -time.Second} {
		m := New(Options{Store: &recorder{}, TTL: neg, Hold: neg, ClaimTTL: neg, Horizon: neg})
		if m.opt.TTL != DefaultTTL || m.opt.Hold != DefaultHold || m.opt.ClaimTTL != DefaultClaimTTL || m.opt.Horizon != DefaultHorizon {
			t.Fatalf("durations %v: %+v, want the defaults", neg, m.opt)
		}
	}
	var heard string
	m := New(Options{Store: &recorder{}, Holder: "h1", TTL: time.Second, Hold: time.Second, ClaimTTL: time.Minute, Horizon: time.Millisecond,
		OnError: func(key string, _ error) { heard = key }})
	if m.Holder() != "h1" || m.opt.TTL != time.Second || m.opt.Hold != time.Second || m.opt.ClaimTTL != time.Minute || m.opt.Horizon != time.Millisecond {
		t.Fatalf("given options not kept: %+v", m.opt)
	}
	m.opt.OnError("x", context.Canceled)
	if heard != "x" {
		t.Fatal("the given OnError was replaced")
	}
}

// TestRatesOf: each quota type reads its own unit's rate; both cost types
// read the cost rate.
func TestRatesOf(t *testing.T) {
	r := rates{requests: 1, tokens: 2, cost: 3}
	for typ, want := range map[string]float64{store.QuotaDailyRequests: 1, store.QuotaMonthlyTokens: 2,
		store.QuotaMonthlyCostUSD: 3, store.QuotaSystemMonthlyCostUSD: 3} {
		if got := r.of(typ); got != want {
			t.Errorf("of(%s) = %v, want %v", typ, got, want)
		}
	}
}

// TestRenewIfDue: a call's renewal check renews a key whose lease is known
// (ready) and due, and leaves alone one not ready (its next call waits for
// a lease anyway) or unknown.
func TestRenewIfDue(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, ready := range []bool{true, false} {
		rec := &recorder{}
		m := New(Options{Store: rec, Now: func() time.Time { return now }})
		m.keys["u1"] = &entry{key: "u1", ready: ready, sentAt: now.Add(-DefaultTTL), lastUse: now}
		m.renewIfDue("u1")
		m.renewIfDue("nobody")
		m.bg.Wait()
		if got := len(rec.ins); (got == 1) != ready || got > 1 {
			t.Errorf("ready=%v: %d requests", ready, got)
		}
	}
}

// TestValidAmounts: every unit is checked against [0, store.MaxAmount],
// both ends included.
func TestValidAmounts(t *testing.T) {
	for _, c := range []struct {
		a  store.Amounts
		ok bool
	}{
		{store.Amounts{}, true},
		{store.Amounts{Requests: store.MaxAmount, Tokens: store.MaxAmount, Cost: money.Nanos(store.MaxAmount)}, true},
		{store.Amounts{Requests: -1}, false},
		{store.Amounts{Tokens: -1}, false},
		{store.Amounts{Cost: -1}, false},
		{store.Amounts{Requests: store.MaxAmount + 1}, false},
		{store.Amounts{Tokens: store.MaxAmount + 1}, false},
		{store.Amounts{Cost: money.Nanos(store.MaxAmount + 1)}, false},
	} {
		if err := validAmounts(c.a); (err == nil) != c.ok {
			t.Errorf("validAmounts(%+v) = %v, want ok=%v", c.a, err, c.ok)
		}
	}
}
