package sqlitestore

import (
	"context"
	"time"
)

// Test-only access for the contract runner (package sqlitestore_test).

// SetClock replaces the store's clock.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Exec runs one statement on the writer, for fixtures the jobs would store.
func (s *Store) Exec(ctx context.Context, query string, args ...any) error {
	_, err := s.db.W.ExecContext(ctx, query, args...)
	return err
}
