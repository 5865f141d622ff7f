package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/periods"
)

// Deps are what New wires the jobs to. Leave an interface nil (not a nil
// pointer in an interface) when the dependency is absent.
type Deps struct {
	Store       Store
	Location    *time.Location   // reporting time zone; default UTC
	Key         KeySource        // OpenRouter key balance; nil: no balance alert / health probe
	Generations GenerationSource // OpenRouter generation records; nil: no backfill job
	Outbox      OutboxSource     // nil: no backlog alert / outbox depth
	Notifier    Notifier         // default: webhooks of the config (nil without URLs)
	HTTPClient  *http.Client     // for webhooks
	Log         zerolog.Logger
	Now         func() time.Time                  // default time.Now
	OnRun       func(job string, outcome Outcome) // observes every run (metrics); may be nil
}

// Service is the scheduler with every job of the config.
type Service struct {
	*Scheduler
	cfg Config
	cal *periods.Calendar
	st  Store
}

// New validates cfg and builds the scheduler with all jobs on their
// schedules (parsed here: a bad spec is an error now, not at run time).
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Store == nil {
		return nil, errors.New("jobs: Deps.Store is required")
	}
	if d.Location == nil {
		d.Location = time.UTC
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Notifier == nil {
		if w := NewWebhooks(cfg, d.HTTPClient); w != nil {
			d.Notifier = w
		}
	}
	cal := periods.For(d.Location)
	var send *ReportSender // reports go to the alert webhooks
	if hooks := NewWebhooks(cfg, d.HTTPClient); hooks != nil {
		send = &ReportSender{Hooks: hooks, Store: d.Store, Now: d.Now, Log: d.Log}
	}
	sched, err := NewScheduler(d.Store, SchedulerOptions{Holder: cfg.Holder, LeaseTTL: cfg.LeaseTTL, MaxCatchUp: cfg.MaxCatchUp,
		Location: d.Location, Now: d.Now, Log: d.Log, OnRun: d.OnRun})
	if err != nil {
		return nil, err
	}
	names := []string{JobFold, JobQuotaReset, JobAlerts, JobHealth, JobReportDaily, JobReportWeekly, JobReportRetry, JobForecast}
	if d.Generations != nil {
		names = append(names, JobBackfill)
	}
	all := map[string]Job{
		JobFold:       &Fold{Store: d.Store, Cal: cal},
		JobQuotaReset: &QuotaReset{Store: d.Store, Cal: cal},
		JobAlerts: &Alerts{Store: d.Store, Cal: cal, Cfg: cfg, Key: d.Key, Outbox: d.Outbox, Notifier: d.Notifier,
			JobNames: names, Log: d.Log},
		JobHealth:       &HealthCheck{Store: d.Store, Key: d.Key, Outbox: d.Outbox, Sched: sched, JobNames: names},
		JobReportDaily:  &Reports{Store: d.Store, Cal: cal, Period: periods.Daily, Send: send},
		JobReportWeekly: &Reports{Store: d.Store, Cal: cal, Period: periods.Weekly, Send: send},
		JobReportRetry:  &ReportRetry{Send: send},
		JobForecast:     &Forecasts{Store: d.Store, Cal: cal, HistoryDays: cfg.ForecastHistoryDays},
	}
	if d.Generations != nil {
		all[JobBackfill] = &Backfill{Store: d.Store, Gen: d.Generations, MinAge: cfg.BackfillMinAge, Lookback: cfg.BackfillLookback, Batch: cfg.BackfillBatch}
	}
	for _, n := range names {
		spec := cfg.Schedules[n]
		if spec == "" {
			spec = DefaultSchedules[n]
		}
		if err := sched.Add(all[n], spec); err != nil {
			return nil, err
		}
	}
	return &Service{Scheduler: sched, cfg: cfg, cal: cal, st: d.Store}, nil
}

// Runs lists recorded runs newest first (the CLI's "jobs runs").
func (s *Service) Runs(ctx context.Context, job string, limit int) ([]Run, error) {
	return s.st.Runs(ctx, job, "", limit)
}

// Rebuild recomputes the summaries of every period of kind p that starts
// in [from, to) from raw rows (the CLI's "jobs rebuild"); see Rebuild.
func (s *Service) Rebuild(ctx context.Context, p periods.Period, from, to time.Time) (Counts, error) {
	r := &Rebuild{Store: s.st, Cal: s.cal}
	return r.Recompute(ctx, p, from.UnixMilli(), to.UnixMilli())
}

// Report builds (without storing) the report of kind "daily" or "weekly"
// for the period containing at.
func (s *Service) Report(ctx context.Context, kind string, at time.Time) (Report, error) {
	p := periods.Daily
	switch kind {
	case "daily":
	case "weekly":
		p = periods.Weekly
	default:
		return Report{}, fmt.Errorf("jobs: report kind %q: want daily or weekly", kind)
	}
	return BuildReport(ctx, s.st, s.cal, p, s.cal.Of(p, at.UnixMilli()).Start)
}
