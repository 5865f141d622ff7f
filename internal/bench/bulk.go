package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// cachedFile returns dir/name, first generating it with gen (into a
// temporary file renamed once complete, so a run that dies leaves no
// half-made cache) unless it exists.
func cachedFile(dir, name string, gen func(tmp string) error, logf func(string, ...any)) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	tmp := path + ".tmp"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(tmp + suffix)
	}
	start := time.Now()
	if err := gen(tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	logf("generated %s in %s", path, time.Since(start).Round(time.Second))
	return path, nil
}

// bulkRows is the rows per multi-row INSERT (at most 22 columns: under
// SQLite's 32,766 variables).
const bulkRows = 500

// bulkTable gathers rows of one table for multi-row INSERTs.
type bulkTable struct {
	name string
	head string // "INSERT INTO name (cols...)"
	cols int
	args []any
}

func newBulkTable(table string, cols ...string) *bulkTable {
	return &bulkTable{name: table, head: "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ", cols: len(cols)}
}

// add appends one row, inserting the gathered rows in tx once there are
// bulkRows of them.
func (t *bulkTable) add(ctx context.Context, tx *sql.Tx, vals ...any) error {
	if len(vals) != t.cols {
		return fmt.Errorf("bench: %d values for %d columns (%s)", len(vals), t.cols, t.head)
	}
	t.args = append(t.args, vals...)
	if len(t.args) < t.cols*bulkRows {
		return nil
	}
	return t.flush(ctx, tx)
}

// flush inserts the gathered rows in tx.
func (t *bulkTable) flush(ctx context.Context, tx *sql.Tx) error {
	if k := len(t.args) / t.cols; k > 0 {
		if _, err := tx.ExecContext(ctx, t.head+placeholders(t.cols, k), t.args...); err != nil {
			return err
		}
	}
	t.args = t.args[:0]
	return nil
}

// bulkLoad fills the raw tables of the store file (created by the store's
// own Open): row(i) is called for i in [0, n) and adds call i's rows to the
// tables, in transactions of chunk calls with durability off (a cache is
// rebuilt if the run dies). The tables' secondary indexes are dropped first
// and built once at the end, which is faster than keeping them up to date.
func bulkLoad(ctx context.Context, file string, n, chunk int, tables []*bulkTable,
	row func(ctx context.Context, tx *sql.Tx, i int) error, logf func(string, ...any)) error {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var names []string
	for _, t := range tables {
		names = append(names, t.name)
	}
	indexes, err := dropIndexes(ctx, db, names...)
	if err != nil {
		return err
	}
	last := time.Now()
	for lo := 0; lo < n; lo += chunk {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for i := lo; i < min(lo+chunk, n); i++ {
			if err := row(ctx, tx, i); err != nil {
				tx.Rollback()
				return err
			}
		}
		for _, t := range tables {
			if err := t.flush(ctx, tx); err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if time.Since(last) > 10*time.Second {
			logf("generating: %d of %d calls", min(lo+chunk, n), n)
			last = time.Now()
		}
	}
	logf("generated raw rows; building %d indexes", len(indexes))
	for _, ix := range indexes {
		if _, err := db.ExecContext(ctx, ix); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(ix)[2], err)
		}
	}
	return db.Close()
}

// dropIndexes drops the secondary indexes of tables and returns the
// statements that recreate them.
func dropIndexes(ctx context.Context, db *sql.DB, tables ...string) ([]string, error) {
	var names, stmts []string
	for _, t := range tables {
		rows, err := db.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, t)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var name, stmt string
			if err := rows.Scan(&name, &stmt); err != nil {
				rows.Close()
				return nil, err
			}
			names, stmts = append(names, name), append(stmts, stmt)
		}
		rows.Close()
	}
	for _, n := range names {
		if _, err := db.ExecContext(ctx, `DROP INDEX `+n); err != nil {
			return nil, err
		}
	}
	return stmts, nil
}

func placeholders(cols, rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}
