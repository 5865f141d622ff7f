// Package sqlitedb opens SQLite files the way every local store of the
// service wants them: the pure-Go driver (no cgo), WAL journaling, a busy
// timeout, one writer connection and a small pool of readers that keep the
// statements they prepare (stmtcache.go), and versioned migrations applied
// in order, each in its own transaction.
//
// synchronous=NORMAL in WAL mode means a committed transaction survives a
// crash or SIGKILL of the process; only a power loss can take the last few.
package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"modernc.org/sqlite"
)

// Commits sync with fdatasync(2), as SQLite's own Linux builds do: it
// writes the data and the size needed to read it back, and skips the
// timestamps fsync(2) pushes through the file system's journal. The
// transpiled driver defaults to fsync; where fdatasync is unavailable it
// keeps fsync, which is as durable.
func init() { sqlite.Fdatasync(true) }

// DB holds the writer and reader pools of one SQLite file.
type DB struct {
	// W has a single connection: SQLite allows one writer at a time, and
	// queueing in Go is cheaper than spinning on SQLITE_BUSY.
	W *sql.DB
	// R serves reads concurrently with the writer (WAL).
	R *sql.DB

	fullCommits atomic.Int64
}

// FullCommits is how many transactions TxFull has committed: the fsyncs
// paid, for tests and metrics.
func (db *DB) FullCommits() int64 { return db.fullCommits.Load() }

// Open opens (creating if needed) the database at file and applies the
// migrations in dir of migrations: files named NNNN_name.sql, applied in
// number order, each once, recorded in schema_migrations. pragmas, e.g.
// "synchronous(FULL)", replace the default of the same name (or are
// added) on every connection.
func Open(ctx context.Context, file string, migrations fs.FS, dir string, pragmas ...string) (*DB, error) {
	q := url.Values{}
	for _, p := range withPragmas([]string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)", "foreign_keys(ON)",
		"cache_size(-16384)", "mmap_size(268435456)", "temp_store(MEMORY)"}, pragmas) { // 16 MiB page cache a connection, 256 MiB mapped: fewer read syscalls
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + file + "?" + q.Encode()
	w, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: open %s: %w", file, err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open(driverName, dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitedb: open %s: %w", file, err)
	}
	// Every reader stays open: one closed after use is reopened, with its
	// pragmas, page cache and prepared statements, by the next burst.
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	db := &DB{W: w, R: r}
	if err := db.migrate(ctx, migrations, dir); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitedb: migrate %s: %w", file, err)
	}
	return db, nil
}

// withPragmas replaces each default by the pragma of the same name in
// extra, and adds the others. (The driver runs its _pragma list sorted by
// text, not in order, so a later "synchronous(FULL)" would not override an
// earlier "synchronous(NORMAL)": NORMAL sorts last and wins.)
func withPragmas(defaults, extra []string) []string {
	name := func(p string) string { n, _, _ := strings.Cut(p, "("); return strings.ToLower(strings.TrimSpace(n)) }
	out := slices.Clone(defaults)
	for _, e := range extra {
		if i := slices.IndexFunc(out, func(d string) bool { return name(d) == name(e) }); i >= 0 {
			out[i] = e
		} else {
			out = append(out, e)
		}
	}
	return out
}

// Close closes both pools.
func (db *DB) Close() error {
	err1 := db.R.Close()
	err2 := db.W.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// Tx runs fn in a write transaction, committing when fn returns nil.
func (db *DB) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// TxFull runs fn as Tx does, but commits with synchronous=FULL: the commit
// fsyncs the WAL, which makes this transaction and every earlier one
// durable against a power loss, not only a crash. Callers keep the
// connection's NORMAL for commits nobody waits on and pay the fsync only
// where someone is told "on disk". The pragma cannot change inside a
// transaction, so it is set on the writer connection held for the call.
func (db *DB) TxFull(ctx context.Context, fn func(*sql.Tx) error) error {
	conn, err := db.W.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var was int
	if err := conn.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&was); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		return err
	}
	// Back to the connection's own level for its next user; should this
	// fail, later commits are only slower (FULL), never less durable.
	defer conn.ExecContext(context.Background(), `PRAGMA synchronous = `+strconv.Itoa(was))
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	db.fullCommits.Add(1)
	return nil
}

func (db *DB) migrate(ctx context.Context, migrations fs.FS, dir string) error {
	if _, err := db.W.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL DEFAULT (unixepoch()))`); err != nil {
		return err
	}
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	type mig struct {
		version int
		name    string
	}
	var ms []mig
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return fmt.Errorf("migration file %q is not named NNNN_name.sql", e.Name())
		}
		ms = append(ms, mig{v, e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		// Two branches that each added "the next" migration: one would be
		// skipped silently on databases that have the other.
		if ms[i].version == ms[i-1].version {
			return fmt.Errorf("migrations %q and %q share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	for _, m := range ms {
		var n int
		if err := db.W.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		body, err := fs.ReadFile(migrations, path.Join(dir, m.name))
		if err != nil {
			return err
		}
		err = db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.version, m.name)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
