package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"

	"llmmeter/internal/store"
)

// The admin functions (llmmeter:*) of packages/convex/src/admin.ts on SQLite, with the same
// arguments, validation, results and errors; the contract suite (contract/
// at the repository root) holds both engines to the same answers.
//
// Order of checks, as in Convex (packages/convex/src/lib/auth.ts): the function must
// exist, then the admin check (unauthenticated / forbidden), then the
// argument validators (a mismatch is a *store.ArgumentError, without code),
// then the function's own checks (bad_request / not_found). The role comes
// before the arguments so that a caller who is not an admin learns nothing
// about them. Queries run in one read-only transaction, mutations in one
// write transaction.
//
// Engine differences that results do not show: ids are this engine's
// strings (users "u_…"); a requestLogs document's _id is its requestId and
// its _creationTime its timestamp (the table keeps no insertion time); the
// read budget counts unsharded rows, so a window Convex refuses as "window
// too large" (over 8,000 sharded rows) may be answered here.

// querier is what functions read and write through: a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

type adminFn struct {
	kind string // "query" or "mutation"
	args []field
	run  func(ctx context.Context, s *Store, q querier, a args) (any, error)
}

var _ store.Functions = (*Store)(nil)

// Call runs the public function at path ("llmmeter:overview") of kind
// ("query" or "mutation") with JSON args for caller c. See store.Functions.
func (s *Store) Call(ctx context.Context, kind, path string, raw json.RawMessage, c store.Caller) (any, error) {
	fn, ok := adminFns[normalizePath(path)]
	if !ok || fn.kind != kind {
		return nil, fmt.Errorf("%w: %s %s", store.ErrNoFunction, kind, path)
	}
	if !c.Authenticated {
		return nil, store.Fail(store.CodeUnauthenticated, "sign in required")
	}
	if !c.IsAdmin {
		return nil, store.Fail(store.CodeForbidden, "admin role required")
	}
	a, err := parseArgs(raw, fn.args)
	if err != nil {
		return nil, err
	}
	var out any
	if kind == "mutation" {
		err = s.db.Tx(ctx, func(tx *sql.Tx) error {
			out, err = fn.run(ctx, s, tx, a)
			return err
		})
		return out, err
	}
	tx, err := s.db.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", path, err)
	}
	defer tx.Rollback()
	return fn.run(ctx, s, tx, a)
}

// normalizePath accepts "llmmeter:overview" and "llmmeter.js:overview"; a path
// without ":" names the module's default export, as in Convex.
func normalizePath(p string) string {
	mod, name, ok := strings.Cut(p, ":")
	if !ok {
		name = "default"
	}
	return strings.TrimSuffix(mod, ".js") + ":" + name
}

// ---- shared checks (packages/convex/src/admin.ts, packages/convex/src/lib/window.ts) ----

const maxSafeInt = 1<<53 - 1

func isSafeInt(f float64) bool {
	return f == math.Trunc(f) && math.Abs(f) <= maxSafeInt
}

// jsRound is JavaScript's Math.round: to the nearest integer, ties up.
func jsRound(x float64) float64 {
	r := math.Floor(x)
	if x-r >= 0.5 {
		r++
	}
	return r
}

func badRequest(format string, a ...any) error {
	return store.Fail(store.CodeBadRequest, fmt.Sprintf(format, a...))
}

func notFound(msg string) error { return store.Fail(store.CodeNotFound, msg) }

// limitOf is admin.ts's limitOf: absent → dflt; else an integer in [1, max].
func limitOf(a args, dflt, max int) (int, error) {
	l, ok := a.num("limit")
	if !ok {
		return dflt, nil
	}
	if !isSafeInt(l) || l < 1 || l > float64(max) {
		return 0, badRequest("limit: expected integer in [1, %d]", max)
	}
	return int(l), nil
}

// Ids: users are "u_" + 16 hex digits (users.go); the other tables' ids are
// "<prefix>_" + 16 hex digits. A string of another shape is "not a <table>
// id" (bad_request), as ctx.db.normalizeId would answer in Convex.
var (
	userIDPattern  = regexp.MustCompile(`^u_[0-9a-f]{16}$`)
	otherIDPattern = regexp.MustCompile(`^[a-z]{1,8}_[0-9a-f]{16}$`)
)

func idOf(table, raw, fieldName string) (string, error) {
	ok := otherIDPattern.MatchString(raw)
	if table == "users" {
		ok = userIDPattern.MatchString(raw)
	} else if strings.HasPrefix(raw, "u_") {
		ok = false
	}
	if !ok {
		return "", badRequest("%s: not a %s id", fieldName, table)
	}
	return raw, nil
}

func nanosToUsd(n int64) float64 { return float64(n) / 1e9 }

// jsonOrNull returns a JSON column's text as raw JSON, or nil for NULL.
func jsonOrNull(s sql.NullString) any {
	if !s.Valid || s.String == "" {
		return nil
	}
	return json.RawMessage(s.String)
}

func intOrNull(v sql.NullInt64) any {
	if !v.Valid {
		return nil
	}
	return v.Int64
}

func strOrNull(v sql.NullString) any {
	if !v.Valid {
		return nil
	}
	return v.String
}
