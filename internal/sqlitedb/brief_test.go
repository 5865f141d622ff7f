package sqlitedb

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync/atomic"
	"testing"

	"modernc.org/sqlite"
)

// cancelAt ends the test's context from inside a statement: SQL's
// cancel_at(x) calls it with each row's x.
var cancelAt atomic.Pointer[func(x int64)]

func init() {
	sqliteDriver.MustRegisterScalarFunction("cancel_at", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		if f := cancelAt.Load(); f != nil {
			(*f)(args[0].(int64))
		}
		return args[0], nil
	})
}

// counting is SQL that counts to ?, calling cancel_at on each row.
const counting = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < ?)`

// endAtFirstRow has cancel_at end ctx (through cancel) at the first row:
// the statement is under way when its context ends.
func endAtFirstRow(t *testing.T, cancel context.CancelFunc) {
	f := func(x int64) {
		if x == 1 {
			cancel()
		}
	}
	cancelAt.Store(&f)
	t.Cleanup(func() { cancelAt.Store(nil) })
}

// A statement under Brief runs to its end even when its context ends
// meanwhile: the driver starts no goroutine to watch the context. (An
// Exec: for a Query, database/sql watches the Rows' context itself, and
// may close them once the context ends.)
func TestBriefStatementsRunUnwatched(t *testing.T) {
	db := openT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	endAtFirstRow(t, cancel)
	const n = 200_000 // hundreds of times the driver's 1,000-step check
	r, err := db.W.ExecContext(Brief(ctx), counting+` INSERT INTO t (k, v) SELECT cancel_at(x), 'c' FROM c`, n)
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	if got, _ := r.RowsAffected(); got != n {
		t.Fatalf("inserted %d rows, want %d", got, n)
	}
	if ctx.Err() == nil {
		t.Fatal("the statement did not end its context")
	}
}

// A long read keeps its context: when the context ends, SQLite is
// interrupted (the admin functions' reads end with their requests).
func TestLongReadsEndWithTheirContext(t *testing.T) {
	db := openT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	endAtFirstRow(t, cancel)
	const n = 1_000_000_000 // minutes of counting if nothing interrupts it
	var got int64
	err := db.R.QueryRowContext(ctx, counting+` SELECT count(cancel_at(x)) FROM c`, n).Scan(&got)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("count = %d, %v; want context.Canceled", got, err)
	}
}

func TestDriverCtx(t *testing.T) {
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	defer cancel()
	if driverCtx(ctx) != ctx {
		t.Fatal("a context not marked Brief changed")
	}
	d := driverCtx(Brief(ctx))
	if d.Done() != nil {
		t.Fatal("a Brief context still has a Done channel")
	}
	if d.Value(key{}) != "v" {
		t.Fatal("a Brief context lost its values")
	}
}
