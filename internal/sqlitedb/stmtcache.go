package sqlitedb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"
	"strings"
	"sync"

	"modernc.org/sqlite"
)

// The driver prepares the text of every Exec and Query afresh: SQLite's
// parser and code generator ran for each statement of every call, 7-10 %
// of the service's CPU at 1,000 calls/s. This driver keeps, per
// connection, the statements that text with arguments prepared, and runs
// them again. Text without arguments is left uncached: PRAGMAs may act when
// prepared rather than when stepped, and scripts re-parse in any case.
const driverName = "sqlite-stmtcache"

// maxCached bounds the statements one connection keeps; admin reads build
// their text from filters, so the set is open-ended.
const maxCached = 256

func init() { sql.Register(driverName, cachingDriver{}) }

type cachingDriver struct{}

// sqliteDriver opens the connections cachingDriver wraps.
var sqliteDriver = &sqlite.Driver{}

func (cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := sqliteDriver.Open(name)
	if err != nil {
		return nil, err
	}
	return &conn{inner: c, stmts: map[string]*cached{}}, nil
}

// driverConn is what the sqlite driver's connections implement.
type driverConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// conn is one connection and its statements. database/sql uses a
// connection from one goroutine at a time, but a Rows may be closed after
// the connection went back to the pool, so the cache has its own lock.
type conn struct {
	inner driver.Conn
	mu    sync.Mutex
	stmts map[string]*cached
}

// cached is a prepared statement; busy while a Rows of it is open, when a
// second use of the same text (a nested query) gets a statement of its own.
type cached struct {
	stmt interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	busy bool
}

func (c *conn) dc() driverConn { return c.inner.(driverConn) }

func (c *conn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }
func (c *conn) Begin() (driver.Tx, error) {
	return c.dc().BeginTx(context.Background(), driver.TxOptions{})
}
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.dc().BeginTx(driverCtx(ctx), opts)
}

// PrepareContext hands out the cached statement for text with
// placeholders (a transaction's Prepare of the same text each batch); its
// Close gives it back.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if !strings.ContainsRune(query, '?') {
		return c.dc().PrepareContext(ctx, query)
	}
	s, keep, err := c.checkout(ctx, query)
	if err != nil {
		return nil, err
	}
	return &stmt{c: c, s: s, keep: keep}, nil
}
func (c *conn) Ping(ctx context.Context) error         { return c.dc().Ping(ctx) }
func (c *conn) ResetSession(ctx context.Context) error { return c.dc().ResetSession(ctx) }
func (c *conn) IsValid() bool                          { return c.dc().IsValid() }

// cachedCount is how many statements c keeps, for tests.
func (c *conn) cachedCount() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.stmts) }

// checkout returns query's statement marked busy, and keep: whether it is
// the cached one (else a one-off, for a nested use or a full cache).
func (c *conn) checkout(ctx context.Context, query string) (_ *cached, keep bool, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stmts[query]
	if s != nil && !s.busy {
		s.busy = true
		return s, true, nil
	}
	fresh, err := c.prepare(ctx, query)
	if err != nil || s != nil {
		return fresh, false, err
	}
	if len(c.stmts) >= maxCached {
		c.evictLocked()
	}
	if len(c.stmts) >= maxCached { // every one busy
		return fresh, false, nil
	}
	fresh.busy = true
	c.stmts[query] = fresh
	return fresh, true, nil
}

func (c *conn) prepare(ctx context.Context, query string) (*cached, error) {
	s, err := c.dc().PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st, ok := s.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		s.Close()
		return nil, errors.New("sqlitedb: the driver's statements lack the context methods")
	}
	return &cached{stmt: st}, nil
}

// evictLocked closes one idle statement (map order: a random one).
func (c *conn) evictLocked() {
	for q, s := range c.stmts {
		if !s.busy {
			s.stmt.Close()
			delete(c.stmts, q)
			return
		}
	}
}

// release ends a use of s: a cached statement becomes idle, a one-off one
// is closed.
func (c *conn) release(s *cached, keep bool) {
	if !keep {
		s.stmt.Close()
		return
	}
	c.mu.Lock()
	s.busy = false
	c.mu.Unlock()
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ctx = driverCtx(ctx)
	if len(args) == 0 {
		return c.dc().ExecContext(ctx, query, args)
	}
	s, keep, err := c.checkout(ctx, query)
	if err != nil {
		return nil, err
	}
	defer c.release(s, keep)
	return s.stmt.ExecContext(ctx, args)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	ctx = driverCtx(ctx)
	if len(args) == 0 {
		return c.dc().QueryContext(ctx, query, args)
	}
	s, keep, err := c.checkout(ctx, query)
	if err != nil {
		return nil, err
	}
	r, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		c.release(s, keep)
		return nil, err
	}
	return &rows{Rows: r, c: c, s: s, keep: keep}, nil
}

// Close closes the connection's statements, then the connection.
func (c *conn) Close() error {
	c.mu.Lock()
	for q, s := range c.stmts {
		s.stmt.Close()
		delete(c.stmts, q)
	}
	c.mu.Unlock()
	return c.inner.Close()
}

// stmt is a checked-out statement, given back by Close.
type stmt struct {
	c      *conn
	s      *cached
	keep   bool
	closed bool
}

func (s *stmt) Close() error {
	if !s.closed {
		s.closed = true
		s.c.release(s.s, s.keep)
	}
	return nil
}
func (s *stmt) NumInput() int { return s.s.stmt.NumInput() }
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.s.stmt.Exec(args)
}
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.s.stmt.Query(args)
}
func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.s.stmt.ExecContext(driverCtx(ctx), args)
}
func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.s.stmt.QueryContext(driverCtx(ctx), args)
}

// rows hands its statement back when closed (which resets it, ending the
// read it held open).
type rows struct {
	driver.Rows
	c      *conn
	s      *cached
	keep   bool
	closed bool
}

func (r *rows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.Rows.Close()
	r.c.release(r.s, r.keep)
	return err
}

func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

// briefKey marks a context Brief.
type briefKey struct{}

// Brief marks ctx for statements that take microseconds: the hot path's
// point writes (a lease, an ingest's rows). The driver watches a context
// that can end with a goroutine of its own for every statement and
// transaction, to interrupt SQLite when it ends
// (modernc.org/sqlite's interruptOnDone); for a statement shorter than
// that goroutine's start it buys nothing. Statements under a Brief context
// run unwatched; waiting for a connection (database/sql's pool) still ends
// with ctx. Long reads (the admin functions) keep their contexts as they
// are, so a request that ends interrupts them.
func Brief(ctx context.Context) context.Context { return context.WithValue(ctx, briefKey{}, true) }

// driverCtx is the context the driver sees: ctx without its end under Brief.
func driverCtx(ctx context.Context) context.Context {
	if ctx.Value(briefKey{}) != nil {
		return context.WithoutCancel(ctx)
	}
	return ctx
}
