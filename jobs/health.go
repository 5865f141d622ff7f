package jobs

import (
	"context"
	"time"
)

// HealthCheck checks OpenRouter (reachability and key balance through GET
// /key), the store, the outbox depth and the job lag (how far the slowest
// job's last successful window is behind its schedule) and stores the
// result in systemHealth; llmmeter:overview shows the latest.
type HealthCheck struct {
	Store    Store
	Key      KeySource    // nil: OpenRouter not checked (reported ok=false)
	Outbox   OutboxSource // nil: depth 0
	Sched    *Scheduler   // nil: lag 0
	JobNames []string
	Timeout  time.Duration // per probe; default 10s
}

// Name implements Job.
func (h *HealthCheck) Name() string { return JobHealth }

// CatchUp implements CatchUpper.
func (h *HealthCheck) CatchUp() CatchUp { return CatchUpLatest }

// Run implements Job.
func (h *HealthCheck) Run(ctx context.Context, w Window) (Counts, error) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	probe := func(f func(context.Context) error) error {
		c, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return f(c)
	}
	row := Health{CheckedAt: w.To.UnixMilli(), Details: map[string]any{}}
	if h.Key != nil {
		err := probe(func(c context.Context) error {
			k, err := h.Key.Key(c)
			if err == nil && k.LimitRemaining != nil {
				v := int64(*k.LimitRemaining)
				row.KeyRemainingNanoUsd = &v
			}
			return err
		})
		row.OpenRouterOK = err == nil
		if err != nil {
			row.Details["openrouterError"] = truncate(err.Error(), 300)
		}
	} else {
		row.Details["openrouter"] = "not configured"
	}
	if err := probe(h.Store.Ping); err != nil {
		row.Details["storeError"] = truncate(err.Error(), 300)
	} else {
		row.StoreOK = true
	}
	if h.Outbox != nil {
		if err := probe(func(c context.Context) error {
			s, err := h.Outbox.Stats(c)
			row.OutboxDepth = int64(s.Ready + s.Pending)
			row.Details["outboxDead"] = s.Dead
			row.Details["outboxOldestMs"] = s.OldestMs
			return err
		}); err != nil {
			row.Details["outboxError"] = truncate(err.Error(), 300)
		}
	}
	if h.Sched != nil && row.StoreOK {
		lags := map[string]any{}
		for _, name := range h.JobNames {
			lag, err := h.Sched.Lag(ctx, name, w.To)
			if err != nil {
				continue
			}
			lags[name] = lag.Milliseconds()
			row.JobLagMs = max(row.JobLagMs, lag.Milliseconds())
		}
		row.Details["jobLagMs"] = lags
	}
	err := h.Store.StoreHealth(ctx, row)
	return Counts{"storeOk": b2i(row.StoreOK), "openrouterOk": b2i(row.OpenRouterOK), "outboxDepth": row.OutboxDepth}, err
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
