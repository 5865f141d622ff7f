package auth

import (
	"cmp"
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"llmmeter/internal/store"
)

// UserCache maps a user's stable id (a Clerk user id, or the external id an
// end user is named by) to its store user id, least recently used out
// first. A miss calls store.EnsureUser, which creates the users row once
// and stores the input's name and email when they changed. A hit does not
// wait for the store; when it brings a name or email other than the one
// cached, the store is told in the background, once, so a rename is stored
// on the user's next call, not at their next miss (an eviction or a
// restart away).
// Safe for concurrent use.
type UserCache struct {
	store store.Store
	size  int
	wait  time.Duration

	mu      sync.Mutex
	lru     *list.List // of userEntry, most recent first
	idx     map[string]*list.Element
	flights map[string]*userFlight // misses being asked of the store, by key
}

type userEntry struct {
	key, userID string
	name, email string // as last stored through this cache
	updating    bool   // a background EnsureUser of a changed name or email is under way
}

// changed reports whether in names the user or their email otherwise than
// e was stored with (an empty field changes nothing, as in EnsureUser).
func (e *userEntry) changed(in store.EnsureUserInput) bool {
	return (in.Name != "" && in.Name != e.name) || (in.Email != "" && in.Email != e.email)
}

// userFlight is one store call for a missed user that the concurrent
// misses of the same user wait for: a new end user's first burst (the chat
// app's users arrive many calls at once) made one EnsureUser per call, and
// on a busy store those each waited in line past AUTH_CHECK_TIMEOUT, so
// all of them were refused (100 of 100 calls 503 on the Convex test
// backend).
type userFlight struct {
	done   chan struct{}
	userID string
	err    error
}

// NewUserCache returns a cache of at most size users (default 10000).
// wait bounds a miss's store call (AUTH_CHECK_TIMEOUT; 0: only the
// caller's context), as Keys.Wait does a key's: a store that hangs costs a
// first-seen user's call wait, then ErrUnavailable.
func NewUserCache(s store.Store, size int, wait time.Duration) *UserCache {
	if size <= 0 {
		size = 10_000
	}
	return &UserCache{store: s, size: size, wait: wait, lru: list.New(), idx: make(map[string]*list.Element), flights: make(map[string]*userFlight)}
}

// UserID returns the store id of the user in names, creating the user when
// it is new. An input the store refuses is store.ErrInvalid; any other
// error is the store's own failure, ErrUnavailable.
func (c *UserCache) UserID(ctx context.Context, in store.EnsureUserInput) (string, error) {
	// The two id spaces never meet: "c:" and "x:" keep a Clerk id and an
	// external id of the same text apart.
	key := "x:" + in.ExternalID
	if in.ClerkUserID != "" {
		key = "c:" + in.ClerkUserID
	}
	c.mu.Lock()
	if el, ok := c.idx[key]; ok {
		c.lru.MoveToFront(el)
		e := el.Value.(*userEntry)
		if e.changed(in) && !e.updating {
			e.updating = true
			go c.update(context.WithoutCancel(ctx), e, in)
		}
		id := e.userID
		c.mu.Unlock()
		return id, nil
	}
	f, asking := c.flights[key]
	if !asking {
		f = &userFlight{done: make(chan struct{})}
		c.flights[key] = f
	}
	c.mu.Unlock()
	if !asking {
		go c.ask(ctx, key, in, f)
	}
	select {
	case <-f.done:
		return f.userID, f.err
	case <-ctx.Done(): // this caller gave up; the flight goes on for the others
		return "", fmt.Errorf("auth: ensure user: %w: %w", ErrUnavailable, ctx.Err())
	}
}

// ask makes f's store call and caches its answer, on its own goroutine:
// every caller, the first included, waits for it only as long as its own
// context lasts. The call is not cut short by the first caller going away
// (the others still wait for it), only by wait; with no wait, by that
// caller's context.
func (c *UserCache) ask(ctx context.Context, key string, in store.EnsureUserInput, f *userFlight) {
	if c.wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), c.wait)
		defer cancel()
	}
	u, _, err := c.store.EnsureUser(ctx, in)
	switch {
	case errors.Is(err, store.ErrInvalid):
		f.err = err
	case err != nil:
		// The store's failure, not the caller's: 503, try again.
		f.err = fmt.Errorf("auth: ensure user: %w: %w", ErrUnavailable, err)
	default:
		f.userID = u.ID
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.flights, key)
	close(f.done)
	if err == nil {
		c.idx[key] = c.lru.PushFront(&userEntry{key: key, userID: u.ID, name: in.Name, email: in.Email})
		for c.lru.Len() > c.size {
			old := c.lru.Remove(c.lru.Back()).(*userEntry)
			delete(c.idx, old.key)
		}
	}
}

// update stores a cached user's changed name or email (see UserCache),
// bounded by wait (30 s without one); on failure the next call that
// brings the change tries again.
func (c *UserCache) update(ctx context.Context, e *userEntry, in store.EnsureUserInput) {
	wait := c.wait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	_, _, err := c.store.EnsureUser(ctx, in)
	c.mu.Lock()
	defer c.mu.Unlock()
	e.updating = false
	if err == nil {
		e.name, e.email = cmp.Or(in.Name, e.name), cmp.Or(in.Email, e.email)
	}
}
