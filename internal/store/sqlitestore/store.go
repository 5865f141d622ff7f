// Package sqlitestore is the embedded engine of store.Store: one SQLite file
// (pure-Go driver) under the data directory, with the seed's tables.
//
// It is meant for a single node: local development, demos and small
// installs. Several processes may open the same file (the CLI beside the
// service); SQLite serialises their writes.
package sqlitestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/sqlitedb"
	"llmmeter/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store implements store.Store on SQLite.
type Store struct {
	db        *sqlitedb.DB
	keyByHash *sql.Stmt         // keyByHashSQL on the readers
	cal       *periods.Calendar // the reporting time zone's periods
	now       func() time.Time
	// foldMu makes the fold after an ingest too wide to fold in its own
	// transaction one at a time, so that concurrent ingests do not race
	// each other's compare-and-set.
	foldMu sync.Mutex
	// noFoldOnIngest leaves rows to the fold job (SetFoldOnIngest).
	noFoldOnIngest bool
}

// SetFoldOnIngest turns the fold of each ingest's rows on (the default) or
// off, leaving every row to the fold job: for tests of the fold itself,
// which need rows that stay unfolded.
func (s *Store) SetFoldOnIngest(on bool) { s.noFoldOnIngest = !on }

// SetClock replaces the clock of the times the store takes itself
// (updatedAt, a quota's reset date, "now" of the admin reads; default
// time.Now), as the Convex engine takes them from the deployment's clock:
// for tests that run at a fixed time (the contract suites). Call it before
// the store is used.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

var _ store.Store = (*Store)(nil)

// Open opens or creates the store in file. Aggregates use the periods of
// the reporting time zone loc (nil means UTC).
func Open(ctx context.Context, file string, loc *time.Location) (*Store, error) {
	if loc == nil {
		loc = time.UTC
	}
	db, err := sqlitedb.Open(ctx, file, migrations, "migrations")
	if err != nil {
		return nil, err
	}
	keyByHash, err := db.R.PrepareContext(ctx, keyByHashSQL)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: prepare the key look-up: %w", err)
	}
	return &Store{db: db, keyByHash: keyByHash, cal: periods.For(loc), now: time.Now}, nil
}

// Ping checks that the file answers a query.
func (s *Store) Ping(ctx context.Context) error {
	return s.db.R.PingContext(ctx)
}

// Close closes the file.
func (s *Store) Close() error {
	s.keyByHash.Close()
	return s.db.Close()
}

func (s *Store) nowMs() int64 { return s.now().UnixMilli() }

// newID returns prefix + 16 random hex digits.
func newID(prefix string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on Linux
	}
	return prefix + hex.EncodeToString(b[:])
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}
