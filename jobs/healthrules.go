package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The health alert rules: the conditions of the service itself, as
// opposed to its users' (quotas, budgets, error rate). Each follows the
// alert lifecycle of Alerts (one live row per condition key, escalating in
// place). Their alert types are the health panel's checks:
//
//	openrouter_unreachable  GET /key fails                     critical
//	key_balance             credit left < KeyBalanceMinNanoUsd  warning;
//	                        under a fifth of it                 critical
//	delivery_backlog        depth >= OutboxMaxDepth or age >=    warning;
//	                        OutboxMaxAge; 10× depth or 6× age   critical
//	job_failure             the last JobFailureRuns runs failed warning;
//	                        twice as many                       critical
const (
	AlertOpenRouterUnreachable = "openrouter_unreachable"
	AlertKeyBalance            = "key_balance"
	AlertDeliveryBacklog       = "delivery_backlog"
	AlertJobFailure            = "job_failure"
)

// errInputDown marks a family left unevaluated because its input is down,
// a state another condition already reports (OpenRouter unreachable): the
// family is neither opened nor resolved, and the run does not fail for it.
var errInputDown = errors.New("input down")

// openrouterConditions probes GET /key once. "openrouter:reachable" fires
// when the probe fails; the balance condition is read from its answer and
// left as it stands (neither opened nor resolved) while OpenRouter cannot
// be reached.
func (a *Alerts) openrouterConditions(ctx context.Context, _ time.Time, add func(condition)) error {
	if a.Key == nil {
		return nil
	}
	k, err := a.Key.Key(ctx)
	reach := Alert{ConditionKey: "openrouter:reachable", AlertType: AlertOpenRouterUnreachable, Severity: SeverityCritical,
		Message: "OpenRouter is reachable", Metadata: map[string]any{}}
	if err != nil {
		// The client's errors carry no key; the cause is kept short.
		reach.Message = "OpenRouter is unreachable: " + truncate(err.Error(), 200)
		add(condition{firing: true, Alert: reach})
		return fmt.Errorf("%w: openrouter: %v", errInputDown, err)
	}
	add(condition{Alert: reach})
	if k.LimitRemaining == nil {
		// No credit limit: nothing to run out of.
		add(condition{Alert: Alert{ConditionKey: "balance:openrouter", AlertType: AlertKeyBalance}})
		return nil
	}
	remaining, floor := int64(*k.LimitRemaining), a.Cfg.KeyBalanceMinNanoUsd
	sev := SeverityWarning
	if remaining*5 < floor {
		sev = SeverityCritical
	}
	add(condition{firing: remaining < floor, Alert: Alert{
		ConditionKey: "balance:openrouter", AlertType: AlertKeyBalance, Severity: sev,
		Message:  fmt.Sprintf("OpenRouter key balance %s is below %s", formatUSD(remaining), formatUSD(floor)),
		Metadata: map[string]any{"remainingNanoUsd": remaining, "minNanoUsd": floor},
	}})
	return nil
}

func (a *Alerts) backlogCondition(ctx context.Context, _ time.Time, add func(condition)) error {
	if a.Outbox == nil {
		return nil
	}
	s, err := a.Outbox.Stats(ctx)
	if err != nil {
		return err
	}
	depth := s.Ready + s.Pending
	age := time.Duration(s.OldestMs) * time.Millisecond
	sev := SeverityWarning
	if depth >= 10*a.Cfg.OutboxMaxDepth || age >= 6*a.Cfg.OutboxMaxAge {
		sev = SeverityCritical
	}
	add(condition{firing: depth >= a.Cfg.OutboxMaxDepth || age >= a.Cfg.OutboxMaxAge, Alert: Alert{
		ConditionKey: "backlog:outbox", AlertType: AlertDeliveryBacklog, Severity: sev,
		Message: fmt.Sprintf("delivery backlog: %s entries waiting (threshold %s), oldest %s", formatCount(int64(depth)),
			formatCount(int64(a.Cfg.OutboxMaxDepth)), formatDuration(age)),
		Metadata: map[string]any{"ready": s.Ready, "pending": s.Pending, "dead": s.Dead, "oldestMs": s.OldestMs, "maxDepth": a.Cfg.OutboxMaxDepth},
	}})
	return nil
}

// jobConditions: a job whose last JobFailureRuns runs (skipped runs not
// counted) all failed. One failure is often a blip (a deploy, a timeout)
// that the next run repairs; a run of them is not.
func (a *Alerts) jobConditions(ctx context.Context, _ time.Time, add func(condition)) error {
	n := max(a.Cfg.JobFailureRuns, 1)
	for _, name := range a.JobNames {
		if name == JobAlerts {
			continue // its own failure cannot be reported by itself
		}
		runs, err := a.Store.Runs(ctx, name, "", 4*n+10)
		if err != nil {
			return err
		}
		failed, lastErr := 0, ""
		for _, r := range runs {
			if r.Outcome == OutcomeSkipped {
				continue
			}
			if r.Outcome != OutcomeFailure {
				break
			}
			if failed == 0 {
				lastErr = r.Error
			}
			failed++
		}
		sev := SeverityWarning
		if failed >= 2*n {
			sev = SeverityCritical
		}
		msg := "job " + name + " is healthy"
		if failed >= n {
			msg = fmt.Sprintf("job %s failed %d times in a row: %s", name, failed, truncate(lastErr, 500))
		}
		add(condition{firing: failed >= n, Alert: Alert{ConditionKey: "job:" + name, AlertType: AlertJobFailure, Severity: sev, Message: msg,
			Metadata: map[string]any{"job": name, "consecutiveFailures": failed, "threshold": n}}})
	}
	return nil
}
