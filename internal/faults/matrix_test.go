package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"llmmeter/internal/auth"
	"llmmeter/internal/convextest"
	"llmmeter/internal/store"
	"llmmeter/internal/store/convexstore"
)

// size is how big a run is: the short one runs in `go test`, the full one
// with FAULTS=full (`make faults`).
type size struct {
	calls   int           // per scenario (kill, recovery, upstream, tmpfs)
	conc    int           // concurrent clients
	kills   int           // kill -9 points in the kill scenario
	sigterm int           // stalled calls open at SIGTERM
	outage  time.Duration // each Convex outage phase
	pace    time.Duration // between call starts during outages
	stall   time.Duration // how long a stalled call stalls
	settle  time.Duration // how long the outbox may take to empty at the end
}

var (
	short = size{calls: 40, conc: 8, kills: 2, sigterm: 12, outage: 1500 * time.Millisecond, pace: 100 * time.Millisecond, stall: 600 * time.Millisecond, settle: 90 * time.Second}
	full  = size{calls: 2000, conc: 32, kills: 6, sigterm: 40, outage: 30 * time.Second, pace: 40 * time.Millisecond, stall: 1500 * time.Millisecond, settle: 3 * time.Minute}
)

// known lists what no gateway can record, reported but not asserted in the
// short run (the full run, FAULTS=full, asserts everything and shows them):
// a kill in the few milliseconds between OpenRouter naming a generation
// (X-Generation-Id) and the commit of the call's in-flight entry loses that
// generation and its request log, since OpenRouter can be asked about a
// generation only by its id. Every call past that point is recovered.
var known = map[string]string{
	"kill9/lost":       killWindow,
	"kill9/logs":       killWindow,
	"recovery/lost":    killWindow,
	"recovery/logs":    killWindow,
	"convex-kill/lost": killWindow,
	"convex-kill/logs": killWindow,
}

const killWindow = "killed before the in-flight entry of a just-named generation was committed"

// TestFaultMatrix runs every scenario and prints the table. Each scenario
// asserts that nothing is doubled or mismatched and that aggregates equal
// the raw rows; losses and wrong logs are asserted too, except (in the
// short run) those of the kill window above, which are printed.
func TestFaultMatrix(t *testing.T) {
	sz, fullRun := short, os.Getenv("FAULTS") == "full"
	if fullRun {
		sz = full
	}
	var (
		mu      sync.Mutex
		results []Result
	)
	report := func(r Result) {
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		mode := "short"
		if fullRun {
			mode = "full (FAULTS=full)"
		}
		t.Logf("fault matrix, %s run:\n%s", mode, Table(results))
		if file := os.Getenv("FAULTS_REPORT"); file != "" {
			os.WriteFile(file, []byte(Table(results)), 0o644)
		}
	})
	check := func(t *testing.T, r Result) {
		t.Helper()
		report(r)
		t.Log(Header + "\n" + r.Row())
		for _, c := range []struct {
			what string
			bad  bool
			msg  string
		}{
			{"doubled", r.Doubled > 0, fmt.Sprintf("%d rows doubled", r.Doubled)},
			{"mismatched", r.Mismatched > 0, fmt.Sprintf("%d usage rows differ from the ledger", r.Mismatched)},
			{"aggregates", !r.AggregatesOK, "aggregates differ from raw rows: " + r.AggregatesDiff},
			{"lost", r.Lost > 0, fmt.Sprintf("%d billed generations unrecorded (%d nano-USD)", r.Lost, r.LostNanos)},
			{"logs", r.LogsMissing > 0, fmt.Sprintf("%d calls without a request log", r.LogsMissing)},
			{"logstatus", r.LogWrong > 0, fmt.Sprintf("%d request logs with a status their client did not see", r.LogWrong)},
			{"silent", r.Silent > 0, fmt.Sprintf("%d calls answered 200 and left unrecorded", r.Silent)},
			{"500s", r.Status500 > 0, fmt.Sprintf("%d calls answered 500", r.Status500)},
		} {
			if !c.bad {
				continue
			}
			if why, ok := known[r.Scenario+"/"+c.what]; ok && !fullRun {
				t.Logf("KNOWN, not asserted in the short run: %s: %s", c.msg, why)
				continue
			}
			t.Errorf("%s/%s: %s", r.Scenario, r.Engine, c.msg)
		}
		for _, n := range r.Notes {
			t.Logf("note: %s", n)
		}
	}

	// The scenarios that apply to either engine; nil is the embedded one.
	common := []struct {
		name string
		run  func(*testing.T, size, *backend) Result
	}{
		{"kill9", scenarioKill}, {"recovery", scenarioRecovery}, {"upstream", scenarioUpstream},
		{"sigterm", scenarioSigterm}, {"tmpfs", scenarioTmpfs},
	}
	for _, sc := range common {
		t.Run(sc.name, func(t *testing.T) { check(t, sc.run(t, sz, nil)) })
	}

	if os.Getenv("LLMMETER_SKIP_CONVEX") != "" {
		t.Log("LLMMETER_SKIP_CONVEX is set: Convex scenarios skipped")
		return
	}
	site, _, secret := convextest.Start(t)
	be := backend{site: site, secret: secret}
	t.Run("convex-outage", func(t *testing.T) { convextest.Reset(t, site); check(t, scenarioOutage(t, sz, be)) })
	t.Run("convex-kill", func(t *testing.T) { convextest.Reset(t, site); check(t, scenarioConvexKill(t, sz, be)) })
	// Both engines in the full run, as issue 12 asks (FAULTS_BOTH=1 does it
	// at the short size); the short run keeps to the Convex-only scenarios.
	if fullRun || os.Getenv("FAULTS_BOTH") != "" {
		for _, sc := range common {
			t.Run(sc.name+"-convex", func(t *testing.T) { convextest.Reset(t, site); check(t, sc.run(t, sz, &be)) })
		}
	}
}

// rig is one scenario's processes.
type rig struct {
	t       *testing.T
	name    string
	engine  string
	sim     *sim
	svc     *service
	be      *backend
	proxy   *Proxy
	dataDir string
	start   time.Time
	sz      size
	notes   []string
}

type rigOpts struct {
	sz        size
	faultRate float64
	genDelay  time.Duration
	dataDir   string
	be        *backend
	proxy     bool
	env       []string
}

func newRig(t *testing.T, name string, o rigOpts) *rig {
	t.Helper()
	r := &rig{t: t, name: name, engine: "sqlite", dataDir: o.dataDir, be: o.be, start: time.Now(), sz: o.sz}
	if r.dataDir == "" {
		r.dataDir = t.TempDir()
	}
	if o.genDelay == 0 {
		o.genDelay = 300 * time.Millisecond
	}
	r.sim = startSim(t, o.faultRate, o.genDelay)
	env := append([]string{"DATA_DIR=" + r.dataDir, "OPENROUTER_BASE_URL=" + r.sim.base + "/api/v1",
		"SHUTDOWN_TIMEOUT=30s", "CONVEX_URL=", "CONVEX_SITE_URL=", "CONVEX_INGEST_SECRET="}, o.env...)
	if o.be != nil {
		r.engine = "convex"
		url := o.be.site
		if o.proxy {
			p, err := NewProxy(strings.TrimPrefix(o.be.site, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			r.proxy, url = p, "http://"+p.Addr()
		}
		env = append(env, "CONVEX_URL="+url, "CONVEX_SITE_URL="+url, "CONVEX_INGEST_SECRET="+o.be.secret)
	}
	r.svc = newService(t, env)
	r.svc.mustStart()
	if !waitUntil(10*time.Second, func() bool { return r.svc.adminKey() != "" }) {
		t.Fatal("no bootstrap key printed on first start")
	}
	return r
}

func (r *rig) note(format string, a ...any) { r.notes = append(r.notes, fmt.Sprintf(format, a...)) }

// finish settles everything, stops the service and reconciles. A service
// already stopped (the SIGTERM scenario) is read as it left things.
func (r *rig) finish(calls []Call) Result {
	t := r.t
	t.Helper()
	if r.svc.running() {
		if !r.svc.settle(r.sz.settle) {
			rd, pd, _ := r.svc.outbox()
			r.note("outbox not empty after %s: ready=%d pending=%d", r.sz.settle, rd, pd)
		}
		if !r.svc.terminate(60 * time.Second) {
			r.note("service did not exit within 60s of SIGTERM")
		}
	}
	ledger := r.sim.settled(t)
	var (
		usage []store.Usage
		logs  []store.RequestLog
		agg   Totals
	)
	if r.be != nil {
		usage, logs, agg = convexRows(t, *r.be, r.start)
	} else {
		usage, logs, agg = sqliteRows(t, r.dataDir, r.start)
	}
	res := Reconcile(r.name, r.engine, calls, ledger, usage, logs, agg)
	r.svc.mu.Lock()
	if r.svc.starts > 1 || r.svc.failed > 0 {
		r.note("%d service starts, %d failed", r.svc.starts, r.svc.failed)
	}
	r.svc.mu.Unlock()
	if n := r.svc.panics(); n > 0 {
		r.note("%d panic lines in the service log", n)
	}
	res.Notes = append(res.Notes, r.notes...)
	res.Notes = append(res.Notes, fmt.Sprintf("took %s", time.Since(r.start).Round(100*time.Millisecond)))
	return res
}

// scenarioKill: kill -9 at random points while mixed calls run (streaming
// and plain, fast and stalled), restarting each time on the same disk.
func scenarioKill(t *testing.T, sz size, be *backend) Result {
	r := newRig(t, "kill9", rigOpts{sz: sz, be: be})
	d := newDriver(r.svc, sz.conc, 0)
	sp := specs("k", sz.calls, mixed, sz.stall)
	done := make(chan []Call)
	go func() { done <- d.run(context.Background(), sp) }()
	for k := range sz.kills {
		at := int64((k + 1) * len(sp) / (sz.kills + 1))
		waitUntil(5*time.Minute, func() bool { return d.started.Load() >= at })
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		_, pending, _ := r.svc.outbox()
		r.svc.kill()
		r.note("kill %d after %d calls started, %d streams open", k+1, d.started.Load(), pending)
		r.svc.mustStart()
	}
	return r.finish(<-done)
}

// scenarioRecovery: kill -9 with stalled calls open, restart, and kill
// again while the restart is recovering the cut streams (the simulator's
// /generation answers 404 for 3s after a generation, so recovery waits).
func scenarioRecovery(t *testing.T, sz size, be *backend) Result {
	r := newRig(t, "recovery", rigOpts{sz: sz, be: be, genDelay: 3 * time.Second})
	d := newDriver(r.svc, sz.conc, 0)
	first := specs("r1", sz.conc, []shape{stalledStream, stalledPlain}, 5*time.Second)
	done := make(chan []Call)
	go func() { done <- d.run(context.Background(), first) }()
	waitUntil(30*time.Second, func() bool { l, err := r.sim.ledger(); return err == nil && l.InFlight >= len(first) })
	// And their in-flight entries are on disk: a kill before that is the
	// kill window (scenarioKill9's), not the recovery this one is about.
	waitUntil(30*time.Second, func() bool { _, p, ok := r.svc.outbox(); return ok && p >= len(first) })
	r.svc.kill()
	calls := <-done
	r.svc.mustStart()
	_, pending, _ := r.svc.outbox()
	r.svc.kill()
	r.note("killed during recovery with %d entries pending", pending)
	r.svc.mustStart()
	calls = append(calls, d.run(context.Background(), specs("r2", sz.calls-len(first), mixed, sz.stall))...)
	return r.finish(calls)
}

// scenarioUpstream: 10 % of upstream calls fail at random (status, error
// chunk, disconnect, malformed line, no usage, provider error).
func scenarioUpstream(t *testing.T, sz size, be *backend) Result {
	r := newRig(t, "upstream", rigOpts{sz: sz, be: be, faultRate: 0.1})
	d := newDriver(r.svc, sz.conc, 0)
	n := sz.calls * 3 / 2 // at 10 %, enough calls to meet most kinds
	sp := specs("u", n, mixed, sz.stall)
	// A few faults asked for by name, so that even the short run meets the
	// ones issue 12 names: a plain call cut by an upstream disconnect, a
	// mid-stream rate_limit_exceeded, a provider error in a 200.
	for i, dir := range []struct {
		shape  string
		stream bool
		text   string
	}{
		{"plain-disconnect", false, "[sim:disconnect after=3]"},
		{"plain-disconnect", false, "[sim:disconnect after=3]"},
		{"stream-disconnect", true, "[sim:disconnect after=3]"},
		{"stream-ratelimit", true, "[sim:midstream after=3 code=429 string_code=1]"},
		{"stream-ratelimit", true, "[sim:midstream after=3 code=429 string_code=1]"},
		{"plain-provider-error", false, "[sim:provider_error]"},
	} {
		id := fmt.Sprintf("ud-%d", i)
		sp = append(sp, spec{id: id, shape: dir.shape, stream: dir.stream, text: "call " + id + " " + dir.text})
	}
	return r.finish(d.run(context.Background(), sp))
}

// scenarioSigterm: SIGTERM with SHUTDOWN_TIMEOUT=1s while stalled calls
// (half plain, half streaming) are open; the rows are read as the service
// left them, without a restart (a replica whose disk is discarded).
func scenarioSigterm(t *testing.T, sz size, be *backend) Result {
	r := newRig(t, "sigterm", rigOpts{sz: sz, be: be, env: []string{"SHUTDOWN_TIMEOUT=1s"}})
	d := newDriver(r.svc, sz.sigterm, 0)
	sp := specs("s", sz.sigterm, []shape{
		{"stream-stalled", true, "[sim:stall after=2]"}, {"plain-stalled", false, "[sim:stall after=2]"}}, 0)
	done := make(chan []Call)
	go func() { done <- d.run(context.Background(), sp) }()
	if !waitUntil(30*time.Second, func() bool { l, err := r.sim.ledger(); return err == nil && l.InFlight == len(sp) }) {
		r.note("not every call was open at SIGTERM")
	}
	t0 := time.Now()
	exited := r.svc.terminate(30 * time.Second)
	r.note("SIGTERM with %d calls open: exited=%v after %s", len(sp), exited, time.Since(t0).Round(100*time.Millisecond))
	return r.finish(<-done)
}

// scenarioTmpfs: DATA_DIR on a 2 MiB tmpfs, filled up after the start;
// space returns before the end.
func scenarioTmpfs(t *testing.T, sz size, be *backend) Result {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("issue 12 tmpfs scenario skipped: mount -t tmpfs is not permitted here: %v %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	r := newRig(t, "tmpfs", rigOpts{sz: sz, be: be, dataDir: dir})
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	const headroom = 96 << 10
	free := int64(fs.Bavail) * int64(fs.Bsize)
	filler := filepath.Join(dir, "filler")
	if free > headroom {
		if err := os.WriteFile(filler, make([]byte, free-headroom), 0o644); err != nil && !strings.Contains(err.Error(), "no space") {
			t.Fatal(err)
		}
	}
	d := newDriver(r.svc, sz.conc, 0)
	calls := d.run(context.Background(), specs("f", sz.calls, []shape{fastStream, fastPlain}, 0))
	full := 0
	for _, c := range calls {
		if c.Status == http.StatusServiceUnavailable {
			full++
		}
	}
	os.Remove(filler)
	r.note("disk filled to %d KiB free after the start; %d calls answered 503; space returned before settling", headroom>>10, full)
	return r.finish(calls)
}

// outagePhases drives paced calls through pass → refuse → reset → 503 →
// pass, each outage phase lasting sz.outage; during will run once in the
// middle of the first outage phase.
func outagePhases(r *rig, sz size, prefix string, during func()) []Call {
	d := newDriver(r.svc, sz.conc, sz.pace)
	phase := sz.outage
	n := int((4*phase + 2*time.Second) / sz.pace)
	done := make(chan []Call)
	go func() { done <- d.run(context.Background(), specs(prefix, n, mixed, sz.stall)) }()
	time.Sleep(time.Second) // warm: keys looked up and cached while Convex answers
	for i, m := range []Mode{Refuse, Reset, Unavailable} {
		if err := r.proxy.Set(m); err != nil {
			r.t.Fatal(err)
		}
		if i == 0 && during != nil {
			time.Sleep(phase / 2)
			during()
			time.Sleep(phase / 2)
		} else {
			time.Sleep(phase)
		}
	}
	if err := r.proxy.Set(Pass); err != nil {
		r.t.Fatal(err)
	}
	calls := <-done
	r.note("Convex outage: refuse, reset and 503 for %s each; %d connections reset or answered 503", phase, r.proxy.Faults.Load())
	return calls
}

// scenarioOutage: Convex unreachable and resetting behind the proxy while
// calls keep coming; a key never used before is tried during the outage.
func scenarioOutage(t *testing.T, sz size, be backend) Result {
	r := newRig(t, "convex-outage", rigOpts{sz: sz, be: &be, proxy: true})
	probeKey := newKey(t, be)
	var probe Call
	calls := outagePhases(r, sz, "o", func() {
		d := newDriver(r.svc, 1, 0)
		probe = d.call(context.Background(), spec{id: "probe", shape: "unknown-key", stream: false, text: "probe [sim:tokens n=2]", key: probeKey})
	})
	r.note("a key unknown to the cache, during the outage: HTTP %d (%s)", probe.Status, probe.ErrorCode)
	if probe.Status != http.StatusServiceUnavailable {
		if why, ok := known["convex-outage/probe"]; ok && os.Getenv("FAULTS") != "full" {
			t.Logf("KNOWN, not asserted in the short run: unknown key during the outage got %d: %s", probe.Status, why)
		} else {
			t.Errorf("unknown key during the outage: HTTP %d, want 503", probe.Status)
		}
	}
	return r.finish(calls)
}

// scenarioConvexKill: Convex goes away (the proxy refuses: a dead
// process), the service is killed -9 during the outage with calls open and
// restarted while Convex is still away, then Convex returns.
func scenarioConvexKill(t *testing.T, sz size, be backend) Result {
	r := newRig(t, "convex-kill", rigOpts{sz: sz, be: &be, proxy: true})
	d := newDriver(r.svc, sz.conc, sz.pace)
	n := int((2*sz.outage + 3*time.Second) / sz.pace)
	done := make(chan []Call)
	// Stalls twice as long as the outage, so that calls made before it are
	// still open when the service is killed in its middle.
	go func() { done <- d.run(context.Background(), specs("c", n, mixed, 2*sz.outage)) }()
	time.Sleep(time.Second)
	if err := r.proxy.Set(Refuse); err != nil {
		t.Fatal(err)
	}
	time.Sleep(sz.outage / 2)
	r.svc.kill()
	outageEnd := time.Now().Add(sz.outage * 3 / 2)
	attempts := 0
	for time.Now().Before(outageEnd) && !r.svc.running() {
		attempts++
		if err := r.svc.start(); err != nil {
			r.note("restart %d during the outage failed: %v", attempts, err)
			time.Sleep(500 * time.Millisecond)
		}
	}
	if d := time.Until(outageEnd); d > 0 {
		time.Sleep(d)
	}
	if err := r.proxy.Set(Pass); err != nil {
		t.Fatal(err)
	}
	if !r.svc.running() {
		r.svc.mustStart()
	}
	return r.finish(<-done)
}

// newKey creates a user and an API key straight in Convex, never used
// before (so not in the service's key cache).
func newKey(t *testing.T, be backend) string {
	t.Helper()
	st := convexstore.New(be.client(t))
	ctx := context.Background()
	u, _, err := st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "faults-probe"})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := auth.IssueKey(ctx, st, u.ID, "probe", false)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
