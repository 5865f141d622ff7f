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

// ---- argument validators (Convex's v.*) ----

// args are validated arguments: numbers are float64, strings, bools, nested
// objects map[string]any, null is nil.
type args map[string]any

func (a args) num(k string) (float64, bool) { v, ok := a[k].(float64); return v, ok }
func (a args) str(k string) (string, bool)  { v, ok := a[k].(string); return v, ok }
func (a args) boolean(k string) (bool, bool) {
	v, ok := a[k].(bool)
	return v, ok
}

type validator func(v any) (any, error)

type field struct {
	name     string
	optional bool
	v        validator
}

func req(name string, v validator) field { return field{name: name, v: v} }
func opt(name string, v validator) field { return field{name: name, optional: true, v: v} }

func argErr(format string, a ...any) error {
	return &store.ArgumentError{Message: "Validator error: " + fmt.Sprintf(format, a...)}
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func vNumber(v any) (any, error) {
	if n, ok := v.(json.Number); ok {
		if f, err := n.Float64(); err == nil {
			return f, nil
		}
	}
	return nil, argErr("Expected `number`, got `%s`", show(v))
}

func vString(v any) (any, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return nil, argErr("Expected `string`, got `%s`", show(v))
}

func vBool(v any) (any, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	return nil, argErr("Expected `boolean`, got `%s`", show(v))
}

func vNull(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	return nil, argErr("Expected `null`, got `%s`", show(v))
}

// vLiteral is a union of string literals.
func vLiteral(values ...string) validator {
	return func(v any) (any, error) {
		if s, ok := v.(string); ok {
			for _, x := range values {
				if s == x {
					return s, nil
				}
			}
		}
		return nil, argErr("Expected one of %s, got `%s`", strings.Join(values, ", "), show(v))
	}
}

func vUnion(vs ...validator) validator {
	return func(v any) (any, error) {
		for _, f := range vs {
			if out, err := f(v); err == nil {
				return out, nil
			}
		}
		return nil, argErr("Expected a value of the union, got `%s`", show(v))
	}
}

func vObject(fields ...field) validator {
	return func(v any) (any, error) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, argErr("Expected `object`, got `%s`", show(v))
		}
		return validateObject(m, fields)
	}
}

// vArray is v.array(elem): every element checked, in order.
func vArray(elem validator) validator {
	return func(v any) (any, error) {
		xs, ok := v.([]any)
		if !ok {
			return nil, argErr("Expected `array`, got `%s`", show(v))
		}
		out := make([]any, len(xs))
		for i, x := range xs {
			y, err := elem(x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	}
}

func validateObject(m map[string]any, fields []field) (args, error) {
	out := args{}
	known := map[string]bool{}
	for _, f := range fields {
		known[f.name] = true
		v, present := m[f.name]
		if !present {
			if !f.optional {
				return nil, argErr("Missing required field `%s` in object", f.name)
			}
			continue
		}
		x, err := f.v(v)
		if err != nil {
			return nil, err
		}
		out[f.name] = x
	}
	for k := range m {
		if !known[k] {
			return nil, argErr("Unexpected field `%s` in object", k)
		}
	}
	return out, nil
}

// parseArgs decodes raw (a JSON object; null or empty means {}) and checks
// it against fields.
func parseArgs(raw json.RawMessage, fields []field) (args, error) {
	var v any = map[string]any{}
	if s := strings.TrimSpace(string(raw)); s != "" && s != "null" {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return nil, argErr("args are not JSON: %v", err)
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, argErr("Expected `object`, got `%s`", show(v))
	}
	return validateObject(m, fields)
}

// paginationOpts is Convex's paginationOptsValidator.
var vPaginationOpts = vObject(
	req("numItems", vNumber),
	req("cursor", vUnion(vString, vNull)),
	opt("endCursor", vUnion(vString, vNull)),
	opt("id", vNumber),
	opt("maximumRowsRead", vNumber),
	opt("maximumBytesRead", vNumber),
)

var (
	vPeriod        = vLiteral("hourly", "daily", "weekly", "monthly")
	vQuotaType     = vLiteral("daily_requests", "monthly_tokens", "monthly_cost_usd", "system_monthly_cost_usd")
	vRequestStatus = vLiteral("success", "error")
	vSeverity      = vLiteral("info", "warning", "critical")
)

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
