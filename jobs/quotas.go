package jobs

import (
	"context"
	"fmt"

	"llmmeter/internal/periods"
)

// QuotaReset resets quotas at their period boundary in the reporting time
// zone: used back to 0 and resetDate set to the start of the period after
// the one containing w.To. The store's compare-and-set on the expected
// resetDate makes each boundary reset exactly once, however often or late
// the job runs (and whether or not ingest rolled the quota first). A reset
// resolves the quota's alert, which re-arms it.
type QuotaReset struct {
	Store Store
	Cal   *periods.Calendar
}

// Name implements Job.
func (q *QuotaReset) Name() string { return JobQuotaReset }

// Run implements Job.
func (q *QuotaReset) Run(ctx context.Context, w Window) (Counts, error) {
	now := w.To.UnixMilli()
	counts := Counts{}
	for range 100 { // bounded: each pass moves every due quota past now
		// Always the first page: each pass moves the quotas it resets out of it.
		page, err := q.Store.DueQuotas(ctx, now, "", 500)
		if err != nil {
			return counts, fmt.Errorf("due quotas: %w", err)
		}
		due := page.Quotas
		if len(due) == 0 {
			return counts, nil
		}
		progressed := false
		for _, qu := range due {
			counts["due"]++
			next := q.Cal.Next(QuotaPeriod(qu.QuotaType), now)
			ok, err := q.Store.ResetQuota(ctx, qu.ID, qu.ResetDate, next, w.To)
			if err != nil {
				return counts, fmt.Errorf("reset quota %s: %w", qu.ID, err)
			}
			if ok {
				progressed = true
				counts["reset"]++
				if _, err := q.Store.ResolveAlert(ctx, quotaConditionKey(qu.ID), w.To); err != nil {
					return counts, fmt.Errorf("re-arm the alert of quota %s: %w", qu.ID, err)
				}
			}
		}
		if !progressed {
			return counts, nil
		}
	}
	return counts, nil
}

// quotaConditionKey is the alert condition key of a quota: one alert per
// quota, whose severity rises with the thresholds crossed.
func quotaConditionKey(quotaID string) string {
	return "quota:" + quotaID
}
