package sqlitestore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/adminapi"
	"llmmeter/internal/auth"
	"llmmeter/internal/contracttest"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// The contract suite (contract/ at the repository root, see its README)
// against the embedded engine: a real SQLite file, rows through Ingest, and
// every call through the adminapi handler on an httptest server, with API
// keys for the admin and user roles. convex/contract.test.ts runs the
// same cases against the Convex functions.

var fixturePrefix = map[string]string{"systemAlerts": "al", "reports": "rp", "forecasts": "fc", "systemHealth": "hc", "jobRuns": "jr", "apiKeys": "k"}

func TestContract(t *testing.T) {
	defaults := contracttest.Defaults(t)
	names, cases := contracttest.Cases(t, "cases")
	for _, name := range names {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runCase(t, c, defaults)
		})
	}
}

func runCase(t *testing.T, c contracttest.Case, defaults map[string]any) {
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
	n := contracttest.NewNames()
	var now int64
	setNow := func(v any) {
		if v == nil {
			v = c.Now
		}
		if v == nil {
			v = defaults["now"]
		}
		now = int64(n.Resolve(t, v, false).(float64))
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
		n.IDs["@"+key] = id
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
			doc = n.Resolve(t, doc, false).(map[string]any)
			id := fmt.Sprintf("%s_%016x", fixturePrefix[table], seq)
			if key != "" {
				n.IDs["#"+key] = id
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
					v = contracttest.Show(x)
				}
				cols, marks, vals = append(cols, `"`+k+`"`), append(marks, "?"), append(vals, v)
			}
			if err := s.Exec(ctx, `INSERT INTO `+table+` (`+strings.Join(cols, ",")+`) VALUES (`+strings.Join(marks, ",")+`)`, vals...); err != nil {
				t.Fatalf("fixture %s: %v", table, err)
			}
		}
	}
	// Rows, batch by batch, through Ingest.
	rows := &contracttest.Rows{Defaults: defaults}
	ingest := func(batch map[string][]map[string]any) {
		t.Helper()
		if _, err := s.Ingest(ctx, rows.Batch(t, n, batch)); err != nil {
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
		body, _ := json.Marshal(map[string]any{"path": call.Path, "args": n.Resolve(t, args, true), "format": "json"})
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
		expect := n.Resolve(t, call.Expect, false).(map[string]any)
		var problems []string
		if e, ok := expect["error"].(map[string]any); ok {
			var code any
			msg := out.ErrorMessage
			if out.ErrorData != nil {
				code, msg = out.ErrorData.Code, out.ErrorData.Message
			}
			switch {
			case out.Status != "error" || res.StatusCode != adminapi.StatusFunctionError:
				problems = append(problems, fmt.Sprintf("expected error %s, got HTTP %d %s", contracttest.Show(e), res.StatusCode, raw))
			case !reflect.DeepEqual(code, e["code"]):
				problems = append(problems, fmt.Sprintf("error code %v (%s), expected %v", code, msg, e["code"]))
			case e["message"] != nil && e["message"] != msg:
				problems = append(problems, fmt.Sprintf("error message %q, expected %q", msg, e["message"]))
			}
		} else if out.Status != "success" || res.StatusCode != http.StatusOK {
			problems = append(problems, fmt.Sprintf("unexpected error: HTTP %d %s", res.StatusCode, raw))
		} else {
			contracttest.Match(out.Value, expect["value"], "value", &problems)
		}
		if len(problems) > 0 {
			t.Errorf("%s:\n  %s", label, strings.Join(problems, "\n  "))
		}
		if m, ok := out.Value.(map[string]any); ok {
			if cur, ok := m["continueCursor"].(string); ok {
				n.Cursor = cur
			}
		}
	}
}
