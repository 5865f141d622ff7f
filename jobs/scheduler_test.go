package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"llmmeter/jobs"
)

// probe is a job that records its windows and can block inside Run.
type probe struct {
	name    string
	mu      sync.Mutex
	windows []jobs.Window
	running *atomic.Int32 // shared across replicas: concurrent runs
	maxSeen *atomic.Int32
	entered chan struct{} // receives when Run starts (if non-nil)
	release chan struct{} // Run waits on it (if non-nil)
	fail    bool
}

func (p *probe) Name() string { return p.name }

func (p *probe) Run(ctx context.Context, w jobs.Window) (jobs.Counts, error) {
	n := p.running.Add(1)
	defer p.running.Add(-1)
	for {
		m := p.maxSeen.Load()
		if n <= m || p.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	if p.entered != nil {
		p.entered <- struct{}{}
	}
	if p.release != nil {
		select {
		case <-p.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p.mu.Lock()
	p.windows = append(p.windows, w)
	p.mu.Unlock()
	if p.fail {
		return jobs.Counts{"x": 1}, errors.New("boom")
	}
	return jobs.Counts{"x": 1}, nil
}

func newProbe(name string) *probe {
	return &probe{name: name, running: &atomic.Int32{}, maxSeen: &atomic.Int32{}}
}

func futureHour() time.Time {
	return time.Now().Add(400 * 24 * time.Hour).Truncate(time.Hour).UTC()
}

// TestTwoSchedulersOneStore: while replica A runs a job, replica B (another
// store handle on the same data) records a skipped run and never enters
// the job; afterwards B finds nothing due, because A covered the window.
func TestTwoSchedulersOneStore(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		clk := &clock{}
		clk.Set(futureHour().Add(30 * time.Minute))
		pa, pb := newProbe("probe"), newProbe("probe")
		pb.running, pb.maxSeen = pa.running, pa.maxSeen
		pa.entered, pa.release = make(chan struct{}), make(chan struct{})
		a := newScheduler(t, e.st, time.UTC, clk, "replica-a")
		b := newScheduler(t, e.second(t), time.UTC, clk, "replica-b")
		a.Add(pa, "0 * * * *")
		b.Add(pb, "0 * * * *")
		done := make(chan error, 1)
		go func() { _, err := a.RunDue(ctx, "probe"); done <- err }()
		<-pa.entered
		runs, err := b.RunDue(ctx, "probe")
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 1 || runs[0].Outcome != jobs.OutcomeSkipped {
			t.Fatalf("B while A runs: %+v, want one skipped run", runs)
		}
		close(pa.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if runs, err := b.RunDue(ctx, "probe"); err != nil || len(runs) != 0 {
			t.Fatalf("B after A: %+v %v, want nothing due", runs, err)
		}
		if len(pa.windows) != 1 || len(pb.windows) != 0 || pa.maxSeen.Load() != 1 {
			t.Fatalf("A ran %d, B ran %d, max concurrent %d", len(pa.windows), len(pb.windows), pa.maxSeen.Load())
		}
		all, err := e.st.Runs(ctx, "probe", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 {
			t.Fatalf("recorded runs %+v, want success + skipped", all)
		}
		// Both race for the next window: exactly one runs it.
		clk.Add(time.Hour)
		pa.entered, pa.release = nil, nil
		var wg sync.WaitGroup
		for _, s := range []*jobs.Scheduler{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); s.RunDue(ctx, "probe") }()
		}
		wg.Wait()
		if got := len(pa.windows) + len(pb.windows); got != 2 || pa.maxSeen.Load() != 1 {
			t.Fatalf("after the race: %d windows run, max concurrent %d; want 2 and 1", got, pa.maxSeen.Load())
		}
	})
}

// TestLeaseOfCrashedHolderExpires uses the SQLite engine, whose lease
// expiry follows the injected clock (Convex's follows its own).
func TestLeaseOfCrashedHolderExpires(t *testing.T) {
	e := sqliteEngine(t, time.UTC)
	clk := &clock{}
	clk.Set(futureHour().Add(10 * time.Minute))
	ok, err := e.st.AcquireLease(ctx, jobs.Lease{Job: "probe", Holder: "crashed", TTL: 2 * time.Minute, Now: clk.Now()})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	p := newProbe("probe")
	s := newScheduler(t, e.st, time.UTC, clk, "replica-b")
	s.Add(p, "0 * * * *")
	clk.Add(time.Minute)
	if runs, _ := s.RunDue(ctx, "probe"); len(runs) != 1 || runs[0].Outcome != jobs.OutcomeSkipped {
		t.Fatalf("before expiry: %+v", runs)
	}
	if _, err := s.RunOnce(ctx, "probe"); !errors.Is(err, jobs.ErrLeaseHeld) {
		t.Fatalf("RunOnce under a held lease: %v", err)
	}
	clk.Add(2 * time.Minute)
	if runs, err := s.RunDue(ctx, "probe"); err != nil || len(runs) != 1 || runs[0].Outcome != jobs.OutcomeSuccess {
		t.Fatalf("after expiry: %+v %v", runs, err)
	}
}

// TestCatchUpAfterGap: a scheduler started after a gap runs each missed
// window in order (Start's catch-up), at most MaxCatchUp, the oldest merged.
func TestCatchUpAfterGap(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		clk := &clock{}
		t0 := futureHour()
		clk.Set(t0.Add(5 * time.Minute))
		first := newProbe("hourly")
		s1 := newScheduler(t, e.st, time.UTC, clk, "replica-a")
		s1.Add(first, "0 * * * *")
		if runs, err := s1.RunDue(ctx, "hourly"); err != nil || len(runs) != 1 {
			t.Fatalf("first run: %+v %v", runs, err)
		}
		// Down for 5 hours; a new process starts.
		clk.Set(t0.Add(5*time.Hour + 7*time.Minute))
		p := newProbe("hourly")
		p.entered = make(chan struct{}, 100)
		s2, err := jobs.NewScheduler(e.st, jobs.SchedulerOptions{Holder: "replica-b", LeaseTTL: time.Minute, MaxCatchUp: 3, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		s2.Add(p, "0 * * * *")
		s2.Start(ctx)
		for range 3 {
			select {
			case <-p.entered:
			case <-time.After(30 * time.Second):
				t.Fatal("catch-up did not run")
			}
		}
		s2.Stop()
		if len(p.windows) != 3 {
			t.Fatalf("windows %v, want 3 (MaxCatchUp)", p.windows)
		}
		// The oldest missed windows are merged into the first one.
		want := []jobs.Window{{From: t0, To: t0.Add(3 * time.Hour)}, {From: t0.Add(3 * time.Hour), To: t0.Add(4 * time.Hour)}, {From: t0.Add(4 * time.Hour), To: t0.Add(5 * time.Hour)}}
		for i, w := range want {
			if !p.windows[i].From.Equal(w.From) || !p.windows[i].To.Equal(w.To) {
				t.Fatalf("window %d = %v..%v, want %v..%v", i, p.windows[i].From, p.windows[i].To, w.From, w.To)
			}
		}
		// Lag is zero once caught up; a failing run does not advance.
		if lag, err := s2.Lag(ctx, "hourly", clk.Now()); err != nil || lag != 0 {
			t.Fatalf("lag %v %v", lag, err)
		}
		clk.Add(time.Hour)
		p.fail, p.entered = true, nil
		if _, err := s2.RunDue(ctx, "hourly"); err == nil {
			t.Fatal("failing run: no error")
		}
		if lag, _ := s2.Lag(ctx, "hourly", clk.Now()); lag != time.Hour {
			t.Fatalf("lag after failure %v, want 1h", lag)
		}
		p.fail = false
		if runs, err := s2.RunDue(ctx, "hourly"); err != nil || len(runs) != 1 {
			t.Fatalf("retry: %+v %v", runs, err)
		}
	})
}

// TestPanickingJobIsRecorded: a panic becomes a failed run.
func TestPanickingJobIsRecorded(t *testing.T) {
	e := sqliteEngine(t, time.UTC)
	clk := &clock{}
	clk.Set(futureHour())
	s := newScheduler(t, e.st, time.UTC, clk, "a")
	s.Add(panicker{}, "@hourly")
	if _, err := s.RunDue(ctx, "panicker"); err == nil {
		t.Fatal("no error")
	}
	runs, _ := e.st.Runs(ctx, "panicker", jobs.OutcomeFailure, 1)
	if len(runs) != 1 || runs[0].Error == "" {
		t.Fatalf("runs %+v", runs)
	}
}

type panicker struct{}

func (panicker) Name() string { return "panicker" }
func (panicker) Run(context.Context, jobs.Window) (jobs.Counts, error) {
	panic("kaboom")
}

// TestScheduleThatNeverFires: a spec that parses but matches no date
// ("0 0 30 2 *", February 30th) is refused by the config and by Add, with
// a message that says so. Before, it was accepted, and the first tick
// looped for ever looking for its latest schedule time while renewing the
// job's lease, so no replica ran the job again.
func TestScheduleThatNeverFires(t *testing.T) {
	for _, spec := range []string{"0 0 30 2 *", "0 0 31 4 *"} {
		env := map[string]string{"JOBS_SCHEDULE_REPORT_DAILY": spec}
		_, err := jobs.ConfigFromEnv(func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), "JOBS_SCHEDULE_REPORT_DAILY") || !strings.Contains(err.Error(), "never fires") {
			t.Errorf("config with %q: %v, want an error naming JOBS_SCHEDULE_REPORT_DAILY that says it never fires", spec, err)
		}
		e := sqliteEngine(t, time.UTC)
		clk := &clock{}
		clk.Set(futureHour())
		s := newScheduler(t, e.st, time.UTC, clk, "replica")
		err = s.Add(newProbe("probe"), spec)
		if err == nil || !strings.Contains(err.Error(), "never fires") {
			t.Fatalf("Add(%q): %v, want never fires", spec, err)
		}
	}
	// Rare but real dates still pass: February 29th fires every 4 years.
	env := map[string]string{"JOBS_SCHEDULE_REPORT_DAILY": "0 0 29 2 *"}
	if _, err := jobs.ConfigFromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatalf("0 0 29 2 *: %v", err)
	}
}
