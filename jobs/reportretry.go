package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"llmmeter/internal/store"
)

// The retry of a report delivery that failed: after a wait that doubles
// from retryMinWait (the time since the first try, so no round counter is
// stored) up to retryMaxWait, for retryFor after the first try; then the
// delivery is given up.
const (
	retryMinWait = 5 * time.Minute
	retryMaxWait = 4 * time.Hour
	retryFor     = 24 * time.Hour
	// retryScan is how many of the newest reports each run looks at: a
	// day's and a week's reports for weeks, far past retryFor.
	retryScan = 40
)

// gaveUp starts the error of a delivery given up.
const gaveUp = "gave up: "

// ReportRetry sends stored reports again to the webhooks that refused
// them, and only to those: a delivery is remembered per (report, webhook)
// with the report (ReportDelivery, Target names the webhook), so a webhook
// that took a report never gets it again. Each failed delivery is tried
// again after its wait until retryFor has passed since its first try, then
// given up: its error says so and the run that gives up fails. A run fails
// too while any delivery is still failing, so that a webhook that stays
// down raises the job_failure alert; the window counts as covered either
// way (WindowDone). Deliveries to webhooks no longer configured, and those
// recorded before retries existed (no FirstAt), are left as they are.
type ReportRetry struct {
	Send *ReportSender // nil: no webhooks, nothing to retry
}

// Name implements Job.
func (r *ReportRetry) Name() string { return JobReportRetry }

// CatchUp implements CatchUpper: only the present state matters.
func (r *ReportRetry) CatchUp() CatchUp { return CatchUpLatest }

// Run implements Job.
func (r *ReportRetry) Run(ctx context.Context, _ Window) (Counts, error) {
	counts := Counts{}
	if r.Send == nil {
		return counts, nil
	}
	reps, err := r.Send.Store.UndeliveredReports(ctx, retryScan)
	if err != nil {
		return counts, fmt.Errorf("undelivered reports: %w", err)
	}
	var errs []error
	for _, rep := range reps {
		errs = append(errs, r.Send.redeliver(ctx, rep, counts))
	}
	return counts, WindowDone(errors.Join(errs...))
}

// redeliver tries rep again on its failed deliveries that are due, gives
// up those past retryFor, and records the outcome; it returns why rep is
// not delivered everywhere yet.
func (s *ReportSender) redeliver(ctx context.Context, rep store.UndeliveredReport, counts Counts) error {
	urls := map[string]string{} // target → URL
	for _, u := range s.Hooks.URLs {
		urls[hookTarget(u)] = u
	}
	name := rep.Kind + " " + rep.PeriodKey
	body, err := json.Marshal(ReportSummary(Report{Kind: rep.Kind, PeriodKey: rep.PeriodKey, Body: rep.Body}))
	if err != nil {
		return fmt.Errorf("report %s summary: %w", name, err)
	}
	out := slices.Clone(rep.Deliveries)
	changed := false
	var errs []error
	for i, d := range out {
		u, ours := urls[d.Target]
		end := d.FirstAt + retryFor.Milliseconds()
		if d.Status != DeliveryFailed || !ours || d.FirstAt == 0 || d.At >= end {
			continue // delivered, to a webhook no longer configured, from before retries, or given up
		}
		now := s.now().UnixMilli()
		if now < end {
			if wait := min(max(d.At-d.FirstAt, retryMinWait.Milliseconds()), retryMaxWait.Milliseconds()); now-d.At < wait {
				counts["waiting"]++
				errs = append(errs, fmt.Errorf("report %s: %s; tried again after %s", name, d.Error, time.UnixMilli(d.At+wait).UTC().Format(time.RFC3339)))
				continue
			}
			d = s.deliver(ctx, name, u, body, d)
			counts["retried"]++
			counts[d.Status]++
		}
		switch {
		case d.Status == DeliveryDelivered:
		case now < end && d.At < end:
			errs = append(errs, fmt.Errorf("report %s: %s; tried again later", name, d.Error))
		default: // past retryFor: the last try failed, or none was made in time
			d.At, d.Error = max(d.At, now), truncate(gaveUp+d.Error, 300)
			counts["gaveUp"]++
			s.Log.Error().Str("report", name).Str("target", d.Target).Int("attempts", d.Attempts).Msg("report delivery given up")
			errs = append(errs, fmt.Errorf("report %s: %s (%d attempts in %s)", name, d.Error, d.Attempts, retryFor))
		}
		out[i], changed = d, true
	}
	if changed {
		if err := s.Store.RecordReportDelivery(ctx, rep.Kind, rep.PeriodKey, out); err != nil {
			errs = append(errs, fmt.Errorf("record report delivery: %w", err))
		}
	}
	return errors.Join(errs...)
}
