package auth

import (
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
// first. A miss calls store.EnsureUser, which creates the users row once;
// the display fields of the input (name, email) are stored only then.
// Safe for concurrent use.
type UserCache struct {
	store store.Store
	size  int
	wait  time.Duration

	mu  sync.Mutex
	lru *list.List // of userEntry, most recent first
	idx map[string]*list.Element
}

type userEntry struct{ key, userID string }

// NewUserCache returns a cache of at most size users (default 10000).
// wait bounds a miss's store call (AUTH_CHECK_TIMEOUT; 0: only the
// caller's context), as Keys.Wait does a key's: a store that hangs costs a
// first-seen user's call wait, then ErrUnavailable.
func NewUserCache(s store.Store, size int, wait time.Duration) *UserCache {
	if size <= 0 {
		size = 10_000
	}
	return &UserCache{store: s, size: size, wait: wait, lru: list.New(), idx: make(map[string]*list.Element)}
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
	if e, ok := c.idx[key]; ok {
		c.lru.MoveToFront(e)
		id := e.Value.(userEntry).userID
		c.mu.Unlock()
		return id, nil
	}
	c.mu.Unlock()

	// Two first requests of one user may both get here; EnsureUser is
	// idempotent, so both get the same row.
	if c.wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.wait)
		defer cancel()
	}
	u, _, err := c.store.EnsureUser(ctx, in)
	if errors.Is(err, store.ErrInvalid) {
		return "", err
	}
	if err != nil {
		// The store's failure, not the caller's: 503, try again.
		return "", fmt.Errorf("auth: ensure user: %w: %w", ErrUnavailable, err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.idx[key]; !ok {
		c.idx[key] = c.lru.PushFront(userEntry{key, u.ID})
		for c.lru.Len() > c.size {
			old := c.lru.Remove(c.lru.Back()).(userEntry)
			delete(c.idx, old.key)
		}
	}
	return u.ID, nil
}
