package jobs_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
	"llmmeter/internal/testaddr"
	"llmmeter/jobs"
	"llmmeter/openrouter"
	"llmmeter/openrouter/openroutertest"
)

// simAt runs the OpenRouter simulator on one reserved loopback address
// (testaddr), so that it can be stopped (connection refused) and started
// again with other options while the client keeps its base URL.
type simAt struct {
	t      *testing.T
	addr   string
	cancel context.CancelFunc
	done   chan error
}

func newSimAt(t *testing.T) *simAt {
	s := &simAt{t: t, addr: testaddr.Reserve(t)}
	t.Cleanup(s.stop)
	return s
}

// start serves a simulator whose key has the credit limit limit.
func (s *simAt) start(limit money.Nanos) {
	s.t.Helper()
	s.stop()
	// The address stays reserved while stopped: no one else can take it.
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan error, 1)
	go func() { s.done <- openroutertest.Serve(ctx, ln, openroutertest.Options{KeyLimit: &limit}) }()
}

// stop closes the port (no-op if stopped).
func (s *simAt) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	if err := <-s.done; err != nil {
		s.t.Errorf("simulator: %v", err)
	}
	s.cancel = nil
}

// client is a real OpenRouter client of the simulator's address, without
// retries or keep-alive (each probe dials: a stopped simulator is seen at
// once).
func (s *simAt) client(t *testing.T) *openrouter.Client {
	c, err := openrouter.New(openrouter.Config{BaseURL: "http://" + s.addr + "/api/v1", APIKey: "sk-or-v1-health-test-key-0000000000",
		MaxRetries: openrouter.NoRetries, GenerationWait: 200 * time.Millisecond,
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// healthRig runs the alerts job (and others) of one engine on a clock.
type healthRig struct {
	e   *engine
	s   *jobs.Scheduler
	clk *clock
	at  time.Time
}

func newHealthRig(t *testing.T, e *engine, extra ...jobs.Job) (*healthRig, *jobs.Alerts) {
	cfg := jobs.DefaultConfig()
	cfg.ErrorRateMinRequests = 1_000_000 // only the health rules fire
	a := &jobs.Alerts{Store: e.st, Cal: e.cal, Cfg: cfg}
	clk := &clock{}
	r := &healthRig{e: e, s: newScheduler(t, e.st, e.loc, clk, "h"), clk: clk,
		at: time.Date(time.Now().Year()+2, 3, 10, 9, 0, 0, 0, e.loc)}
	r.s.Add(a, "* * * * *")
	for _, j := range extra {
		r.s.Add(j, "* * * * *")
	}
	return r, a
}

// run advances the clock a minute and runs job; it returns the run.
func (r *healthRig) run(t *testing.T, job string) jobs.Run {
	t.Helper()
	r.at = r.at.Add(time.Minute)
	r.clk.Set(r.at)
	runs, err := r.s.RunDue(ctx, job)
	if len(runs) == 0 {
		t.Fatalf("%s at %s: no run (%v)", job, r.at, err)
	}
	return runs[len(runs)-1]
}

// alerts runs the alerts job; it must succeed.
func (r *healthRig) alerts(t *testing.T) map[string]jobs.Alert {
	t.Helper()
	if run := r.run(t, jobs.JobAlerts); run.Outcome != jobs.OutcomeSuccess {
		t.Fatalf("alerts run %s: %s", run.Outcome, run.Error)
	}
	return openKeys(t, r.e.st)
}

// TestHealthAlertOpenRouter: the key balance under the threshold (the
// simulator's GET /key reporting a low limit_remaining) opens a warning
// that escalates in place to critical as it falls further; the simulator
// stopped opens "unreachable" while the balance alert stays as it was (it
// cannot be read, so it is neither resolved nor escalated) and the health
// check records OpenRouter as failing; started again with credit, both
// resolve.
func TestHealthAlertOpenRouter(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		sim := newSimAt(t)
		sim.start(50 * money.NanosPerUSD)
		key := sim.client(t)
		health := &jobs.HealthCheck{Store: e.st, Key: key}
		r, a := newHealthRig(t, e, health)
		a.Key = key
		const reach, bal = "openrouter:reachable", "balance:openrouter"

		if open := r.alerts(t); open[reach].ID != "" || open[bal].ID != "" {
			t.Fatalf("healthy: open %v", open)
		}
		sim.start(3 * money.NanosPerUSD) // under the $5 default
		open := r.alerts(t)
		low := open[bal]
		if low.ID == "" || low.Severity != jobs.SeverityWarning || low.AlertType != jobs.AlertKeyBalance ||
			low.Message != "OpenRouter key balance $3.00 is below $5.00" || low.Metadata["remainingNanoUsd"] == nil {
			t.Fatalf("low balance: %+v", low)
		}
		sim.start(money.NanosPerUSD / 2) // under a fifth of the threshold
		if got := r.alerts(t)[bal]; got.ID != low.ID || got.Severity != jobs.SeverityCritical || len(got.History) != 2 {
			t.Fatalf("balance escalation: %+v (first %s)", got, low.ID)
		}

		sim.stop()
		open = r.alerts(t) // the run succeeds: the outage is reported by its alert
		down := open[reach]
		if down.ID == "" || down.Severity != jobs.SeverityCritical || down.AlertType != jobs.AlertOpenRouterUnreachable ||
			!strings.HasPrefix(down.Message, "OpenRouter is unreachable: ") || strings.Contains(down.Message, "health-test-key") {
			t.Fatalf("unreachable: %+v", down)
		}
		if open[bal].ID != low.ID || open[bal].Severity != jobs.SeverityCritical {
			t.Fatalf("balance alert changed while unreadable: %+v", open[bal])
		}
		if run := r.run(t, jobs.JobHealth); run.Counts["openrouterOk"] != 0 {
			t.Fatalf("health run %+v", run)
		}
		if h := e.latestHealth(t); h["openrouterOk"] != false || h["storeOk"] != true {
			t.Fatalf("health row while down %v", h)
		}

		sim.start(50 * money.NanosPerUSD)
		if open := r.alerts(t); open[reach].ID != "" || open[bal].ID != "" {
			t.Fatalf("recovered: still open %v", open)
		}
		r.run(t, jobs.JobHealth)
		if h := e.latestHealth(t); h["openrouterOk"] != true || h["keyRemainingNanoUsd"] != int64(50*money.NanosPerUSD) {
			t.Fatalf("health row after recovery %v", h)
		}
	})
}

// TestHealthAlertBacklog: a real outbox filled past ALERT_OUTBOX_MAX_DEPTH
// (nothing delivering it) opens the backlog alert, ten times past it
// escalates it in place, and emptied it resolves.
func TestHealthAlertBacklog(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		box, err := outbox.Open(ctx, filepath.Join(t.TempDir(), "outbox.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { box.Close() })
		r, a := newHealthRig(t, e)
		a.Outbox = box
		a.Cfg.OutboxMaxDepth = 5
		const k = "backlog:outbox"
		g := &gen{}
		put := func(n int) {
			t.Helper()
			for range n {
				u, l := g.request(r.at, "u_backlog", "m/a", true, 100)
				if err := box.Put(ctx, u.RequestID, outbox.Ready, store.Batch{Usage: []store.Usage{u}, RequestLogs: []store.RequestLog{l}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		put(4)
		if open := r.alerts(t); open[k].ID != "" {
			t.Fatalf("under the threshold: %+v", open[k])
		}
		put(2)
		first := r.alerts(t)[k]
		if first.ID == "" || first.Severity != jobs.SeverityWarning || first.AlertType != jobs.AlertDeliveryBacklog ||
			!strings.HasPrefix(first.Message, "delivery backlog: 6 entries waiting (threshold 5)") {
			t.Fatalf("backlog: %+v", first)
		}
		put(44)
		if got := r.alerts(t)[k]; got.ID != first.ID || got.Severity != jobs.SeverityCritical {
			t.Fatalf("backlog escalation: %+v", got)
		}
		entries, err := box.List(ctx, outbox.Ready, 100, time.Now())
		if err != nil || len(entries) != 50 {
			t.Fatalf("list: %d %v", len(entries), err)
		}
		ids := make([]int64, len(entries))
		for i, en := range entries {
			ids[i] = en.ID
		}
		if err := box.Delete(ctx, ids); err != nil {
			t.Fatal(err)
		}
		if open := r.alerts(t); open[k].ID != "" {
			t.Fatalf("delivered: still open %+v", open[k])
		}
	})
}

// TestHealthAlertJobFailures: the backfill job against a stopped
// OpenRouter fails for real on each run; the job alert opens after
// ALERT_JOB_FAILURES consecutive failures (not at the first), escalates
// at twice as many, and resolves after the next successful run.
func TestHealthAlertJobFailures(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		sim := newSimAt(t) // never started yet: its port is closed
		bf := &jobs.Backfill{Store: e.st, Gen: sim.client(t), MinAge: time.Minute, Lookback: 24 * time.Hour, Batch: 10}
		r, a := newHealthRig(t, e, bf)
		a.Cfg.JobFailureRuns = 2
		a.JobNames = []string{jobs.JobBackfill}
		const k = "job:backfill"
		ids := users(t, e, "carol")
		u, l := (&gen{n: 900}).request(r.at.Add(-time.Hour), ids[0], "m/a", true, 100)
		u.CostStatus = store.CostEstimated
		e.ingest(t, store.Batch{Usage: []store.Usage{u}, RequestLogs: []store.RequestLog{l}})

		fail := func() {
			t.Helper()
			if run := r.run(t, jobs.JobBackfill); run.Outcome != jobs.OutcomeFailure || !strings.Contains(run.Error, u.GenerationID) {
				t.Fatalf("backfill run against a closed port: %+v", run)
			}
		}
		fail()
		if open := r.alerts(t); open[k].ID != "" {
			t.Fatalf("one failure alerted: %+v", open[k])
		}
		fail()
		first := r.alerts(t)[k]
		if first.ID == "" || first.Severity != jobs.SeverityWarning || first.AlertType != jobs.AlertJobFailure ||
			!strings.HasPrefix(first.Message, "job backfill failed 2 times in a row: generation "+u.GenerationID) {
			t.Fatalf("two failures: %+v", first)
		}
		fail()
		fail()
		if got := r.alerts(t)[k]; got.ID != first.ID || got.Severity != jobs.SeverityCritical ||
			got.Metadata["consecutiveFailures"] != float64(4) && got.Metadata["consecutiveFailures"] != int64(4) {
			t.Fatalf("four failures: %+v", got)
		}
		// OpenRouter back: the record is not found (the simulator never
		// made it), which is not a failure; the alert resolves.
		sim.start(50 * money.NanosPerUSD)
		if run := r.run(t, jobs.JobBackfill); run.Outcome != jobs.OutcomeSuccess {
			t.Fatalf("backfill with OpenRouter back: %+v", run)
		}
		if open := r.alerts(t); open[k].ID != "" {
			t.Fatalf("recovered: still open %+v", open[k])
		}
	})
}
