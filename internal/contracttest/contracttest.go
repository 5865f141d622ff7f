// Package contracttest reads the contract suite (contract/ at the
// repository root, see its README) for the Go runners: the case format,
// the substitutions ("t:…", "@user", "#name", "$cursor"), the matchers of
// expected values and the rows of an ingest batch over defaults.json. The
// embedded engine's admin runner (internal/store/sqlitestore) and the
// job-store runner of both engines (jobs/contract_test.go) share it, so
// the two read a case the same way; convex/contract.test.ts is the
// TypeScript reader of the same format.
//
// It is a test helper: it imports testing and must not be used by
// production code.
package contracttest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
)

// Call is one step of a case: an admin function call (kind "query" or
// "mutation"), a batch ingested between calls (kind "ingest") or a
// job-store method (kind "job", the jobs.Store method named by Job).
type Call struct {
	Name   string                      `json:"name"`
	Kind   string                      `json:"kind"`
	Path   string                      `json:"path"`
	Args   any                         `json:"args"`
	As     string                      `json:"as"`
	Now    any                         `json:"now"`
	Expect map[string]any              `json:"expect"`
	Rows   map[string][]map[string]any `json:"rows"` // kind "ingest": a batch ingested between calls
	// Job names the job-store method of a "job" step.
	Job string `json:"job"`
	// Save binds names to parts of a step's result for later steps:
	// {"#a1": "alert.id"} makes "#a1" the value at that dotted path.
	Save map[string]string `json:"save"`
}

// Case is one file of contract/cases or contract/jobs.
type Case struct {
	Description string                      `json:"description"`
	ReportingTz string                      `json:"reportingTz"`
	Now         any                         `json:"now"`
	SetupNow    any                         `json:"setupNow"`
	Users       []map[string]any            `json:"users"`
	Fixtures    map[string][]map[string]any `json:"fixtures"`
	Ingest      []map[string][]map[string]any
	Calls       []Call `json:"calls"`
}

// Dir is the contract directory, found from the working directory (a
// package directory inside the repository).
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "contract")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("contracttest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Defaults reads contract/defaults.json.
func Defaults(t testing.TB) map[string]any {
	t.Helper()
	var d map[string]any
	ReadJSON(t, filepath.Join(Dir(t), "defaults.json"), &d)
	return d
}

// Cases reads every case of contract/<sub> (e.g. "cases", "jobs"), keyed
// by file name without ".json", in file order.
func Cases(t testing.TB, sub string) ([]string, map[string]Case) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(Dir(t), sub, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("contracttest: no cases in contract/%s: %v", sub, err)
	}
	sort.Strings(files)
	names := make([]string, 0, len(files))
	cases := make(map[string]Case, len(files))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		var c Case
		ReadJSON(t, f, &c)
		names = append(names, name)
		cases[name] = c
	}
	return names, cases
}

// ReadJSON decodes a JSON file into v.
func ReadJSON(t testing.TB, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// Names holds what the substitutions stand for in one engine: "@user" and
// "#fixture" ids (and names bound by Save), and the latest
// continueCursor.
type Names struct {
	IDs    map[string]any
	Cursor any
}

// NewNames returns empty Names.
func NewNames() *Names { return &Names{IDs: map[string]any{}} }

// Resolve applies the substitutions to v: "t:<RFC 3339>" → ms (float64, as
// JSON numbers decode), "@x" / "#x" → the bound value, "$cursor" (inArgs
// only) → the cursor.
func (n *Names) Resolve(t testing.TB, v any, inArgs bool) any {
	t.Helper()
	switch x := v.(type) {
	case string:
		switch {
		case strings.HasPrefix(x, "t:"):
			ts, err := time.Parse(time.RFC3339Nano, x[2:])
			if err != nil {
				t.Fatalf("bad time %q: %v", x, err)
			}
			return float64(ts.UnixMilli())
		case strings.HasPrefix(x, "@"), strings.HasPrefix(x, "#"):
			id, ok := n.IDs[x]
			if !ok {
				t.Fatalf("unknown name %q", x)
			}
			return id
		case inArgs && x == "$cursor":
			return n.Cursor
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = n.Resolve(t, e, inArgs)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = n.Resolve(t, e, inArgs)
		}
		return out
	}
	return v
}

// Ms resolves a time ("t:…") or number to ms.
func (n *Names) Ms(t testing.TB, v any) int64 {
	t.Helper()
	f, ok := n.Resolve(t, v, false).(float64)
	if !ok {
		t.Fatalf("not a time: %v", v)
	}
	return int64(f)
}

// Save binds the names of save to the values at their dotted paths in
// result (a decoded JSON value; "a.0.b" indexes arrays by number).
func (n *Names) Save(t testing.TB, result any, save map[string]string) {
	t.Helper()
	for name, path := range save {
		v := result
		for _, part := range strings.Split(path, ".") {
			switch x := v.(type) {
			case map[string]any:
				v = x[part]
			case []any:
				var i int
				if _, err := fmt.Sscan(part, &i); err != nil || i < 0 || i >= len(x) {
					t.Fatalf("save %s: no item %q in %s", name, part, Show(x))
				}
				v = x[i]
			default:
				t.Fatalf("save %s: nothing at %q in %s", name, path, Show(result))
			}
		}
		if v == nil {
			t.Fatalf("save %s: nothing at %q in %s", name, path, Show(result))
		}
		n.IDs[name] = v
	}
}

// Match compares a decoded JSON value with an expected one, exactly except
// for the matchers "$any", "$string", "$number"; _id and _creationTime of
// documents are engine-specific and ignored. It appends what differs.
func Match(actual, expected any, path string, problems *[]string) {
	switch e := expected.(type) {
	case string:
		switch e {
		case "$any":
			return
		case "$string":
			if _, ok := actual.(string); !ok {
				*problems = append(*problems, fmt.Sprintf("%s: expected a string, got %v", path, actual))
			}
			return
		case "$number":
			if _, ok := actual.(float64); !ok {
				*problems = append(*problems, fmt.Sprintf("%s: expected a number, got %v", path, actual))
			}
			return
		}
	case []any:
		a, ok := actual.([]any)
		if !ok || len(a) != len(e) {
			*problems = append(*problems, fmt.Sprintf("%s: expected %d items, got %s", path, len(e), Show(actual)))
			return
		}
		for i := range e {
			Match(a[i], e[i], fmt.Sprintf("%s[%d]", path, i), problems)
		}
		return
	case map[string]any:
		a, ok := actual.(map[string]any)
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: expected an object, got %s", path, Show(actual)))
			return
		}
		keys := func(m map[string]any) []string {
			var ks []string
			for k := range m {
				if k != "_id" && k != "_creationTime" {
					ks = append(ks, k)
				}
			}
			sort.Strings(ks)
			return ks
		}
		if ak, ek := keys(a), keys(e); !reflect.DeepEqual(ak, ek) {
			*problems = append(*problems, fmt.Sprintf("%s: keys %v, expected %v", path, ak, ek))
		}
		for _, k := range keys(e) {
			Match(a[k], e[k], path+"."+k, problems)
		}
		return
	}
	if !reflect.DeepEqual(actual, expected) {
		*problems = append(*problems, fmt.Sprintf("%s: got %s, expected %s", path, Show(actual), Show(expected)))
	}
}

// Show is v as JSON, for messages.
func Show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Rows builds ingest batches the way both runners do: each row is
// defaults.json's row of its kind overlaid with the case's fields (null
// removes a field), missing keys generated as gen-<n>, req-of-<generationId>,
// req-<n>, act-<n>, n counting that kind's rows across the case from 1.
type Rows struct {
	Defaults map[string]any
	counters map[string]int
}

// Batch is the store.Batch of one case batch, names resolved by n.
func (r *Rows) Batch(t testing.TB, n *Names, batch map[string][]map[string]any) store.Batch {
	t.Helper()
	if r.counters == nil {
		r.counters = map[string]int{}
	}
	var b store.Batch
	for _, kind := range []string{"usage", "requestLogs", "activity"} {
		for _, row := range batch[kind] {
			r.counters[kind]++
			i := r.counters[kind]
			m := map[string]any{}
			for k, v := range r.Defaults[kind].(map[string]any) {
				m[k] = v
			}
			for k, v := range row {
				m[k] = v
			}
			switch kind {
			case "usage":
				if m["generationId"] == nil {
					m["generationId"] = fmt.Sprintf("gen-%d", i)
				}
				if m["requestId"] == nil {
					m["requestId"] = fmt.Sprintf("req-of-%s", m["generationId"])
				}
			case "requestLogs":
				if m["requestId"] == nil {
					m["requestId"] = fmt.Sprintf("req-%d", i)
				}
			default:
				if m["activityKey"] == nil {
					m["activityKey"] = fmt.Sprintf("act-%d", i)
				}
			}
			for k, v := range m {
				if v == nil {
					delete(m, k)
				}
			}
			m = n.Resolve(t, m, false).(map[string]any)
			cost, _ := m["costNanoUsd"].(float64)
			delete(m, "costNanoUsd") // a float64 may marshal as 1e+09, which an int64 field refuses
			raw, _ := json.Marshal(m)
			switch kind {
			case "usage":
				var u store.Usage
				if err := json.Unmarshal(raw, &u); err != nil {
					t.Fatal(err)
				}
				u.Cost = money.Nanos(int64(cost))
				b.Usage = append(b.Usage, u)
			case "requestLogs":
				var l store.RequestLog
				if err := json.Unmarshal(raw, &l); err != nil {
					t.Fatal(err)
				}
				b.RequestLogs = append(b.RequestLogs, l)
			default:
				var a store.Activity
				if err := json.Unmarshal(raw, &a); err != nil {
					t.Fatal(err)
				}
				b.Activity = append(b.Activity, a)
			}
		}
	}
	return b
}
