package quotalease

import (
	"context"
	"encoding/json"
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
	if _, err := s.Call(context.Background(), "mutation", "admin:setQuota", args, store.Caller{Authenticated: true, IsAdmin: true}); err != nil {
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
