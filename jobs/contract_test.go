package jobs_test

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"llmmeter/convexclient"
	"llmmeter/internal/contracttest"
	"llmmeter/internal/convextest"
	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
	"llmmeter/internal/store/convexstore"
	"llmmeter/internal/store/sqlitestore"
	"llmmeter/jobs"
)

// The job-store contract (contract/jobs, see contract/README.md): the
// methods the Go jobs call on a store (fold apply, usage confirmation,
// quota resets, alerts), mixed with admin reads that pin their effect,
// run against both engines through the code the jobs use: sqlitestore's
// methods on a real SQLite file, and the Go convexstore client over the
// signed /jobs/... routes of the real Convex functions in the convex-test
// backend (internal/convextest). Both engines run on the case's clock.

// contractEngine is one engine under a job case.
type contractEngine struct {
	st interface {
		jobs.Store
		store.Store
	}
	// setNow moves the engine's clock (and, on Convex, the client's
	// signing clock with it).
	setNow func(t *testing.T, ms int64)
	// admin calls an admin function as an admin.
	admin func(t *testing.T, kind, path string, args any) (any, error)
}

// trace (LLMMETER_CONTRACT_TRACE=1) logs every step's answer.
var trace = os.Getenv("LLMMETER_CONTRACT_TRACE") != ""

func TestJobContract(t *testing.T) {
	defaults := contracttest.Defaults(t)
	names, cases := contracttest.Cases(t, "jobs")
	for _, name := range names {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			loc := time.UTC
			if c.ReportingTz != "" {
				var err error
				if loc, err = time.LoadLocation(c.ReportingTz); err != nil {
					t.Fatal(err)
				}
			}
			t.Run("sqlite", func(t *testing.T) { runJobCase(t, c, defaults, loc, sqliteContract(t, loc)) })
			t.Run("convex", func(t *testing.T) { runJobCase(t, c, defaults, loc, convexContract(t, loc)) })
		})
	}
}

func sqliteContract(t *testing.T, loc *time.Location) *contractEngine {
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "contract.db"), loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// The fold is a step of its own in these cases, as on Convex.
	st.SetFoldOnIngest(false)
	var now atomic.Int64
	st.SetClock(func() time.Time { return time.UnixMilli(now.Load()) })
	return &contractEngine{
		st:     st,
		setNow: func(_ *testing.T, ms int64) { now.Store(ms) },
		admin: func(t *testing.T, kind, path string, args any) (any, error) {
			raw, _ := json.Marshal(args)
			v, err := st.Call(ctx, kind, path, raw, store.Caller{Authenticated: true, UserID: "admin", IsAdmin: true})
			if err != nil {
				return nil, err
			}
			return decodeJSON(t, v), nil
		},
	}
}

func convexContract(t *testing.T, loc *time.Location) *contractEngine {
	b := backend(t)
	convextest.Reset(t, b.site)
	convextest.SetEnv(t, b.site, map[string]string{"REPORTING_TZ": loc.String()})
	t.Cleanup(func() { convextest.SetEnv(t, b.site, map[string]string{"REPORTING_TZ": zone}) })
	var now atomic.Int64
	c, err := convexclient.New(convexclient.Config{URL: b.api, SiteURL: b.site, Secret: b.secret, MaxRetries: -1, Timeout: 2 * time.Minute,
		Now: func() time.Time { return time.UnixMilli(now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	token := convextest.Token(`{"sub":"contract_admin","iss":"https://clerk.test","role":"admin"}`)
	return &contractEngine{
		st: convexstore.New(c).WithReportingTZ(loc),
		setNow: func(t *testing.T, ms int64) {
			now.Store(ms)
			convextest.SetClock(t, b.site, ms)
		},
		admin: func(t *testing.T, kind, path string, args any) (any, error) {
			var raw json.RawMessage
			call := c.Query
			if kind == "mutation" {
				call = c.Mutation
			}
			if err := call(ctx, path, args, &raw, convexclient.WithAuth(token)); err != nil {
				return nil, err
			}
			return decodeJSON(t, raw), nil
		},
	}
}

// decodeJSON is v as a decoded JSON value (what the matchers compare).
func decodeJSON(t *testing.T, v any) any {
	t.Helper()
	raw, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return out
}

func runJobCase(t *testing.T, c contracttest.Case, defaults map[string]any, loc *time.Location, e *contractEngine) {
	if len(c.Fixtures) > 0 {
		t.Fatal("job cases take no fixtures: the jobs' own methods make the rows")
	}
	n := contracttest.NewNames()
	when := func(v any) int64 {
		for _, x := range []any{v, c.Now, defaults["now"]} {
			if x != nil {
				return n.Ms(t, x)
			}
		}
		return 0
	}
	setup := c.SetupNow
	if setup == nil {
		setup = defaults["setupNow"]
	}
	e.setNow(t, n.Ms(t, setup))
	// Users through EnsureUser, the gateway's path on both engines.
	for _, u := range c.Users {
		key, _ := u["key"].(string)
		name, _ := u["name"].(string)
		email, _ := u["email"].(string)
		if d, _ := u["deleted"].(bool); d {
			t.Fatal("job cases have no deleted users")
		}
		usr, _, err := e.st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: key, Name: name, Email: email})
		if err != nil {
			t.Fatal(err)
		}
		n.IDs["@"+key] = usr.ID
	}
	rows := &contracttest.Rows{Defaults: defaults}
	ingest := func(batch map[string][]map[string]any) {
		t.Helper()
		if _, err := e.st.Ingest(ctx, rows.Batch(t, n, batch)); err != nil {
			t.Fatalf("ingest: %v", err)
		}
	}
	for _, batch := range c.Ingest {
		ingest(batch)
	}
	js := &jobSteps{e: e, cal: periods.For(loc), applies: map[string]fold.Apply{}}
	for i, call := range c.Calls {
		label := fmt.Sprintf("call %d %s%s %s", i, call.Job, call.Path, call.Name)
		e.setNow(t, when(call.Now))
		var value any
		var err error
		switch call.Kind {
		case "ingest":
			ingest(call.Rows)
			continue
		case "job":
			value, err = js.run(t, call.Job, n.Resolve(t, orEmpty(call.Args), true), when(call.Now))
		case "query", "mutation":
			if call.As != "admin" {
				t.Fatalf("%s: job cases call admin functions as admin only", label)
			}
			value, err = e.admin(t, call.Kind, call.Path, n.Resolve(t, orEmpty(call.Args), true))
		default:
			t.Fatalf("%s: unknown kind %q", label, call.Kind)
		}
		if trace { // what each step answered, for writing a case
			t.Logf("%s => %s %v", label, contracttest.Show(value), err)
		}
		expect := n.Resolve(t, call.Expect, false).(map[string]any)
		var problems []string
		if want, ok := expect["error"].(map[string]any); ok {
			if got := errorCode(err); err == nil || got != want["code"] {
				problems = append(problems, fmt.Sprintf("expected error %s, got %s (%v)", contracttest.Show(want), contracttest.Show(value), err))
			}
		} else if err != nil {
			problems = append(problems, fmt.Sprintf("unexpected error: %v", err))
		} else {
			contracttest.Match(value, expect["value"], "value", &problems)
		}
		if len(problems) > 0 {
			t.Fatalf("%s:\n  %s", label, strings.Join(problems, "\n  "))
		}
		n.Save(t, value, call.Save)
	}
}

func orEmpty(v any) any {
	if v == nil {
		return map[string]any{}
	}
	return v
}

// errorCode names an error the way the cases expect it: a job-store
// sentinel ("conflict", "not_found", "invalid") or an admin function's
// code, the same on both engines.
func errorCode(err error) string {
	var fe *store.FunctionError
	var ce *convexclient.FunctionError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, fold.ErrConflict):
		return "conflict"
	case errors.Is(err, store.ErrNotFound):
		return "not_found"
	case errors.Is(err, store.ErrInvalid):
		return "invalid"
	case errors.As(err, &fe):
		return fe.Code
	case errors.As(err, &ce):
		return ce.Code()
	}
	return "unexpected: " + err.Error()
}

// jobSteps runs the "job" steps of one case on one engine.
type jobSteps struct {
	e   *contractEngine
	cal *periods.Calendar
	// applies computed by foldPrepare, by name, for a later foldApply
	applies map[string]fold.Apply
}

// run calls the job-store method job with args (names resolved) at now and
// returns its result as the case sees it (a decoded JSON value).
func (j *jobSteps) run(t *testing.T, job string, args any, now int64) (any, error) {
	t.Helper()
	a, _ := args.(map[string]any)
	st := j.e.st
	switch job {
	case "fold":
		// The fold job's run: every pending row, in applies of the
		// default page.
		f := fold.Folder{Store: st, Cal: j.cal}
		res, err := f.Run(ctx)
		return map[string]any{"rows": float64(res.Rows), "applies": float64(res.Applies), "conflicts": float64(res.Conflicts)}, err
	case "foldPrepare":
		// What a folder computes before its compare-and-set: pending
		// rows, their deltas, the summaries at the version it read. The
		// Apply is kept under args.name for a later foldApply.
		p, err := st.PendingRows(ctx, fold.DefaultLimit)
		if err != nil {
			return nil, err
		}
		ap := fold.Compute(j.cal, fold.LimitPeriods(j.cal, p, fold.MaxPeriods))
		state, err := st.SummaryState(ctx, rollup.KeysOf(ap.Aggregates))
		if err != nil {
			return nil, err
		}
		fold.Summarize(&ap, state)
		j.applies[arg[string](t, a, "name")] = ap
		return map[string]any{"usage": strs(ap.Usage), "requestLogs": strs(ap.RequestLogs), "activity": strs(ap.Activity)}, nil
	case "foldApply":
		ap, ok := j.applies[arg[string](t, a, "name")]
		if !ok {
			t.Fatalf("foldApply: no prepared apply %v", a["name"])
		}
		return nil, st.ApplyFold(ctx, ap)
	case "confirmUsage":
		var c jobs.UsageConfirmation
		decodeInto(t, a, &c)
		ok, err := st.ConfirmUsage(ctx, c)
		return map[string]any{"confirmed": ok}, err
	case "dueQuotas":
		// Every page: cursors are engine-specific.
		out := []map[string]any{}
		cursor := ""
		for {
			page, err := st.DueQuotas(ctx, int64(arg[float64](t, a, "before")), cursor, int(arg[float64](t, a, "limit")))
			if err != nil {
				return nil, err
			}
			for _, q := range page.Quotas {
				m := map[string]any{"id": q.ID, "quotaType": q.QuotaType, "resetDate": float64(q.ResetDate), "isActive": q.IsActive}
				if q.UserID != "" {
					m["userId"] = q.UserID
				}
				out = append(out, m)
			}
			if cursor = page.Next; cursor == "" {
				// Oldest first; ties are in engine id order, so by type and
				// user here.
				slices.SortStableFunc(out, func(x, y map[string]any) int {
					return cmp.Or(cmp.Compare(x["resetDate"].(float64), y["resetDate"].(float64)),
						cmp.Compare(x["quotaType"].(string), y["quotaType"].(string)), cmp.Compare(fmt.Sprint(x["userId"]), fmt.Sprint(y["userId"])))
				})
				return decodeJSON(t, out), nil
			}
		}
	case "resetQuota":
		ok, err := st.ResetQuota(ctx, arg[string](t, a, "id"), int64(arg[float64](t, a, "expected")), int64(arg[float64](t, a, "next")), time.UnixMilli(now))
		return map[string]any{"reset": ok}, err
	case "openAlert":
		var al jobs.Alert
		decodeInto(t, a, &al)
		row, created, err := st.OpenAlert(ctx, al)
		return map[string]any{"alert": decodeJSON(t, row), "created": created}, err
	case "escalateAlert":
		var al jobs.Alert
		decodeInto(t, a, &al)
		ok, err := st.EscalateAlert(ctx, arg[string](t, a, "id"), al)
		return map[string]any{"escalated": ok}, err
	case "resolveAlert":
		k, err := st.ResolveAlert(ctx, arg[string](t, a, "conditionKey"), time.UnixMilli(now))
		return map[string]any{"resolved": float64(k)}, err
	case "openAlerts":
		list, err := st.OpenAlerts(ctx, int(arg[float64](t, a, "limit")))
		if list == nil {
			list = []jobs.Alert{}
		}
		return decodeJSON(t, list), err
	case "ensureUser":
		// The gateway's user look-up (a Clerk session or a service key's
		// end user), which also stores a changed name or email.
		var in store.EnsureUserInput
		decodeInto(t, a, &in)
		u, created, err := st.EnsureUser(ctx, in)
		return map[string]any{"user": decodeJSON(t, u), "created": created}, err
	case "alertNotified":
		return nil, st.AlertNotified(ctx, arg[string](t, a, "id"), time.UnixMilli(now))
	}
	t.Fatalf("unknown job step %q", job)
	return nil, nil
}

// arg is a step's argument k as a T (string, or float64 for a JSON number).
func arg[T any](t *testing.T, a map[string]any, k string) T {
	t.Helper()
	v, ok := a[k].(T)
	if !ok {
		t.Fatalf("argument %s: expected a %T, got %v", k, v, a[k])
	}
	return v
}

func strs(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// decodeInto decodes the case's arguments into the method's input type,
// refusing fields it does not have (a typo would go unnoticed otherwise).
func decodeInto(t *testing.T, a map[string]any, v any) {
	t.Helper()
	raw, _ := json.Marshal(a)
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("arguments %s: %v", raw, err)
	}
}
