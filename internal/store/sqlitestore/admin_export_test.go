package sqlitestore

import "context"

// Test-only access for the contract runner (package sqlitestore_test).

// Exec runs one statement on the writer, for fixtures the jobs would store.
func (s *Store) Exec(ctx context.Context, query string, args ...any) error {
	_, err := s.db.W.ExecContext(ctx, query, args...)
	return err
}
