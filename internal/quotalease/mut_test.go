package quotalease

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"llmmeter/internal/store"
)

// The tests in this file pin the Manager's behaviour around waiting calls,
// refusals, deadlines and Close against a store whose answers each test
// scripts (the engine tests cover the same paths against real stores, where
// the orderings below cannot be forced).

// leaseUser is the user whose calls these tests admit.
const leaseUser = "u"

// scriptedLeases is a store.Leases whose answers the test decides: every request
// is recorded with the time its context had left, and answer (run outside
// the lock, so it may block on a test's gate) gives the grant; k counts the
// requests of the same key from 0. The system budget ("") has no quotas
// unless answer says otherwise.
type scriptedLeases struct {
	answer func(k int, in store.LeaseInput) (store.LeaseGrant, error)
	mu     sync.Mutex
	ins    []store.LeaseInput
	left   []time.Duration // -1: no deadline
}

func (s *scriptedLeases) Lease(ctx context.Context, in store.LeaseInput) (store.LeaseGrant, error) {
	s.mu.Lock()
	k := 0
	for _, old := range s.ins {
		if old.UserID == in.UserID {
			k++
		}
	}
	left := time.Duration(-1)
	if d, ok := ctx.Deadline(); ok {
		left = time.Until(d)
	}
	s.ins, s.left = append(s.ins, in), append(s.left, left)
	s.mu.Unlock()
	return s.answer(k, in)
}

// requests returns the requests sent for key, in order, with the time
// their contexts had left.
func (s *scriptedLeases) requests(key string) ([]store.LeaseInput, []time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ins []store.LeaseInput
	var left []time.Duration
	for i, in := range s.ins {
		if in.UserID == key {
			ins, left = append(ins, in), append(left, s.left[i])
		}
	}
	return ins, left
}

// awaitCond polls cond until it holds, failing the test after a generous
// deadline (the machine may be busy; nothing here is timed).
func awaitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// tokensQuota is a monthly_tokens quota as the store reports it.
func tokensQuota(limit, used, granted, lease int64) store.LeasedQuota {
	return store.LeasedQuota{QuotaType: store.QuotaMonthlyTokens, Limit: limit, Used: used, Granted: granted, Lease: lease}
}

// tokensRefusal is the store refusing a call that needs more than the 100
// tokens left of 1000.
func tokensRefusal() store.LeaseGrant {
	return store.LeaseGrant{Quotas: []store.LeasedQuota{tokensQuota(1000, 900, 0, 0)},
		Refused: &store.QuotaExceeded{QuotaType: store.QuotaMonthlyTokens, Limit: 1000, Used: 900, Remaining: 100}}
}

// admitInBackground runs one Admit in the background; its result comes on the
// returned channel.
func admitInBackground(m *Manager, requestID string, est store.Amounts) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- m.Admit(context.Background(), requestID, leaseUser, est) }()
	return ch
}

// awaitResult takes one result, failing after a generous deadline.
func awaitResult(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not return", what)
		return nil
	}
}

// TestCallsWaitingTogetherAskForAllOfThem: while a cold key's first lease
// request is out, five more calls queue behind it; when it fails, the next
// request asks for all five calls' estimates at once (each waiting call
// counted once, and the failed call no longer), and all five are admitted.
func TestCallsWaitingTogetherAskForAllOfThem(t *testing.T) {
	release := make(chan struct{})
	down := errors.New("store down")
	s := &scriptedLeases{answer: func(k int, in store.LeaseInput) (store.LeaseGrant, error) {
		switch {
		case in.UserID != leaseUser:
			return store.LeaseGrant{}, nil
		case k == 0:
			<-release
			return store.LeaseGrant{}, down
		}
		return store.LeaseGrant{Quotas: []store.LeasedQuota{tokensQuota(1_000_000, 0, in.Want.Tokens, 1_000_000)}}, nil
	}}
	m := New(Options{Store: s})
	est := store.Amounts{Requests: 1, Tokens: 10, Cost: 3}
	first := admitInBackground(m, "first", est)
	awaitCond(t, "the first call's lease request", func() bool { ins, _ := s.requests(leaseUser); return len(ins) == 1 })
	var rest []<-chan error
	for i := range 5 {
		rest = append(rest, admitInBackground(m, fmt.Sprint("queued-", i), est))
	}
	awaitCond(t, "six calls waiting", func() bool { return m.Stats().Waited == 6 })
	close(release)
	if err := awaitResult(t, first, "the first call"); !errors.Is(err, down) {
		t.Fatalf("first call: %v, want the store's error", err)
	}
	for i, ch := range rest {
		if err := awaitResult(t, ch, "a queued call"); err != nil {
			t.Fatalf("queued call %d: %v", i, err)
		}
	}
	ins, _ := s.requests(leaseUser)
	if len(ins) < 2 || ins[1].Want != (store.Amounts{Requests: 5, Tokens: 50, Cost: 15}) || ins[1].Need != est {
		t.Fatalf("requests %+v: want the one after the failure to ask for five calls' worth and need one call's", ins)
	}
}

// TestAWaitingCallTakesARefusalOnlyWhenItCannotFit: a call queued behind
// another call's request that the store refused takes that refusal as its
// own only when it needs more than the refusal left; needing exactly what
// was left, it asks the store itself (and here is granted).
func TestAWaitingCallTakesARefusalOnlyWhenItCannotFit(t *testing.T) {
	for _, c := range []struct {
		name    string
		tokens  int64
		refused bool
	}{
		// The refusal left 100 tokens: a call of 100 may still fit.
		{"needs exactly what was left", 100, false},
		// One token more than was left: refused without a request of its own.
		{"needs more than was left", 101, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			release := make(chan struct{})
			s := &scriptedLeases{answer: func(k int, in store.LeaseInput) (store.LeaseGrant, error) {
				switch {
				case in.UserID != leaseUser:
					return store.LeaseGrant{}, nil
				case k == 0: // the big call's request
					<-release
					return tokensRefusal(), nil
				case in.Need.Tokens > 0: // a waiting call's own request: what it needs
					return store.LeaseGrant{Quotas: []store.LeasedQuota{tokensQuota(1000, 900, in.Need.Tokens, in.Need.Tokens)}}, nil
				}
				return store.LeaseGrant{Quotas: []store.LeasedQuota{tokensQuota(1000, 900, 0, 0)}}, nil
			}}
			m := New(Options{Store: s})
			big := admitInBackground(m, "big", store.Amounts{Requests: 1, Tokens: 500})
			awaitCond(t, "the big call's lease request", func() bool { ins, _ := s.requests(leaseUser); return len(ins) == 1 })
			small := admitInBackground(m, "small", store.Amounts{Requests: 1, Tokens: c.tokens})
			awaitCond(t, "two calls waiting", func() bool { return m.Stats().Waited == 2 })
			close(release)
			var qe *store.QuotaExceeded
			if err := awaitResult(t, big, "the big call"); !errors.As(err, &qe) || qe.Remaining != 100 {
				t.Fatalf("big call: %v, want its refusal", err)
			}
			err := awaitResult(t, small, "the small call")
			m.bg.Wait()
			ins, _ := s.requests(leaseUser)
			asked := 0
			for _, in := range ins[1:] {
				if in.Need.Tokens == c.tokens {
					asked++
				}
			}
			if c.refused {
				if !errors.As(err, &qe) || qe.Remaining != 100 || asked != 0 {
					t.Fatalf("small call: %v after %d requests of its own, want the big call's refusal and none", err, asked)
				}
				return
			}
			if err != nil || asked != 1 {
				t.Fatalf("small call: %v after %d requests of its own, want admitted after one", err, asked)
			}
		})
	}
}

// TestAStaleRefusalDoesNotAnswerALaterCall: a refusal from a request that
// ended before a call began waiting is not that call's answer: the call
// queues behind the background renewal the refusal started, and then asks
// the store itself (the quota was raised meanwhile) and is admitted.
func TestAStaleRefusalDoesNotAnswerALaterCall(t *testing.T) {
	release := make(chan struct{})
	s := &scriptedLeases{answer: func(k int, in store.LeaseInput) (store.LeaseGrant, error) {
		switch {
		case in.UserID != leaseUser:
			return store.LeaseGrant{}, nil
		case k == 0: // the first call's request
			return tokensRefusal(), nil
		case in.Need.Tokens == 0: // the renewal after the refusal: held until the later call waits, grants nothing
			<-release
			return store.LeaseGrant{Quotas: []store.LeasedQuota{tokensQuota(2000, 900, 0, 0)}}, nil
		}
		return store.LeaseGrant{Quotas: []store.LeasedQuota{tokensQuota(2000, 900, in.Need.Tokens, in.Need.Tokens)}}, nil
	}}
	m := New(Options{Store: s})
	var qe *store.QuotaExceeded
	if err := m.Admit(context.Background(), "first", leaseUser, store.Amounts{Requests: 1, Tokens: 500}); !errors.As(err, &qe) {
		t.Fatalf("first call: %v, want refused", err)
	}
	// The refusal left the lease empty, so a renewal is out now.
	awaitCond(t, "the renewal after the refusal", func() bool { ins, _ := s.requests(leaseUser); return len(ins) == 2 })
	later := admitInBackground(m, "later", store.Amounts{Requests: 1, Tokens: 200})
	awaitCond(t, "the later call waiting", func() bool { return m.Stats().Waited == 2 })
	close(release)
	if err := awaitResult(t, later, "the later call"); err != nil {
		t.Fatalf("later call: %v, want admitted (the refusal it saw was older than its wait)", err)
	}
}

// TestFitsAtExactlyWhatIsLeft: a call fits when every quota has at least
// its estimate left, exactly that included.
func TestFitsAtExactlyWhatIsLeft(t *testing.T) {
	e := &entry{quotas: []quota{q(store.QuotaDailyRequests, 0, 0, 5, 1), q(store.QuotaMonthlyTokens, 0, 0, 500, 300)}}
	for _, c := range []struct {
		est  store.Amounts
		fits bool
	}{
		{store.Amounts{Requests: 1, Tokens: 300}, true},  // exactly what both have left
		{store.Amounts{Requests: 1, Tokens: 301}, false}, // one token over
		{store.Amounts{Requests: 2, Tokens: 1}, false},   // one request over
		{store.Amounts{}, true},
	} {
		if got := e.fits(c.est); got != c.fits {
			t.Errorf("fits(%+v) = %v, want %v", c.est, got, c.fits)
		}
	}
}

// TestBackgroundRenewalGetsAThirdOfTheTTL: a background renewal's store
// call is bounded by a third of the TTL (when the next one is due), so a
// stalled store cannot hold the key's renewals up for longer.
func TestBackgroundRenewalGetsAThirdOfTheTTL(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := &scriptedLeases{answer: func(int, store.LeaseInput) (store.LeaseGrant, error) { return store.LeaseGrant{}, nil }}
	m := New(Options{Store: s, Now: func() time.Time { return now }})
	m.keys[leaseUser] = &entry{key: leaseUser, lastUse: now, sentAt: now.Add(-DefaultTTL / 3),
		claims: []store.Claim{{RequestID: "r1", Amounts: store.Amounts{Requests: 1}}}}
	m.Sweep()
	m.bg.Wait()
	ins, left := s.requests(leaseUser)
	if len(ins) != 1 || left[0] <= DefaultTTL/3-5*time.Second || left[0] > DefaultTTL/3 {
		t.Fatalf("%d requests, time left %v; want one with at most %v left", len(ins), left, DefaultTTL/3)
	}
}

// TestRunSweepsAndReturnsOnItsOwnClock: Run sweeps every sixth of the TTL
// (a key with claims a third of the TTL old gets them sent well within a
// generous deadline, with a 6 s TTL), and when its context ends gives the
// leases back with 5 s for it, reporting to OnError only a failure.
func TestRunSweepsAndReturnsOnItsOwnClock(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprint("close fails=", fail), func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			ttl := 6 * time.Second
			s := &scriptedLeases{answer: func(k int, in store.LeaseInput) (store.LeaseGrant, error) {
				if fail && in.Return != (store.Amounts{}) {
					return store.LeaseGrant{}, errors.New("store down")
				}
				return store.LeaseGrant{Quotas: []store.LeasedQuota{{QuotaType: store.QuotaDailyRequests, Limit: 1000, Lease: 1000}}}, nil
			}}
			var mu sync.Mutex
			var heard []string
			m := New(Options{Store: s, TTL: ttl, Now: func() time.Time { return now },
				OnError: func(key string, err error) {
					mu.Lock()
					defer mu.Unlock()
					heard = append(heard, fmt.Sprintf("%q: %v", key, err))
				}})
			m.keys[leaseUser] = &entry{key: leaseUser, ready: true, lastUse: now, sentAt: now.Add(-ttl / 3),
				quotas: []quota{{LeasedQuota: store.LeasedQuota{QuotaType: store.QuotaDailyRequests, Limit: 1000, Lease: 7}, remaining: 7}},
				claims: []store.Claim{{RequestID: "r1", Amounts: store.Amounts{Requests: 1}}}}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { m.Run(ctx); close(done) }()
			// 30 s is five ticks and more; Run ticking at six TTLs (36 s) misses it.
			deadline := time.Now().Add(30 * time.Second)
			for ins, _ := s.requests(leaseUser); len(ins) == 0; ins, _ = s.requests(leaseUser) {
				if time.Now().After(deadline) {
					t.Fatal("no sweep within 30 s of Run starting, with a 6 s TTL")
				}
				time.Sleep(time.Millisecond)
			}
			cancel()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("Run did not end with its context")
			}
			ins, left := s.requests(leaseUser)
			last := len(ins) - 1
			if len(ins[0].Claims) != 1 || ins[last].Return.Requests != 7 || left[last] <= 0 || left[last] > 5*time.Second {
				t.Fatalf("requests %+v with %v left; want the claim sent, then 7 returned with up to 5 s left", ins, left)
			}
			mu.Lock()
			defer mu.Unlock()
			if fail != (len(heard) == 1) || len(heard) > 1 || fail && !strings.Contains(heard[0], `"": quotalease: return the lease of "u": store down`) {
				t.Fatalf("OnError heard %q", heard)
			}
		})
	}
}

// TestCloseSendsWhatIsLeft: Close sends the claims of a key holding
// nothing, returns the allowance of a key without claims, sends nothing for
// a key with neither or with a request in flight, and leaves every key it
// saw needing a fresh lease; failures are joined, naming their key.
func TestCloseSendsWhatIsLeft(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := &scriptedLeases{answer: func(_ int, in store.LeaseInput) (store.LeaseGrant, error) {
		if in.UserID == "broken" {
			return store.LeaseGrant{}, errors.New("store down")
		}
		return store.LeaseGrant{}, nil
	}}
	m := New(Options{Store: s, Now: func() time.Time { return now }})
	held := func(n int64) []quota {
		return []quota{{LeasedQuota: store.LeasedQuota{QuotaType: store.QuotaDailyRequests, Limit: 100, Lease: n}, remaining: n}}
	}
	claim := []store.Claim{{RequestID: "r1", Amounts: store.Amounts{Requests: 1}}}
	m.keys["claims"] = &entry{key: "claims", ready: true, quotas: held(0), claims: claim}
	m.keys["held"] = &entry{key: "held", ready: true, quotas: held(7)}
	m.keys["empty"] = &entry{key: "empty", ready: true, quotas: held(0)}
	m.keys["broken"] = &entry{key: "broken", ready: true, quotas: held(3)}
	err := m.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), `return the lease of "broken": store down`) || strings.Contains(err.Error(), `"held"`) {
		t.Fatalf("Close: %v, want only the broken key's failure", err)
	}
	if ins, _ := s.requests("claims"); len(ins) != 1 || len(ins[0].Claims) != 1 || ins[0].Return != (store.Amounts{}) || ins[0].Want != (store.Amounts{}) {
		t.Errorf("claims key sent %+v, want its claim alone", ins)
	}
	if ins, _ := s.requests("held"); len(ins) != 1 || len(ins[0].Claims) != 0 || ins[0].Return != (store.Amounts{Requests: 7}) || ins[0].Want != (store.Amounts{}) {
		t.Errorf("held key sent %+v, want 7 returned and nothing wanted", ins)
	}
	if ins, _ := s.requests("empty"); len(ins) != 0 {
		t.Errorf("empty key sent %+v, want nothing", ins)
	}
	for key, e := range m.keys {
		if e.ready {
			t.Errorf("key %q still ready after Close", key)
		}
	}
}

// TestCloseSkipsAKeyWithARequestInFlight: a key whose request is out is
// left to it (Close does not send a second request for the same key).
func TestCloseSkipsAKeyWithARequestInFlight(t *testing.T) {
	s := &scriptedLeases{answer: func(int, store.LeaseInput) (store.LeaseGrant, error) { return store.LeaseGrant{}, nil }}
	m := New(Options{Store: s})
	m.keys[leaseUser] = &entry{key: leaseUser, ready: true, busy: make(chan struct{}),
		quotas: []quota{{LeasedQuota: store.LeasedQuota{QuotaType: store.QuotaDailyRequests, Limit: 100, Lease: 7}, remaining: 7}}}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ins, _ := s.requests(leaseUser); len(ins) != 0 {
		t.Fatalf("sent %+v for a key with a request in flight", ins)
	}
}
