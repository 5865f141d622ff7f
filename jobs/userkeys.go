package jobs

import (
	"context"
	"fmt"
)

// UserSearchKeyBackfiller is a store whose users may lack the keys of
// llmmeter:searchUsers: Convex stores them on the user document (written by
// ensureUser), so users stored before them have none. The embedded store
// indexes an expression of the user's fields and has nothing to write.
type UserSearchKeyBackfiller interface {
	// BackfillUserSearchKeys writes one page of keys from cursor ("" starts)
	// and says where the next page starts, or that it was the last.
	BackfillUserSearchKeys(ctx context.Context, cursor string) (next string, done bool, patched int, err error)
}

// userKeys walks the users once per process, a page per fold run (500
// users on Convex, well inside a mutation's limits), so a deployment
// upgraded from a version without search keys needs no step by hand and the
// fold is never held up for long. A page that fails is tried again at the
// next run; once every page is done, a run costs nothing.
type userKeys struct {
	cursor string
	done   bool
}

func (k *userKeys) step(ctx context.Context, st Store, counts Counts) error {
	b, ok := st.(UserSearchKeyBackfiller)
	if k.done || !ok {
		return nil
	}
	next, done, patched, err := b.BackfillUserSearchKeys(ctx, k.cursor)
	if err != nil {
		return fmt.Errorf("backfill user search keys: %w", err)
	}
	k.cursor, k.done = next, done
	counts["userSearchKeys"] = int64(patched)
	return nil
}
