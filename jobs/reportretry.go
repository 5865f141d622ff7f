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
	// retryLookback is how long past its retry deadline a report is still
	// read: a delivery whose window ended is given up (and the run fails)
	// at the first run after, which a job down for up to this long still
	// makes. Past it, a delivery to a webhook no longer configured, which
	// is never given up, is no longer read either.
	retryLookback = 7 * 24 * time.Hour
	// retryPage is the page size of the due reports' listing.
	retryPage = 100
	// retryMaxPages bounds one run's listing (a million reports due).
	retryMaxPages = 10_000
	// retryScan is how many of the newest reports the first run of a
	// process reads for reports recorded before retry deadlines existed
	// (the way every run found them before).
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
//
// The reports come from an index of the retry deadline recorded with the
// deliveries (DueReportDeliveries), so every report in its window is
// found, however many newer reports there are (a catch-up stores dozens at
// once). Each is read and sent under its delivery lease, which the report
// jobs hold too; a report that another run is sending is left to it
// (counted busy) and looked at again by the next run.
type ReportRetry struct {
	Send *ReportSender // nil: no webhooks, nothing to retry

	// legacyRead: this process read the newest reports for those recorded
	// without a retry deadline (UndeliveredReports); once is enough, as
	// the run records their deadline.
	legacyRead bool
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
	keys, err := r.due(ctx)
	if err != nil {
		return counts, err
	}
	var errs []error
	for _, k := range keys {
		err := r.Send.withReport(ctx, k.Kind, k.PeriodKey, func(ctx context.Context) error {
			// Read under the lease: what another run recorded is seen.
			rep, err := r.Send.Store.ReportDeliveries(ctx, k.Kind, k.PeriodKey)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("report %s %s: %w", k.Kind, k.PeriodKey, err)
			}
			return r.Send.redeliver(ctx, rep, counts)
		})
		if errors.Is(err, ErrDeliveryBusy) {
			counts["busy"]++ // the other run sends it and records how it went
			continue
		}
		errs = append(errs, err)
	}
	return counts, WindowDone(errors.Join(errs...))
}

// due lists the reports with a retry deadline in the last retryLookback or
// later, every page, and on a process's first run also the newest
// reports with a failed delivery recorded before deadlines existed.
func (r *ReportRetry) due(ctx context.Context) ([]store.ReportKey, error) {
	var keys []store.ReportKey
	seen := map[[2]string]bool{}
	add := func(kind, periodKey string) {
		if k := [2]string{kind, periodKey}; !seen[k] {
			seen[k] = true
			keys = append(keys, store.ReportKey{Kind: kind, PeriodKey: periodKey})
		}
	}
	if !r.legacyRead {
		reps, err := r.Send.Store.UndeliveredReports(ctx, retryScan)
		if err != nil {
			return nil, fmt.Errorf("undelivered reports: %w", err)
		}
		for _, rep := range reps {
			if rep.RetryUntil == 0 {
				add(rep.Kind, rep.PeriodKey)
			}
		}
		r.legacyRead = true
	}
	since := r.Send.now().Add(-retryLookback).UnixMilli()
	for cursor, pages := "", 0; ; pages++ {
		if pages == retryMaxPages {
			return nil, fmt.Errorf("due report deliveries: more than %d pages", retryMaxPages)
		}
		page, err := r.Send.Store.DueReportDeliveries(ctx, since, cursor, retryPage)
		if err != nil {
			return nil, fmt.Errorf("due report deliveries: %w", err)
		}
		for _, k := range page.Reports {
			add(k.Kind, k.PeriodKey)
		}
		if cursor = page.Next; cursor == "" {
			return keys, nil
		}
	}
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
	// Recorded when a delivery changed, or when the stored deadline is not
	// the deliveries' (a report recorded before deadlines existed).
	if until := retryUntil(out); changed || until != rep.RetryUntil {
		if err := s.Store.RecordReportDelivery(ctx, rep.Kind, rep.PeriodKey, out, until); err != nil {
			errs = append(errs, fmt.Errorf("record report delivery: %w", err))
		}
	}
	return errors.Join(errs...)
}
