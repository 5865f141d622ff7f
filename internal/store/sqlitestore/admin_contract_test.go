package sqlitestore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/adminapi"
	"llmmeter/internal/auth"
	"llmmeter/internal/money"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// The contract suite (contract/ at the repository root, see its README)
// against the embedded engine: a real SQLite file, rows through Ingest, and
// every call through the adminapi handler on an httptest server, with API
// keys for the admin and user roles. convex/contract.test.ts runs the
// same cases against the Convex functions.

const contractDir = "../../../contract"

type contractCall struct {
	Name   string                      `json:"name"`
	Kind   string                      `json:"kind"`
	Path   string                      `json:"path"`
	Args   any                         `json:"args"`
	As     string                      `json:"as"`
	Now    any                         `json:"now"`
	Expect map[string]any              `json:"expect"`
	Rows   map[string][]map[string]any `json:"rows"` // kind "ingest": a batch ingested between calls
	Raw    json.RawMessage             `json:"-"`
}

type contractCase struct {
	Description string                      `json:"description"`
	ReportingTz string                      `json:"reportingTz"`
	Now         any                         `json:"now"`
	SetupNow    any                         `json:"setupNow"`
	Users       []map[string]any            `json:"users"`
	Fixtures    map[string][]map[string]any `json:"fixtures"`
	Ingest      []map[string][]map[string]any
	Calls       []contractCall `json:"calls"`
}

type names struct {
	ids    map[string]string
	cursor any
}

func (n *names) resolve(t *testing.T, v any, inArgs bool) any {
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
			id, ok := n.ids[x]
			if !ok {
				t.Fatalf("unknown name %q", x)
			}
			return id
		case inArgs && x == "$cursor":
			return n.cursor
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = n.resolve(t, e, inArgs)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = n.resolve(t, e, inArgs)
		}
		return out
	}
	return v
}

// match compares with the matchers "$any", "$string", "$number"; _id and
// _creationTime of documents are engine-specific and ignored.
func match(actual, expected any, path string, problems *[]string) {
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
			*problems = append(*problems, fmt.Sprintf("%s: expected %d items, got %s", path, len(e), show(actual)))
			return
		}
		for i := range e {
			match(a[i], e[i], fmt.Sprintf("%s[%d]", path, i), problems)
		}
		return
	case map[string]any:
		a, ok := actual.(map[string]any)
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: expected an object, got %s", path, show(actual)))
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
			match(a[k], e[k], path+"."+k, problems)
		}
		return
	}
	if !reflect.DeepEqual(actual, expected) {
		*problems = append(*problems, fmt.Sprintf("%s: got %s, expected %s", path, show(actual), show(expected)))
	}
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func readJSON(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

var fixturePrefix = map[string]string{"systemAlerts": "al", "reports": "rp", "forecasts": "fc", "systemHealth": "hc", "jobRuns": "jr", "apiKeys": "k"}

func TestContract(t *testing.T) {
	var defaults map[string]any
	readJSON(t, filepath.Join(contractDir, "defaults.json"), &defaults)
	files, err := filepath.Glob(filepath.Join(contractDir, "cases", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no contract cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			t.Parallel()
			var c contractCase
			readJSON(t, file, &c)
			runCase(t, c, defaults)
		})
	}
}

func runCase(t *testing.T, c contractCase, defaults map[string]any) {
	ctx := context.Background()
	tz := c.ReportingTz
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "contract.db"), loc)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := &names{ids: map[string]string{}}
	var now int64
	setNow := func(v any) {
		if v == nil {
			v = c.Now
		}
		if v == nil {
			v = defaults["now"]
		}
		now = int64(n.resolve(t, v, false).(float64))
	}
	s.SetClock(func() time.Time { return time.UnixMilli(now) })
	setup := c.SetupNow
	if setup == nil {
		setup = defaults["setupNow"]
	}
	setNow(setup)

	// Users, with ids in declaration order.
	var deleted []string
	for i, u := range c.Users {
		id := fmt.Sprintf("u_%016x", i+1)
		key := u["key"].(string)
		n.ids["@"+key] = id
		str := func(k string) any {
			if v, ok := u[k].(string); ok {
				return v
			}
			return nil
		}
		if err := s.Exec(ctx, `INSERT INTO users (id, externalId, email, name, role, createdAt) VALUES (?,?,?,?,?,0)`,
			id, key, str("email"), str("name"), str("role")); err != nil {
			t.Fatal(err)
		}
		if d, _ := u["deleted"].(bool); d {
			deleted = append(deleted, id)
		}
	}
	// Fixtures, inserted as the jobs would store them.
	seq := 0
	for _, table := range []string{"systemAlerts", "reports", "forecasts", "systemHealth", "jobRuns", "apiKeys"} {
		for i, row := range c.Fixtures[table] {
			seq++
			doc := map[string]any{}
			for k, v := range defaults[table].(map[string]any) {
				doc[k] = v
			}
			key, _ := row["key"].(string)
			if table == "systemAlerts" {
				doc["conditionKey"] = key
				if key == "" {
					doc["conditionKey"] = fmt.Sprintf("c%d", i)
				}
			}
			for k, v := range row {
				if k != "key" {
					doc[k] = v
				}
			}
			doc = n.resolve(t, doc, false).(map[string]any)
			id := fmt.Sprintf("%s_%016x", fixturePrefix[table], seq)
			if key != "" {
				n.ids["#"+key] = id
			}
			cols, marks, vals := []string{"id"}, []string{"?"}, []any{id}
			for k, v := range doc {
				switch x := v.(type) {
				case bool:
					if x {
						v = 1
					} else {
						v = 0
					}
				case float64:
					if x == float64(int64(x)) {
						v = int64(x)
					}
				case map[string]any, []any:
					v = show(x)
				}
				cols, marks, vals = append(cols, `"`+k+`"`), append(marks, "?"), append(vals, v)
			}
			if err := s.Exec(ctx, `INSERT INTO `+table+` (`+strings.Join(cols, ",")+`) VALUES (`+strings.Join(marks, ",")+`)`, vals...); err != nil {
				t.Fatalf("fixture %s: %v", table, err)
			}
		}
	}
	// Rows, batch by batch, through Ingest.
	counters := map[string]int{}
	ingest := func(batch map[string][]map[string]any) {
		t.Helper()
		var b store.Batch
		for _, kind := range []string{"usage", "requestLogs", "activity"} {
			for _, row := range batch[kind] {
				counters[kind]++
				i := counters[kind]
				r := map[string]any{}
				for k, v := range defaults[kind].(map[string]any) {
					r[k] = v
				}
				for k, v := range row {
					r[k] = v
				}
				switch kind {
				case "usage":
					if r["generationId"] == nil {
						r["generationId"] = fmt.Sprintf("gen-%d", i)
					}
					if r["requestId"] == nil {
						r["requestId"] = fmt.Sprintf("req-of-%s", r["generationId"])
					}
				case "requestLogs":
					if r["requestId"] == nil {
						r["requestId"] = fmt.Sprintf("req-%d", i)
					}
				default:
					if r["activityKey"] == nil {
						r["activityKey"] = fmt.Sprintf("act-%d", i)
					}
				}
				for k, v := range r {
					if v == nil {
						delete(r, k)
					}
				}
				r = n.resolve(t, r, false).(map[string]any)
				cost, _ := r["costNanoUsd"].(float64)
				delete(r, "costNanoUsd") // a float64 may marshal as 1e+09, which an int64 field refuses
				raw, _ := json.Marshal(r)
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
		if _, err := s.Ingest(ctx, b); err != nil {
			t.Fatalf("ingest: %v", err)
		}
	}
	for _, batch := range c.Ingest {
		ingest(batch)
	}
	for _, id := range deleted {
		if err := s.Exec(ctx, `DELETE FROM users WHERE id = ?`, id); err != nil {
			t.Fatal(err)
		}
	}

	// Callers: an admin key and a plain user's key.
	keyOwner, _, err := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "contract-key-owner"})
	if err != nil {
		t.Fatal(err)
	}
	adminKey, _, err := auth.IssueKey(ctx, s, keyOwner.ID, "admin", true)
	if err != nil {
		t.Fatal(err)
	}
	userKey, _, err := auth.IssueKey(ctx, s, keyOwner.ID, "user", false)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{"admin": adminKey, "user": userKey, "anonymous": ""}
	srv := httptest.NewServer(adminapi.Handler(adminapi.Options{Functions: s, Auth: &auth.Keys{Store: s}, Log: zerolog.Nop()}))
	defer srv.Close()

	for i, call := range c.Calls {
		label := fmt.Sprintf("call %d %s as %s %s", i, call.Path, call.As, call.Name)
		setNow(call.Now)
		if call.Kind == "ingest" {
			ingest(call.Rows)
			continue
		}
		token, ok := tokens[call.As]
		if !ok {
			t.Fatalf("%s: unknown role", label)
		}
		args := call.Args
		if args == nil {
			args = map[string]any{}
		}
		body, _ := json.Marshal(map[string]any{"path": call.Path, "args": n.resolve(t, args, true), "format": "json"})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/"+call.Kind, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var out struct {
			Status       string `json:"status"`
			Value        any    `json:"value"`
			ErrorMessage string `json:"errorMessage"`
			ErrorData    *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"errorData"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: HTTP %d %s", label, res.StatusCode, raw)
		}
		expect := n.resolve(t, call.Expect, false).(map[string]any)
		var problems []string
		if e, ok := expect["error"].(map[string]any); ok {
			var code any
			msg := out.ErrorMessage
			if out.ErrorData != nil {
				code, msg = out.ErrorData.Code, out.ErrorData.Message
			}
			switch {
			case out.Status != "error" || res.StatusCode != adminapi.StatusFunctionError:
				problems = append(problems, fmt.Sprintf("expected error %s, got HTTP %d %s", show(e), res.StatusCode, raw))
			case !reflect.DeepEqual(code, e["code"]):
				problems = append(problems, fmt.Sprintf("error code %v (%s), expected %v", code, msg, e["code"]))
			case e["message"] != nil && e["message"] != msg:
				problems = append(problems, fmt.Sprintf("error message %q, expected %q", msg, e["message"]))
			}
		} else if out.Status != "success" || res.StatusCode != http.StatusOK {
			problems = append(problems, fmt.Sprintf("unexpected error: HTTP %d %s", res.StatusCode, raw))
		} else {
			match(out.Value, expect["value"], "value", &problems)
		}
		if len(problems) > 0 {
			t.Errorf("%s:\n  %s", label, strings.Join(problems, "\n  "))
		}
		if m, ok := out.Value.(map[string]any); ok {
			if cur, ok := m["continueCursor"].(string); ok {
				n.cursor = cur
			}
		}
	}
}
