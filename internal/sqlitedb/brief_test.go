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

// countTo counts to n in SQL, ending ctx at the first row: the statement is
// under way when its context ends.
func countTo(t *testing.T, db *DB, ctx context.Context, cancel context.CancelFunc, n int64) (int64, error) {
	t.Helper()
	f := func(x int64) {
		if x == 1 {
			cancel()
		}
	}
	cancelAt.Store(&f)
	defer cancelAt.Store(nil)
	var got int64
	err := db.R.QueryRowContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < ?)
		SELECT count(cancel_at(x)) FROM c`, n).Scan(&got)
	return got, err
}

// A statement under Brief runs to its end even when its context ends
// meanwhile: nothing watches the context, so no goroutine is started for it.
func TestBriefStatementsRunUnwatched(t *testing.T) {
	db := openT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 200_000 // hundreds of times the driver's 1,000-step check
	got, err := countTo(t, db, Brief(ctx), cancel, n)
	if err != nil || got != n {
		t.Fatalf("count = %d, %v; want %d, nil", got, err, n)
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
	const n = 1_000_000_000 // minutes of counting if nothing interrupts it
	got, err := countTo(t, db, ctx, cancel, n)
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
