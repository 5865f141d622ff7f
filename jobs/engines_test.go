package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"llmmeter/convexclient"
	"llmmeter/internal/convextest"
	"llmmeter/internal/money"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
	"llmmeter/internal/store/convexstore"
	"llmmeter/internal/store/sqlitestore"
	"llmmeter/jobs"
)

// zone is the reporting time zone of every engine test: New York has both
// DST changes, and its midnights are not UTC's.
const zone = "America/New_York"

func nyc(t testing.TB) *time.Location {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// clock is an injected clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// engine is one store engine under test, with the test-only operations
// the jobs.Store interface does not have.
type engine struct {
	name string
	loc  *time.Location
	cal  *periods.Calendar
	st   interface {
		jobs.Store
		store.Store
	}
	// another handle on the same data (a second replica)
	second func(t *testing.T) jobs.Store
	// ingest stores rows as the gateway would, then folds them as the
	// fold job would within seconds (unless noFold)
	ingest func(t *testing.T, b store.Batch)
	noFold bool
	// setQuota creates a quota; resetDate is only honoured by SQLite
	// (Convex derives it from the deployment's clock)
	setQuota func(t *testing.T, userID, quotaType string, limit float64, resetDate int64) string
	// healthRows counts stored health checks
	latestHealth func(t *testing.T) map[string]any
	// report reads a stored report body
	report func(t *testing.T, kind, periodKey string) map[string]any
	// forecastCount counts stored forecast rows of the latest run
	forecastCount func(t *testing.T) int
	// quotaUsed reads a user's quotas through llmmeter:quotas: quota id →
	// used in its exact unit (tokens, or usedNanoUsd for cost quotas)
	quotaUsed func(t *testing.T, userID string) map[string]int64
	// admin calls an admin function ("query" or "mutation") as an admin
	admin func(t *testing.T, kind, path string, args map[string]any) json.RawMessage
}

// exactUsed decodes llmmeter:quotas (the same shape on both engines) into
// quota id → used in its exact unit.
func exactUsed(t *testing.T, raw []byte) map[string]int64 {
	t.Helper()
	var qs []struct {
		ID          string  `json:"id"`
		QuotaType   string  `json:"quotaType"`
		Used        float64 `json:"used"`
		UsedNanoUsd *int64  `json:"usedNanoUsd"`
	}
	if err := json.Unmarshal(raw, &qs); err != nil {
		t.Fatalf("llmmeter:quotas: %v: %s", err, raw)
	}
	out := map[string]int64{}
	for _, q := range qs {
		switch {
		case store.IsCostQuota(q.QuotaType) && q.UsedNanoUsd != nil:
			out[q.ID] = *q.UsedNanoUsd
		case store.IsCostQuota(q.QuotaType):
			out[q.ID] = 0
		default:
			out[q.ID] = int64(q.Used)
		}
	}
	return out
}

var ctx = context.Background()

func sqliteEngine(t *testing.T, loc *time.Location) *engine {
	file := filepath.Join(t.TempDir(), "llmmeter.db")
	st, err := sqlitestore.Open(ctx, file, loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &engine{name: "sqlite", loc: loc, cal: periods.For(loc), st: st}
	e.second = func(t *testing.T) jobs.Store {
		s2, err := sqlitestore.Open(ctx, file, loc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s2.Close() })
		return s2
	}
	e.ingest = func(t *testing.T, b store.Batch) {
		t.Helper()
		if _, err := st.Ingest(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	e.setQuota = func(t *testing.T, userID, quotaType string, limit float64, resetDate int64) string {
		t.Helper()
		n++
		id := fmt.Sprintf("q_%d", n)
		var limitNano any
		if quotaType == jobs.QuotaMonthlyCostUSD || quotaType == jobs.QuotaSystemMonthlyCostUSD {
			limitNano = int64(limit * 1e9)
		}
		if _, err := db.Exec(`INSERT INTO userQuotas (id, userId, quotaType, "limit", used, limitNanoUsd, resetDate, isActive, updatedAt)
			VALUES (?,?,?,?,5,?,?,1,0)`, id, userID, quotaType, limit, limitNano, resetDate); err != nil {
			t.Fatal(err)
		}
		return id
	}
	e.latestHealth = func(t *testing.T) map[string]any {
		var checked, remaining, depth, lag int64
		var ok, sok int
		if err := db.QueryRow(`SELECT checkedAt, openrouterOk, COALESCE(keyRemainingNanoUsd,-1), storeOk, outboxDepth, jobLagMs FROM systemHealth ORDER BY checkedAt DESC LIMIT 1`).
			Scan(&checked, &ok, &remaining, &sok, &depth, &lag); err != nil {
			t.Fatal(err)
		}
		return map[string]any{"checkedAt": checked, "openrouterOk": ok == 1, "keyRemainingNanoUsd": remaining, "storeOk": sok == 1, "outboxDepth": depth, "jobLagMs": lag}
	}
	e.report = func(t *testing.T, kind, key string) map[string]any {
		var body string
		if err := db.QueryRow(`SELECT body FROM reports WHERE kind = ? AND periodKey = ?`, kind, key).Scan(&body); err != nil {
			t.Fatalf("report %s %s: %v", kind, key, err)
		}
		return decode(t, body)
	}
	e.forecastCount = func(t *testing.T) int {
		var n int
		db.QueryRow(`SELECT count(*) FROM forecasts WHERE createdAt = (SELECT max(createdAt) FROM forecasts)`).Scan(&n)
		return n
	}
	e.admin = func(t *testing.T, kind, path string, args map[string]any) json.RawMessage {
		t.Helper()
		b, _ := json.Marshal(args)
		v, err := st.Call(ctx, kind, path, b, store.Caller{Authenticated: true, UserID: "admin", IsAdmin: true})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	e.quotaUsed = func(t *testing.T, userID string) map[string]int64 {
		t.Helper()
		args, _ := json.Marshal(map[string]string{"userId": userID})
		v, err := st.Call(ctx, "query", "llmmeter:quotas", args, store.Caller{Authenticated: true, UserID: "admin", IsAdmin: true})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(v)
		return exactUsed(t, raw)
	}
	return e
}

// convexBackend is started once per test binary and shared by every
// Convex subtest (each resets it).
type convexBackend struct{ site, api, secret string }

func convexEngine(t *testing.T, b *convexBackend, loc *time.Location) *engine {
	convextest.Reset(t, b.site)
	newClient := func() *convexclient.Client {
		// A generous timeout: a fold apply of a few hundred rows into the
		// single-threaded test backend can take long on a busy machine.
		c, err := convexclient.New(convexclient.Config{URL: b.api, SiteURL: b.site, Secret: b.secret, MaxRetries: -1, Timeout: 2 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := newClient()
	st := convexstore.New(c).WithReportingTZ(loc)
	e := &engine{name: "convex", loc: loc, cal: periods.For(loc), st: st}
	e.second = func(t *testing.T) jobs.Store { return convexstore.New(newClient()).WithReportingTZ(loc) }
	e.ingest = func(t *testing.T, bt store.Batch) {
		t.Helper()
		if _, err := st.Ingest(ctx, bt); err != nil {
			t.Fatal(err)
		}
		if !e.noFold {
			foldAll(t, st, e)
		}
	}
	token := convextest.Token(`{"sub":"admin","iss":"https://clerk.test","role":"admin"}`)
	e.setQuota = func(t *testing.T, userID, quotaType string, limit float64, _ int64) string {
		t.Helper()
		args := map[string]any{"quotaType": quotaType, "limit": limit}
		if userID != "" {
			args["userId"] = userID
		}
		var out struct {
			QuotaID string `json:"quotaId"`
		}
		if err := c.Mutation(ctx, "llmmeter:setQuota", args, &out, convexclient.WithAuth(token)); err != nil {
			t.Fatal(err)
		}
		return out.QuotaID
	}
	e.latestHealth = func(t *testing.T) map[string]any {
		var out struct {
			Health map[string]any `json:"health"`
		}
		if err := c.Query(ctx, "llmmeter:overview", map[string]any{"from": 0, "to": 1}, &out, convexclient.WithAuth(token)); err != nil {
			t.Fatal(err)
		}
		if out.Health == nil {
			t.Fatal("no health row")
		}
		if out.Health["keyRemainingNanoUsd"] == nil {
			out.Health["keyRemainingNanoUsd"] = float64(-1)
		}
		for _, k := range []string{"checkedAt", "keyRemainingNanoUsd", "outboxDepth", "jobLagMs"} {
			out.Health[k] = int64(out.Health[k].(float64))
		}
		return out.Health
	}
	e.report = func(t *testing.T, kind, key string) map[string]any {
		var list []struct {
			ID        string         `json:"id"`
			Kind      string         `json:"kind"`
			PeriodKey string         `json:"periodKey"`
			Body      map[string]any `json:"body"`
		}
		if err := c.Query(ctx, "llmmeter:reports", map[string]any{"limit": 100}, &list, convexclient.WithAuth(token)); err != nil {
			t.Fatal(err)
		}
		for _, r := range list {
			if r.Kind == kind && r.PeriodKey == key {
				return r.Body
			}
		}
		t.Fatalf("report %s %s not stored", kind, key)
		return nil
	}
	e.forecastCount = func(t *testing.T) int {
		var out struct {
			Rows []any `json:"rows"`
		}
		if err := c.Query(ctx, "llmmeter:forecast", map[string]any{}, &out, convexclient.WithAuth(token)); err != nil {
			t.Fatal(err)
		}
		return len(out.Rows)
	}
	e.admin = func(t *testing.T, kind, path string, args map[string]any) json.RawMessage {
		t.Helper()
		var raw json.RawMessage
		call := c.Query
		if kind == "mutation" {
			call = c.Mutation
		}
		if err := call(ctx, path, args, &raw, convexclient.WithAuth(token)); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return raw
	}
	e.quotaUsed = func(t *testing.T, userID string) map[string]int64 {
		t.Helper()
		var raw json.RawMessage
		if err := c.Query(ctx, "llmmeter:quotas", map[string]any{"userId": userID}, &raw, convexclient.WithAuth(token)); err != nil {
			t.Fatal(err)
		}
		return exactUsed(t, raw)
	}
	return e
}

// eachEngine runs f on SQLite and on the Convex test backend.
func eachEngine(t *testing.T, f func(t *testing.T, e *engine)) {
	loc := nyc(t)
	t.Run("sqlite", func(t *testing.T) { f(t, sqliteEngine(t, loc)) })
	t.Run("convex", func(t *testing.T) { f(t, convexEngine(t, backend(t), loc)) })
}

var (
	backendOnce sync.Once
	shared      *convexBackend
	stopShared  func()
)

// backend returns the backend shared by every Convex subtest; TestMain
// stops it.
func backend(t *testing.T) *convexBackend {
	backendOnce.Do(func() {
		h := &holder{}
		site, api, secret := convextest.StartWith(h, convextest.Options{TZ: zone})
		shared = &convexBackend{site, api, secret}
		stopShared = h.cleanup
	})
	if shared == nil {
		t.Fatal("convex test backend did not start")
	}
	return shared
}

// ---- expected aggregates --------------------------------------------------------

type aggKey struct {
	scope, user, model string
	period             periods.Period
	start              int64
}

// expectedAggs is the reference: rollup rules applied to all raw rows.
func expectedAggs(cal *periods.Calendar, b store.Batch) map[aggKey]rollup.Row {
	rb := rollup.NewBatch(cal)
	for _, u := range b.Usage {
		rb.AddUsage(u)
	}
	for _, l := range b.RequestLogs {
		rb.AddRequestLog(l)
	}
	for _, a := range b.Activity {
		rb.AddActivity(a)
	}
	out := map[aggKey]rollup.Row{}
	for _, r := range rb.Rows() {
		out[aggKey{r.Scope, r.UserID, r.Model, r.Period, r.PeriodStart}] = *r
	}
	return out
}

// checkAggregates compares every stored aggregate of [from, to) (shards
// merged) with the reference, exactly.
func checkAggregates(t *testing.T, e *engine, want map[aggKey]rollup.Row, from, to int64) {
	t.Helper()
	got := map[aggKey]rollup.Row{}
	for _, scope := range []string{rollup.ScopeSystem, rollup.ScopeUser, rollup.ScopeModel} {
		for _, p := range periods.All {
			rows, err := e.st.Aggregates(ctx, scope, p, e.cal.Of(p, from).Start, to)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				k := aggKey{r.Scope, r.UserID, r.Model, r.Period, r.PeriodStart}
				g, ok := got[k]
				if !ok {
					g = rollup.Row{Key: r.Key, PeriodKey: r.PeriodKey}
				}
				g.Counters.Add(r.Counters)
				for _, m := range r.Models {
					if !slices.Contains(g.Models, m) {
						g.Models = append(g.Models, m)
					}
				}
				got[k] = g
			}
		}
	}
	for k, w := range want {
		if k.start < e.cal.Of(k.period, from).Start || k.start >= to {
			continue
		}
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing aggregate %+v", e.name, k)
			continue
		}
		if g.Counters != w.Counters {
			t.Errorf("%s: aggregate %+v (%s)\n got  %+v\n want %+v", e.name, k, w.PeriodKey, g.Counters, w.Counters)
		}
		if g.PeriodKey != w.PeriodKey {
			t.Errorf("%s: aggregate %+v periodKey %q, want %q", e.name, k, g.PeriodKey, w.PeriodKey)
		}
		slices.Sort(g.Models)
		if !slices.Equal(g.Models, w.Models) {
			t.Errorf("%s: aggregate %+v models %v, want %v", e.name, k, g.Models, w.Models)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok && g.Counters != (rollup.Counters{}) {
			t.Errorf("%s: unexpected nonzero aggregate %+v: %+v", e.name, k, g.Counters)
		}
	}
}

// ---- row factories -------------------------------------------------------------

type gen struct {
	n     int
	users []string
}

func (g *gen) request(t time.Time, user, model string, ok bool, ms int64) (store.Usage, store.RequestLog) {
	g.n++
	id := fmt.Sprintf("gen-%d", g.n)
	u := store.Usage{GenerationID: id, RequestID: fmt.Sprintf("req-%d", g.n), UserID: user, Model: model,
		PromptTokens: int64(10 + g.n%7), CompletionTokens: int64(5 + g.n%11), CachedTokens: int64(g.n % 3), ReasoningTokens: int64(g.n % 2),
		Cost: money.Nanos(123_457 * int64(1+g.n%5)), CostStatus: store.CostReported, Timestamp: t.UnixMilli(), ProcessingTime: ms}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	status, code := store.StatusSuccess, 200
	if !ok {
		status, code = store.StatusError, 502
	}
	l := store.RequestLog{RequestID: u.RequestID, UserID: user, RequestType: "chat", Method: "POST", Endpoint: "/v1/chat/completions",
		Model: model, GenerationID: id, Status: status, StatusCode: code, ProcessingTime: ms, Timestamp: t.UnixMilli()}
	if !ok {
		l.ErrorType, l.ErrorMessage = "upstream_error", "bad gateway"
	}
	return u, l
}

func (g *gen) activity(t time.Time, user, kind string) store.Activity {
	g.n++
	return store.Activity{ActivityKey: fmt.Sprintf("act-%d", g.n), UserID: user, ActivityType: kind, Timestamp: t.UnixMilli()}
}

func users(t *testing.T, e *engine, names ...string) []string {
	var ids []string
	for _, n := range names {
		u, _, err := e.st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: n, Name: n})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	return ids
}
