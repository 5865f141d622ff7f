package auth

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"

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

	mu  sync.Mutex
	lru *list.List // of userEntry, most recent first
	idx map[string]*list.Element
}

type userEntry struct{ key, userID string }

// NewUserCache returns a cache of at most size users (default 10000).
func NewUserCache(s store.Store, size int) *UserCache {
	if size <= 0 {
		size = 10_000
	}
	return &UserCache{store: s, size: size, lru: list.New(), idx: make(map[string]*list.Element)}
}

// UserID returns the store id of the user in names, creating the user when
// it is new. An input the store refuses is store.ErrInvalid; any other
// error is the store's own failure.
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
	u, _, err := c.store.EnsureUser(ctx, in)
	if errors.Is(err, store.ErrInvalid) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("auth: ensure user: %w", err)
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
