package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"
)

// Job is one kind of scheduled work. Run covers the window w: it does what
// became due in [w.From, w.To), with w.To taken as "now". It must be safe to
// run again over the same window (every write is idempotent).
type Job interface {
	Name() string
	Run(ctx context.Context, w Window) (Counts, error)
}

// Window is the span of scheduled time one run covers.
type Window struct {
	From, To time.Time
}

// CatchUp says how a job makes up for missed schedule times.
type CatchUp int

const (
	// CatchUpEach runs every missed window in order (roll-ups, resets,
	// reports): each has its own work.
	CatchUpEach CatchUp = iota
	// CatchUpLatest runs once over the whole gap (alerts, health,
	// forecasts): only the present state matters.
	CatchUpLatest
)

// CatchUpper is implemented by jobs that want CatchUpLatest.
type CatchUpper interface{ CatchUp() CatchUp }

// ErrUnknownJob is returned by RunOnce for a name no job has.
var ErrUnknownJob = errors.New("jobs: unknown job")

// ErrLeaseHeld is returned by RunOnce when another holder runs the job.
var ErrLeaseHeld = errors.New("jobs: lease held by another replica")

// WindowDone marks a job's error as one that running the window again
// would not mend and would repeat what succeeded: a report stored and sent
// to every webhook but one that refused it. The run is recorded as a
// failure (so the job_failure alert counts it) with the count windowDone,
// and the window counts as covered: the later windows run, and the webhooks
// that took the report do not get it again at every tick.
func WindowDone(err error) error {
	if err == nil {
		return nil
	}
	return &windowDoneError{err}
}

type windowDoneError struct{ err error }

func (e *windowDoneError) Error() string { return e.err.Error() }
func (e *windowDoneError) Unwrap() error { return e.err }

// countWindowDone is the run count that marks a failed run whose window is
// covered (WindowDone).
const countWindowDone = "windowDone"

// SchedulerOptions configure a Scheduler.
type SchedulerOptions struct {
	Holder     string        // lease holder id; required
	LeaseTTL   time.Duration // default 2m
	MaxCatchUp int           // default 48
	Location   *time.Location
	Now        func() time.Time // default time.Now
	Log        zerolog.Logger
	// OnRun, when set, observes every recorded run (metrics).
	OnRun func(job string, outcome Outcome)
}

type entry struct {
	job     Job
	spec    string
	sched   cron.Schedule
	catchUp CatchUp
	mu      sync.Mutex // one run of this job per process at a time
	wrapped cron.Job
}

// Scheduler runs jobs on their cron schedules, one replica at a time per
// job (a lease in the store), records every run, and on start catches up
// windows missed while no replica ran (computed from the stored last
// successful run and the clock, as the Kubernetes CronJob controller does,
// bounded by MaxCatchUp).
type Scheduler struct {
	st      Store
	opt     SchedulerOptions
	log     zerolog.Logger
	now     func() time.Time
	entries map[string]*entry
	order   []string
	cron    *cron.Cron

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewScheduler returns a scheduler without jobs.
func NewScheduler(st Store, opt SchedulerOptions) (*Scheduler, error) {
	if opt.Holder == "" {
		return nil, errors.New("jobs: scheduler needs a holder id")
	}
	if opt.LeaseTTL == 0 {
		opt.LeaseTTL = 2 * time.Minute
	}
	if opt.MaxCatchUp <= 0 {
		opt.MaxCatchUp = 48
	}
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Scheduler{st: st, opt: opt, log: opt.Log, now: opt.Now, entries: map[string]*entry{}}
	// No cron.WithChain: Start wraps each job in the chain itself, once,
	// so that the catch-up run and the ticks share it (Schedule would wrap
	// the wrapped job a second time).
	s.cron = cron.New(cron.WithParser(cronParser), cron.WithLocation(opt.Location), cron.WithLogger(cronLogger{s.log}))
	return s, nil
}

// Add registers job on spec (parsed now; an invalid spec is an error).
func (s *Scheduler) Add(job Job, spec string) error {
	if _, dup := s.entries[job.Name()]; dup {
		return fmt.Errorf("jobs: job %q added twice", job.Name())
	}
	sched, err := parseSchedule(spec)
	if err != nil {
		return fmt.Errorf("jobs: schedule of %s %q: %w", job.Name(), spec, err)
	}
	e := &entry{job: job, spec: spec, sched: sched}
	if c, ok := job.(CatchUpper); ok {
		e.catchUp = c.CatchUp()
	}
	s.entries[job.Name()] = e
	s.order = append(s.order, job.Name())
	return nil
}

// Jobs lists the registered job names in the order added.
func (s *Scheduler) Jobs() []string { return slices.Clone(s.order) }

// Start catches up missed windows in the background and starts the cron.
func (s *Scheduler) Start(ctx context.Context) {
	s.ctx, s.cancel = context.WithCancel(ctx)
	for _, name := range s.order {
		e := s.entries[name]
		// The one chain, around each job once, so that it covers both the
		// catch-up run and the cron's ticks: SkipIfStillRunning outside,
		// Recover (robfig/cron's default chain has none) inside. In the
		// other order a panic unwinds through SkipIfStillRunning, which then
		// never gets its token back and skips the job for good.
		e.wrapped = cron.NewChain(cron.SkipIfStillRunning(cronLogger{s.log}), cron.Recover(cronLogger{s.log})).
			Then(cron.FuncJob(func() { s.tick(e) }))
		s.cron.Schedule(e.sched, e.wrapped)
		s.wg.Add(1)
		go func() { defer s.wg.Done(); e.wrapped.Run() }()
	}
	s.cron.Start()
}

// Stop stops the cron, cancels running jobs and waits for them to end.
func (s *Scheduler) Stop() {
	if s.cancel == nil {
		return
	}
	done := s.cron.Stop().Done()
	s.cancel()
	<-done
	s.wg.Wait()
}

func (s *Scheduler) tick(e *entry) {
	if _, err := s.runDue(s.ctx, e); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error().Err(err).Str("job", e.job.Name()).Msg("job run failed")
	}
}

// RunDue runs the windows of job name that are due by the clock (all of
// them, bounded by MaxCatchUp); it is what each cron tick does, exported so
// that tests with an injected clock drive the scheduler without real time.
func (s *Scheduler) RunDue(ctx context.Context, name string) ([]Run, error) {
	e := s.entries[name]
	if e == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownJob, name)
	}
	return s.runDue(ctx, e)
}

// RunAllDue calls RunDue for every job in order and joins the errors.
func (s *Scheduler) RunAllDue(ctx context.Context) error {
	var errs []error
	for _, n := range s.order {
		if _, err := s.RunDue(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RunOnce runs job name now, over the window since its last successful
// run, whatever its schedule (the CLI's "jobs run NAME").
func (s *Scheduler) RunOnce(ctx context.Context, name string) (Run, error) {
	e := s.entries[name]
	if e == nil {
		return Run{}, fmt.Errorf("%w: %q", ErrUnknownJob, name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out Run
	err := s.withLease(ctx, e, func(ctx context.Context) error {
		last, ok, err := s.lastCovered(ctx, e)
		if err != nil {
			return err
		}
		now := s.now()
		from := now.Add(-s.nominal(e, now))
		if ok && last.Before(now) {
			from = last
		}
		out, err = s.runWindow(ctx, e, Window{From: from, To: now})
		return err
	})
	if errors.Is(err, ErrLeaseHeld) {
		out = s.record(ctx, e, s.now(), s.now(), Window{To: s.now()}, OutcomeSkipped, nil, ErrLeaseHeld)
	}
	return out, err
}

func (s *Scheduler) runDue(ctx context.Context, e *entry) ([]Run, error) {
	if !e.mu.TryLock() {
		return nil, nil // already running in this process
	}
	defer e.mu.Unlock()
	var runs []Run
	err := s.withLease(ctx, e, func(ctx context.Context) error {
		// Windows are computed under the lease, so a replica that ran
		// just before us is seen and nothing runs twice.
		windows, err := s.dueWindows(ctx, e)
		if err != nil {
			return err
		}
		var done []error
		for _, w := range windows {
			r, err := s.runWindow(ctx, e, w)
			runs = append(runs, r)
			if _, ok := errors.AsType[*windowDoneError](err); ok {
				done = append(done, err)
				continue
			}
			if err != nil {
				return err // later windows wait: the failed one runs again first
			}
		}
		return errors.Join(done...)
	})
	if errors.Is(err, ErrLeaseHeld) {
		now := s.now()
		runs = append(runs, s.record(ctx, e, now, now, Window{To: now}, OutcomeSkipped, nil, err))
		return runs, nil
	}
	return runs, err
}

// withLease runs fn holding the job's lease (holdLease).
func (s *Scheduler) withLease(ctx context.Context, e *entry, fn func(context.Context) error) error {
	return holdLease(ctx, s.st, Lease{Job: e.job.Name(), Holder: s.opt.Holder, TTL: s.opt.LeaseTTL}, s.now, s.log, fn)
}

// holdLease runs fn holding the lease l (l.Now is set from now), renewing
// it every TTL/3 and cancelling fn's context if the lease is lost, and
// releases it after; ErrLeaseHeld, without running fn, when another
// holder has it. The scheduler holds a job's lease with it, a report
// sender a report's (reportdelivery.go).
func holdLease(ctx context.Context, st Store, l Lease, now func() time.Time, log zerolog.Logger, fn func(context.Context) error) error {
	l.Now = now()
	ok, err := st.AcquireLease(ctx, l)
	if err != nil {
		return fmt.Errorf("jobs: %s: acquire lease: %w", l.Job, err)
	}
	if !ok {
		return ErrLeaseHeld
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	stop := make(chan struct{})
	var hb sync.WaitGroup
	hb.Add(1)
	go func() {
		defer hb.Done()
		t := time.NewTicker(l.TTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				l.Now = now()
				if ok, err := st.RenewLease(runCtx, l); err != nil || !ok {
					cancel(fmt.Errorf("jobs: %s: lease lost (err %v)", l.Job, err))
					return
				}
			}
		}
	}()
	err = fn(runCtx)
	close(stop)
	hb.Wait()
	cancel(nil)
	l.Now = now()
	relCtx, relCancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer relCancel()
	if rerr := st.ReleaseLease(relCtx, l); rerr != nil {
		log.Warn().Err(rerr).Str("job", l.Job).Msg("release lease")
	}
	return err
}

// lastCovered is the end of the window of the job's last successful run.
func (s *Scheduler) lastCovered(ctx context.Context, e *entry) (time.Time, bool, error) {
	// Runs of one catch-up can share a startedAt, so look at a few and
	// take the furthest window end.
	runs, err := s.st.Runs(ctx, e.job.Name(), OutcomeSuccess, 10)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("jobs: %s: last run: %w", e.job.Name(), err)
	}
	// Failed runs that covered their window all the same (WindowDone).
	failed, err := s.st.Runs(ctx, e.job.Name(), OutcomeFailure, 10)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("jobs: %s: last run: %w", e.job.Name(), err)
	}
	for _, r := range failed {
		if r.Counts[countWindowDone] == 1 && r.WindowTo != 0 {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return time.Time{}, false, nil
	}
	var last int64
	for _, r := range runs {
		to := r.WindowTo
		if to == 0 {
			// A run recorded before windows had fields of their own.
			if legacy, ok := r.Counts["windowTo"]; ok {
				to = legacy
			} else {
				to = r.StartedAt
			}
		}
		last = max(last, to)
	}
	return time.UnixMilli(last), true, nil
}

// nominal is the gap between the schedule times around now.
func (s *Scheduler) nominal(e *entry, now time.Time) time.Duration {
	n1 := e.sched.Next(now.In(s.opt.Location))
	return e.sched.Next(n1).Sub(n1)
}

// latestAtOrBefore is the last schedule time <= now.
func (s *Scheduler) latestAtOrBefore(e *entry, now time.Time) (time.Time, bool) {
	now = now.In(s.opt.Location)
	for _, back := range []time.Duration{time.Hour, 25 * time.Hour, 8 * 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour} {
		t := e.sched.Next(now.Add(-back).Add(-time.Second))
		if t.After(now) {
			continue
		}
		for {
			n := e.sched.Next(t)
			if n.After(now) || n.IsZero() { // zero: no later time at all
				return t, true
			}
			t = n
		}
	}
	return time.Time{}, false
}

// dueWindows computes the windows to run: from the last covered time to
// the latest schedule time <= now, one per schedule time (CatchUpEach,
// at most MaxCatchUp, the oldest merged) or one in all (CatchUpLatest).
// Without a previous run the job runs once, for the latest schedule time.
func (s *Scheduler) dueWindows(ctx context.Context, e *entry) ([]Window, error) {
	now := s.now()
	latest, ok := s.latestAtOrBefore(e, now)
	if !ok {
		return nil, nil
	}
	last, had, err := s.lastCovered(ctx, e)
	if err != nil {
		return nil, err
	}
	if !had {
		return []Window{{From: latest.Add(-s.nominal(e, latest)), To: latest}}, nil
	}
	if !latest.After(last) {
		return nil, nil
	}
	if e.catchUp == CatchUpLatest {
		return []Window{{From: last, To: latest}}, nil
	}
	var times []time.Time
	dropped := false
	for t, n := e.sched.Next(last.In(s.opt.Location)), 0; !t.After(latest) && n < 2_000_000; t, n = e.sched.Next(t), n+1 {
		times = append(times, t)
		if len(times) > s.opt.MaxCatchUp {
			times = times[1:]
			dropped = true
		}
	}
	if dropped {
		s.log.Warn().Str("job", e.job.Name()).Int("maxCatchUp", s.opt.MaxCatchUp).Msg("more missed windows than MaxCatchUp; the oldest are merged into one")
	}
	windows := make([]Window, len(times))
	from := last
	for i, t := range times {
		windows[i] = Window{From: from, To: t}
		from = t
	}
	return windows, nil
}

func (s *Scheduler) runWindow(ctx context.Context, e *entry, w Window) (Run, error) {
	start := s.now()
	counts, err := safeRun(ctx, e.job, w)
	outcome := OutcomeSuccess
	if err != nil {
		outcome = OutcomeFailure
	}
	if _, ok := errors.AsType[*windowDoneError](err); ok {
		c := Counts{countWindowDone: 1}
		for k, v := range counts {
			c[k] = v
		}
		counts = c
	}
	r := s.record(ctx, e, start, s.now(), w, outcome, counts, err)
	if err != nil {
		return r, fmt.Errorf("jobs: %s: %w", e.job.Name(), err)
	}
	return r, nil
}

func safeRun(ctx context.Context, j Job, w Window) (c Counts, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return j.Run(ctx, w)
}

func (s *Scheduler) record(ctx context.Context, e *entry, start, end time.Time, w Window, o Outcome, counts Counts, runErr error) Run {
	c := Counts{}
	for k, v := range counts {
		c[k] = v
	}
	r := Run{Job: e.job.Name(), StartedAt: start.UnixMilli(), EndedAt: max(end.UnixMilli(), start.UnixMilli()), Outcome: o, Counts: c,
		WindowTo: w.To.UnixMilli()}
	if !w.From.IsZero() {
		r.WindowFrom = w.From.UnixMilli()
	}
	if runErr != nil {
		r.Error = truncate(runErr.Error(), 4000)
	}
	recCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := s.st.RecordRun(recCtx, r); err != nil {
		s.log.Error().Err(err).Str("job", r.Job).Msg("record run")
	}
	if s.opt.OnRun != nil {
		s.opt.OnRun(r.Job, o)
	}
	ev := s.log.Info()
	if o == OutcomeFailure {
		ev = s.log.Error().Str("error", r.Error)
	}
	ev.Str("job", r.Job).Str("outcome", string(o)).Time("windowTo", w.To).Msg("job run")
	return r
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

type cronLogger struct{ l zerolog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug().Fields(kv).Msg("cron: " + msg) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error().Err(err).Fields(kv).Msg("cron: " + msg)
}

// Lag is how far job name's last successful window end is behind the
// latest schedule time at now (0 when up to date or never run).
func (s *Scheduler) Lag(ctx context.Context, name string, now time.Time) (time.Duration, error) {
	e := s.entries[name]
	if e == nil {
		return 0, fmt.Errorf("%w: %q", ErrUnknownJob, name)
	}
	last, ok, err := s.lastCovered(ctx, e)
	if err != nil || !ok {
		return 0, err
	}
	latest, ok := s.latestAtOrBefore(e, now)
	if !ok || !latest.After(last) {
		return 0, nil
	}
	return latest.Sub(last), nil
}
