package auth

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"llmmeter/internal/store"
)

// gatedUsers is a store whose EnsureUser counts its calls and answers only
// once open is closed.
type gatedUsers struct {
	store.Store
	calls atomic.Int64
	open  chan struct{}
}

func (s *gatedUsers) EnsureUser(ctx context.Context, in store.EnsureUserInput) (store.User, bool, error) {
	s.calls.Add(1)
	select {
	case <-s.open:
		return store.User{ID: "u_" + in.ExternalID}, true, nil
	case <-ctx.Done():
		return store.User{}, false, ctx.Err()
	}
}

// TestUserCacheOneStoreCallPerNewUser: a new end user's first calls, all
// at once, made one EnsureUser each (50 per replica in a 100-call burst
// over two replicas); on the busy Convex test backend they queued past
// AUTH_CHECK_TIMEOUT and every call was refused 503 users_unavailable. Now
// the concurrent misses of one user wait for one store call; the caller
// that started it may give up without ending it for the others.
func TestUserCacheOneStoreCallPerNewUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &gatedUsers{open: make(chan struct{})}
		c := NewUserCache(s, 0, 2*time.Second)
		const calls = 20
		ids := make([]string, calls)
		errs := make([]error, calls)
		var wg sync.WaitGroup
		release := sync.OnceFunc(func() { close(s.open) })
		defer func() { release(); wg.Wait() }() // the bubble ends with no goroutine blocked, even on failure
		// The first to ask leaves while the store call is under way.
		leaving, leave := context.WithCancel(context.Background())
		defer leave()
		left := make(chan error, 1)
		go func() { _, err := c.UserID(leaving, store.EnsureUserInput{ExternalID: "new"}); left <- err }()
		synctest.Wait()
		for i := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ids[i], errs[i] = c.UserID(context.Background(), store.EnsureUserInput{ExternalID: "new"})
			}()
		}
		synctest.Wait() // every caller is waiting
		if n := s.calls.Load(); n != 1 {
			t.Fatalf("%d concurrent first calls of one user made %d store calls, want 1", calls+1, n)
		}
		leave()
		if err := <-left; err == nil {
			t.Fatal("a caller that gave up got an answer")
		}
		release()
		wg.Wait()
		for i := range calls {
			if errs[i] != nil || ids[i] != "u_new" {
				t.Fatalf("caller %d: %q, %v", i, ids[i], errs[i])
			}
		}
		if id, err := c.UserID(context.Background(), store.EnsureUserInput{ExternalID: "new"}); id != "u_new" || err != nil || s.calls.Load() != 1 {
			t.Fatalf("cached: %q, %v after %d store calls", id, err, s.calls.Load())
		}
	})
}

// namedUsers is a store that records each EnsureUser's input and answers
// once open is closed (nil: at once).
type namedUsers struct {
	store.Store
	mu   sync.Mutex
	ins  []store.EnsureUserInput
	open chan struct{}
}

func (s *namedUsers) EnsureUser(ctx context.Context, in store.EnsureUserInput) (store.User, bool, error) {
	s.mu.Lock()
	s.ins = append(s.ins, in)
	open := s.open
	s.mu.Unlock()
	if open != nil {
		<-open
	}
	return store.User{ID: "u_" + in.ExternalID}, false, nil
}

func (s *namedUsers) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, in := range s.ins {
		out = append(out, in.Name+"|"+in.Email)
	}
	return out
}

// TestUserCacheStoresARenameOnAHit: a cached user's call that brings a new
// name or email answers from the cache and tells the store in the
// background, once however many calls bring it meanwhile; the same name
// again, or none, calls nothing. A rename used to reach the store only
// at the user's next miss, an eviction or a restart away.
func TestUserCacheStoresARenameOnAHit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &namedUsers{}
		c := NewUserCache(s, 0, time.Second)
		ask := func(name, email string) {
			t.Helper()
			if id, err := c.UserID(context.Background(), store.EnsureUserInput{ExternalID: "ann", Name: name, Email: email}); id != "u_ann" || err != nil {
				t.Fatalf("%q: %q %v", name, id, err)
			}
			synctest.Wait()
		}
		ask("Ann", "ann@a.test")
		ask("Ann", "ann@a.test")
		ask("", "") // nothing said: nothing changed
		if got := s.names(); len(got) != 1 {
			t.Fatalf("store calls %v, want the first only", got)
		}
		s.mu.Lock()
		s.open = make(chan struct{})
		s.mu.Unlock()
		ask("Ann B", "")
		ask("Ann B", "") // the update is under way
		close(s.open)
		synctest.Wait()
		ask("Ann B", "")
		ask("Ann B", "ann@b.test")
		want := []string{"Ann|ann@a.test", "Ann B|", "Ann B|ann@b.test"}
		if got := s.names(); len(got) != len(want) || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("store calls %v, want %v", got, want)
		}
	})
}
