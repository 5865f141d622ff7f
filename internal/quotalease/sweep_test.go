package quotalease

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// TestSweepReturnsIdleLeases: with the Manager's clock injected, a key
// idle for a TTL gives its allowance back (its claims already sent), and
// on the next sweep, holding nothing, is forgotten; Run sweeps until its
// context ends, then gives every lease back.
func TestSweepReturnsIdleLeases(t *testing.T) {
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	u, _, _ := s.EnsureUser(context.Background(), store.EnsureUserInput{ExternalID: "ann"})
	e := engine{store: s, userID: u.ID}
	args, _ := json.Marshal(quotaArgs(u.ID, store.QuotaDailyRequests, 100))
	if _, err := s.Call(context.Background(), "mutation", "llmmeter:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m := New(Options{Store: s, Now: clock})
	for i := range 3 {
		if err := m.Admit(context.Background(), "r"+string(rune('0'+i)), u.ID, store.Amounts{Requests: 1}); err != nil {
			t.Fatal(err)
		}
	}
	m.bg.Wait()
	// Age a third of the TTL: the sweep sends what is left to send.
	mu.Lock()
	now = now.Add(DefaultTTL / 3)
	mu.Unlock()
	m.Sweep()
	m.bg.Wait()
	held := probe(t, e.store, u.ID, store.QuotaDailyRequests)
	if held.Others <= 3 {
		t.Fatalf("before the idle sweep: %+v, want the 3 calls reserved and a lease beside them", held)
	}
	mu.Lock()
	now = now.Add(DefaultTTL)
	mu.Unlock()
	m.Sweep() // idle: give the lease back
	m.bg.Wait()
	if q := probe(t, e.store, u.ID, store.QuotaDailyRequests); q.Others != 3 {
		t.Fatalf("after the idle sweep: %+v, want only the 3 calls reserved", q)
	}
	m.Sweep() // holding nothing: forgotten
	m.mu.Lock()
	left := len(m.keys)
	m.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d keys kept after two idle sweeps", left)
	}
	// Run: a fresh lease, given back when Run's context ends.
	if err := m.Admit(context.Background(), "r9", u.ID, store.Amounts{Requests: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not end with its context")
	}
	if q := probe(t, e.store, u.ID, store.QuotaDailyRequests); q.Others != 4 {
		t.Fatalf("after Run ended: %+v, want the 4 calls reserved and no lease", q)
	}
}

// TestAdmitUndoesARefusedCall: a call the system budget refuses gives back
// what it drew from the user's lease (no reservation is left for it), and
// input out of range is store.ErrInvalid before any store call.
func TestAdmitUndoesARefusedCall(t *testing.T) {
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	u, _, _ := s.EnsureUser(context.Background(), store.EnsureUserInput{ExternalID: "ann"})
	for _, q := range []struct {
		user, typ string
		limit     float64
	}{{u.ID, store.QuotaDailyRequests, 10}, {"", store.QuotaSystemMonthlyCostUSD, 0}} {
		args, _ := json.Marshal(quotaArgs(q.user, q.typ, q.limit))
		if _, err := s.Call(context.Background(), "mutation", "llmmeter:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
			t.Fatal(err)
		}
	}
	c := &checked{Leases: s, t: t}
	m := New(Options{Store: c})
	err = m.Admit(context.Background(), "r1", u.ID, store.Amounts{Requests: 1, Cost: 5000})
	if qe, ok := err.(*store.QuotaExceeded); !ok || qe.QuotaType != store.QuotaSystemMonthlyCostUSD {
		t.Fatalf("admit against a $0 system budget: %v", err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if q := probe(t, s, u.ID, store.QuotaDailyRequests); q.Others != 0 {
		t.Fatalf("the refused call left %+v", q)
	}
	calls := c.calls
	for _, bad := range []struct {
		req, user string
		est       store.Amounts
	}{{"", u.ID, store.Amounts{}}, {"r", "", store.Amounts{}}, {"r", u.ID, store.Amounts{Tokens: -1}}, {"r", u.ID, store.Amounts{Tokens: store.MaxAmount + 1}}} {
		if err := m.Admit(context.Background(), bad.req, bad.user, bad.est); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Admit(%q, %q, %+v) = %v, want ErrInvalid", bad.req, bad.user, bad.est, err)
		}
	}
	if c.calls != calls {
		t.Fatalf("invalid input reached the store (%d calls)", c.calls-calls)
	}
}

// TestCloseLeavesNothingAdmittedLocally: a warm key without quotas admits
// locally; after Close its next call waits for a fresh lease, which sees a
// quota set meanwhile and refuses the call over it.
func TestCloseLeavesNothingAdmittedLocally(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	u, _, _ := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "ann"})
	m := New(Options{Store: s})
	if err := m.Admit(ctx, "r0", u.ID, store.Amounts{Requests: 1}); err != nil {
		t.Fatal(err)
	}
	m.bg.Wait()
	args, _ := json.Marshal(quotaArgs(u.ID, store.QuotaDailyRequests, 0))
	if _, err := s.Call(ctx, "mutation", "llmmeter:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
		t.Fatal(err)
	}
	waited := m.Stats().Waited
	if err := m.Admit(ctx, "r1", u.ID, store.Amounts{Requests: 1}); err != nil {
		t.Fatalf("warm key, before Close: %v (admitted locally until its lease ages)", err)
	}
	if m.Stats().Waited != waited {
		t.Fatalf("a warm key waited for the store")
	}
	m.bg.Wait()
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var qe *store.QuotaExceeded
	if err := m.Admit(ctx, "r2", u.ID, store.Amounts{Requests: 1}); !errors.As(err, &qe) || qe.QuotaType != store.QuotaDailyRequests {
		t.Fatalf("after Close: %v, want the new daily_requests quota to refuse", err)
	}
	if m.Stats().Waited != waited+1 {
		t.Fatalf("after Close the call should wait for a fresh lease: waited %d, was %d", m.Stats().Waited, waited)
	}
}

// TestRefreshAppliesANewQuotaOnTheNextCall: a quota set on a warm key is
// admitted against on the very next call once the key is refreshed; other
// keys keep admitting locally, and refreshing an unknown key is harmless.
func TestRefreshAppliesANewQuotaOnTheNextCall(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	ann, _, _ := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "ann"})
	bob, _, _ := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "bob"})
	m := New(Options{Store: s})
	for _, u := range []string{ann.ID, bob.ID} {
		if err := m.Admit(ctx, "warm-"+u, u, store.Amounts{Requests: 1}); err != nil {
			t.Fatal(err)
		}
	}
	m.bg.Wait()
	args, _ := json.Marshal(quotaArgs(ann.ID, store.QuotaDailyRequests, 0))
	if _, err := s.Call(ctx, "mutation", "llmmeter:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
		t.Fatal(err)
	}
	m.Refresh(ann.ID)
	m.Refresh("nobody") // no lease held: nothing to do
	waited := m.Stats().Waited
	var qe *store.QuotaExceeded
	if err := m.Admit(ctx, "r1", ann.ID, store.Amounts{Requests: 1}); !errors.As(err, &qe) || qe.QuotaType != store.QuotaDailyRequests {
		t.Fatalf("after Refresh: %v, want the new daily_requests quota to refuse", err)
	}
	if m.Stats().Waited != waited+1 {
		t.Fatalf("the refreshed key should wait for a fresh lease: waited %d, was %d", m.Stats().Waited, waited)
	}
	if err := m.Admit(ctx, "r2", bob.ID, store.Amounts{Requests: 1}); err != nil || m.Stats().Waited != waited+1 {
		t.Fatalf("bob, not refreshed: %v, waited %d (was %d)", err, m.Stats().Waited, waited+1)
	}
}

// TestSweepShowsANewQuotaToAKeyWithoutOne: a warm key whose last grant
// named no quota admits every call locally; a quota created for it is
// enforced once a sweep finds the key's grant a third of the TTL old,
// whether or not the user called meanwhile. Found against the running
// service: a quota set (daily_requests at its limit) on a user idle since
// their last call was not applied to their next call 15 s later, though
// the docs say within TTL/3 (10 s), since only keys holding claims or
// allowance were swept and a key without quotas holds neither.
func TestSweepShowsANewQuotaToAKeyWithoutOne(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	ann, _, _ := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "ann"})
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m := New(Options{Store: s, Now: clock})
	if err := m.Admit(ctx, "warm", ann.ID, store.Amounts{Requests: 1}); err != nil {
		t.Fatal(err)
	}
	m.bg.Wait()
	args, _ := json.Marshal(quotaArgs(ann.ID, store.QuotaDailyRequests, 0))
	if _, err := s.Call(ctx, "mutation", "llmmeter:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(DefaultTTL / 3)
	mu.Unlock()
	m.Sweep()
	m.bg.Wait()
	var qe *store.QuotaExceeded
	if err := m.Admit(ctx, "r1", ann.ID, store.Amounts{Requests: 1}); !errors.As(err, &qe) || qe.QuotaType != store.QuotaDailyRequests {
		t.Fatalf("a third of the TTL after the quota was set: %v, want it to refuse", err)
	}
}

// openSQLite is a fresh embedded store for one test.
func openSQLite(t *testing.T) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
