package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"testing/fstest"

	"modernc.org/sqlite"
)

func openT(t *testing.T) *DB {
	t.Helper()
	fsys := fstest.MapFS{"m/0001_t.sql": {Data: []byte("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);")}}
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// onConn runs f on the pool's (first free) connection.
func onConn(t *testing.T, pool *sql.DB, f func(c *conn)) {
	t.Helper()
	c, err := pool.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Raw(func(dc any) error { f(dc.(*conn)); return nil }); err != nil {
		t.Fatal(err)
	}
}

// cachedOn is how many statements the pool's (first free) connection keeps.
func cachedOn(t *testing.T, pool *sql.DB) (n int) {
	t.Helper()
	onConn(t, pool, func(c *conn) { n = c.cachedCount() })
	return n
}

func TestStatementsWithArgumentsArePreparedOnce(t *testing.T) {
	ctx := context.Background()
	db := openT(t)
	base := cachedOn(t, db.W)
	for i := range 50 {
		if _, err := db.W.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := cachedOn(t, db.W) - base; got != 1 {
		t.Fatalf("the writer keeps %d new statements after 50 INSERTs, want 1", got)
	}
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		for i := range 3 { // a transaction's Prepare, as ingest does each batch
			st, err := tx.PrepareContext(ctx, `UPDATE t SET v = ? WHERE k = ?`)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, "u", i); err != nil {
				return err
			}
			st.Close()
		}
		_, err := tx.ExecContext(ctx, `UPDATE t SET v = 'x' WHERE k = 49`) // no arguments: not kept
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := cachedOn(t, db.W) - base; got != 2 {
		t.Fatalf("the writer keeps %d new statements, want 2 (the INSERT and the UPDATE)", got)
	}
	var n int
	var v string
	if err := db.W.QueryRowContext(ctx, `SELECT count(*), (SELECT v FROM t WHERE k = ?) FROM t`, 2).Scan(&n, &v); err != nil || n != 50 || v != "u" {
		t.Fatalf("count %d, v %q, %v: want 50 rows and row 2 updated", n, v, err)
	}
}

// A query of the same text while the first one's rows are open gets a
// statement of its own: sharing would reset the open one mid-way.
func TestNestedUseOfOneText(t *testing.T) {
	ctx := context.Background()
	db := openT(t)
	for i := range 5 {
		db.W.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`, i, "v")
	}
	const q = `SELECT k FROM t WHERE k >= ? ORDER BY k`
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		outer, err := tx.QueryContext(ctx, q, 0)
		if err != nil {
			return err
		}
		defer outer.Close()
		var got []int
		for outer.Next() {
			var k, inner int
			if err := outer.Scan(&k); err != nil {
				return err
			}
			rows, err := tx.QueryContext(ctx, q, k)
			if err != nil {
				return err
			}
			for rows.Next() {
				inner++
			}
			rows.Close()
			got = append(got, k*10+inner)
		}
		if fmt.Sprint(got) != "[5 14 23 32 41]" {
			return fmt.Errorf("outer rows %v, want [5 14 23 32 41] (key*10 + rows at or after it)", got)
		}
		return outer.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A kept SELECT is reset when its rows close: it holds no read snapshot,
// so the next run sees a later commit and a checkpoint can finish.
func TestKeptReadsHoldNoSnapshot(t *testing.T) {
	ctx := context.Background()
	db := openT(t)
	count := func() int {
		var n int
		if err := db.R.QueryRowContext(ctx, `SELECT count(*) FROM t WHERE k >= ?`, 0).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := range 3 {
		if got := count(); got != i {
			t.Fatalf("reader sees %d rows, want %d", got, i)
		}
		if _, err := db.W.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`, i, "v"); err != nil {
			t.Fatal(err)
		}
	}
	var busy, logged, done int
	if err := db.W.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &done); err != nil || busy != 0 {
		t.Fatalf("checkpoint busy=%d (%v): a reader still holds a snapshot", busy, err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	db := openT(t)
	for i := range maxCached + 20 {
		q := fmt.Sprintf(`SELECT count(*) + %d FROM t WHERE k >= ?`, i)
		var n int
		if err := db.W.QueryRowContext(ctx, q, 0).Scan(&n); err != nil || n != i {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
	if got := cachedOn(t, db.W); got != maxCached {
		t.Fatalf("the writer keeps %d statements, want the bound %d", got, maxCached)
	}
	// A full cache makes room: the newest text is kept, an older one went.
	last := fmt.Sprintf(`SELECT count(*) + %d FROM t WHERE k >= ?`, maxCached+19)
	if !cachedText(t, db.W, last) {
		t.Fatal("the newest statement was not kept once the cache was full")
	}
}

// cachedText reports whether the pool's (first free) connection keeps a
// statement of query.
func cachedText(t *testing.T, pool *sql.DB, query string) (ok bool) {
	t.Helper()
	onConn(t, pool, func(c *conn) {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok = c.stmts[query]
	})
	return ok
}

// Readers stay open between bursts, with their caches; and commits sync
// with fdatasync on Linux.
func TestReadersStayOpenAndCommitsUseFdatasync(t *testing.T) {
	ctx := context.Background()
	db := openT(t)
	for range 3 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				tx, err := db.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
				if err != nil {
					t.Error(err)
					return
				}
				defer tx.Rollback()
				var n int
				tx.QueryRowContext(ctx, `SELECT count(*) FROM t WHERE k >= ?`, 0).Scan(&n)
			}()
		}
		close(start)
		wg.Wait()
	}
	if s := db.R.Stats(); s.MaxIdleClosed != 0 {
		t.Fatalf("%d readers were closed after use and reopened (stats %+v)", s.MaxIdleClosed, s)
	}
	if runtime.GOOS == "linux" && !sqlite.FdatasyncEnabled() {
		t.Fatal("commits sync with fsync; want fdatasync")
	}
}
