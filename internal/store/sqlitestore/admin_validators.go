package sqlitestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"llmmeter/internal/store"
)

// ---- argument validators (Convex's v.*) ----
//
// A mismatch answers convex-helpers' message (validate with throw, as
// packages/convex/src/lib/auth.ts's validateArgs calls it), word for word:
// "Validator error for <path>: Expected `<kind>`, got `<typeof value>`",
// the first problem in the declared order of the fields, so that both engines
// refuse bad arguments with one message (contract case 36 pins one).

// args are validated arguments: numbers are float64, strings, bools, nested
// objects map[string]any, null is nil.
type args map[string]any

func (a args) num(k string) (float64, bool) { v, ok := a[k].(float64); return v, ok }
func (a args) str(k string) (string, bool)  { v, ok := a[k].(string); return v, ok }
func (a args) boolean(k string) (bool, bool) {
	v, ok := a[k].(bool)
	return v, ok
}

// A validator checks one value; given absent, it reports its kind as
// convex-helpers does for a missing field.
type validator func(v any) (any, error)

type field struct {
	name     string
	optional bool
	v        validator
}

func req(name string, v validator) field { return field{name: name, v: v} }
func opt(name string, v validator) field { return field{name: name, optional: true, v: v} }

// absent stands for a missing field (JavaScript's undefined).
type absentValue struct{}

var absent any = absentValue{}

// validationError is convex-helpers' ValidationError; path grows as the
// error goes up through objects and arrays.
type validationError struct{ expected, got, path string }

func (e *validationError) Error() string {
	at := ""
	if e.path != "" {
		at = " for " + e.path
	}
	return fmt.Sprintf("Validator error%s: Expected `%s`, got `%s`", at, e.expected, e.got)
}

// under prefixes err's path with a field name or an array index ("[3]").
func under(err error, step string) error {
	var ve *validationError
	if !errors.As(err, &ve) {
		return err
	}
	switch {
	case ve.path == "":
		ve.path = step
	case strings.HasPrefix(ve.path, "["):
		ve.path = step + ve.path
	default:
		ve.path = step + "." + ve.path
	}
	return ve
}

// jsType is JavaScript's typeof of a JSON value (null as "null", as the
// message says it).
func jsType(v any) string {
	switch v.(type) {
	case absentValue:
		return "undefined"
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	default:
		return "object"
	}
}

// mismatch is the error of a value that is not of kind; an absent value is
// reported with the validator's own kind (float64 for v.number()).
func mismatch(kind, absentKind string, v any) error {
	if v == absent {
		kind = absentKind
	}
	return &validationError{expected: kind, got: jsType(v)}
}

func vNumber(v any) (any, error) {
	if n, ok := v.(json.Number); ok {
		if f, err := n.Float64(); err == nil {
			return f, nil
		}
	}
	return nil, mismatch("number", "float64", v)
}

func vString(v any) (any, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return nil, mismatch("string", "string", v)
}

func vBool(v any) (any, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	return nil, mismatch("boolean", "boolean", v)
}

func vNull(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	return nil, mismatch("null", "null", v)
}

// vLiteral is a union of string literals: a mismatch names the last one,
// since a union throws its last member's error.
func vLiteral(values ...string) validator {
	return func(v any) (any, error) {
		if s, ok := v.(string); ok {
			for _, x := range values {
				if s == x {
					return s, nil
				}
			}
		}
		if v == absent {
			return nil, mismatch("union", "union", v)
		}
		got := jsType(v)
		if n, ok := v.(json.Number); ok {
			got = `"` + n.String() + `"`
		} else if s, ok := v.(string); ok {
			got = `"` + s + `"`
		} else if b, ok := v.(bool); ok {
			got = fmt.Sprintf(`"%t"`, b)
		}
		return nil, &validationError{expected: values[len(values)-1], got: got}
	}
}

// vUnion: the first member that accepts v, else the last member's error.
func vUnion(vs ...validator) validator {
	return func(v any) (any, error) {
		if v == absent {
			return nil, mismatch("union", "union", v)
		}
		var err error
		for _, f := range vs {
			var out any
			if out, err = f(v); err == nil {
				return out, nil
			}
		}
		return nil, err
	}
}

func vObject(fields ...field) validator {
	return func(v any) (any, error) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, notObject(v)
		}
		return validateObject(m, fields)
	}
}

// notObject is the mismatch of a value v.object refuses: an array is named
// by its constructor, as convex-helpers does for an object that is not plain.
func notObject(v any) error {
	if _, ok := v.([]any); ok {
		return &validationError{expected: "Array", got: "object"}
	}
	return mismatch("object", "object", v)
}

// vArray is v.array(elem): every element checked, in order.
func vArray(elem validator) validator {
	return func(v any) (any, error) {
		xs, ok := v.([]any)
		if !ok {
			return nil, mismatch("array", "array", v)
		}
		out := make([]any, len(xs))
		for i, x := range xs {
			y, err := elem(x)
			if err != nil {
				return nil, under(err, fmt.Sprintf("[%d]", i))
			}
			out[i] = y
		}
		return out, nil
	}
}

// validateObject checks the declared fields in order, then refuses the
// first unknown field in key order (convex-helpers names the first in the
// JSON's order, which a map does not keep: the two differ only for
// several unknown fields).
func validateObject(m map[string]any, fields []field) (args, error) {
	out := args{}
	known := map[string]bool{}
	for _, f := range fields {
		known[f.name] = true
		v, present := m[f.name]
		if !present {
			if f.optional {
				continue
			}
			v = absent
		}
		x, err := f.v(v)
		if err != nil {
			return nil, under(err, f.name)
		}
		out[f.name] = x
	}
	var unknown []string
	for k := range m {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, &validationError{expected: "nothing", got: jsType(m[unknown[0]]), path: unknown[0]}
	}
	return out, nil
}

// parseArgs decodes raw (a JSON object; null or empty means {}) and checks
// it against fields; a mismatch is a *store.ArgumentError.
func parseArgs(raw json.RawMessage, fields []field) (args, error) {
	var v any = map[string]any{}
	if s := strings.TrimSpace(string(raw)); s != "" && s != "null" {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return nil, &store.ArgumentError{Message: fmt.Sprintf("args are not JSON: %v", err)}
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &store.ArgumentError{Message: notObject(v).Error()}
	}
	a, err := validateObject(m, fields)
	if ve := (*validationError)(nil); errors.As(err, &ve) {
		return nil, &store.ArgumentError{Message: ve.Error()}
	}
	return a, err
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
