package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func openTemp(t *testing.T, pragmas ...string) *DB {
	t.Helper()
	fsys := fstest.MapFS{"m/0001_a.sql": {Data: []byte("CREATE TABLE t (v INTEGER);")}}
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), fsys, "m", pragmas...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// level is the writer connection's synchronous level as seen inside a
// transaction run by tx.
func level(t *testing.T, tx func(context.Context, func(*sql.Tx) error) error) int {
	t.Helper()
	var n int
	if err := tx(context.Background(), func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO t VALUES (1)`); err != nil {
			return err
		}
		return tx.QueryRow(`PRAGMA synchronous`).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TxFull commits at FULL (2), which fsyncs the WAL, and leaves the
// connection at its own level for Tx (NORMAL, 1, by default; FULL where the
// opener asked for it), counting only its committed transactions.
func TestTxFullFsyncsOnlyItsOwnCommits(t *testing.T) {
	db := openTemp(t)
	if got := level(t, db.Tx); got != 1 {
		t.Fatalf("Tx runs at synchronous %d, want 1 (NORMAL)", got)
	}
	if got := level(t, db.TxFull); got != 2 {
		t.Fatalf("TxFull runs at synchronous %d, want 2 (FULL)", got)
	}
	if got := level(t, db.Tx); got != 1 {
		t.Fatalf("Tx after TxFull runs at synchronous %d, want 1 (NORMAL) again", got)
	}
	if n := db.FullCommits(); n != 1 {
		t.Fatalf("FullCommits = %d, want 1", n)
	}
	boom := errors.New("boom")
	if err := db.TxFull(context.Background(), func(*sql.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if n := db.FullCommits(); n != 1 {
		t.Fatalf("FullCommits = %d after a rolled-back TxFull, want 1", n)
	}
	var rows int
	if err := db.R.QueryRow(`SELECT count(*) FROM t`).Scan(&rows); err != nil || rows != 3 {
		t.Fatalf("rows = %d (%v), want the 3 committed inserts", rows, err)
	}

	full := openTemp(t, "synchronous(FULL)")
	level(t, full.TxFull)
	if got := level(t, full.Tx); got != 2 {
		t.Fatalf("Tx on a FULL connection after TxFull runs at %d, want 2", got)
	}
}
