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
// resolves the quota's threshold alerts, which re-arms them.
type QuotaReset struct {
	Store      Store
	Cal        *periods.Calendar
	Thresholds []int // the alert thresholds (percent) whose alerts a reset re-arms
}

// Name implements Job.
func (q *QuotaReset) Name() string { return JobQuotaReset }

// Run implements Job.
func (q *QuotaReset) Run(ctx context.Context, w Window) (Counts, error) {
	now := w.To.UnixMilli()
	counts := Counts{}
	for range 100 { // bounded: each pass moves every due quota past now
		due, err := q.Store.DueQuotas(ctx, now, 500)
		if err != nil {
			return counts, fmt.Errorf("due quotas: %w", err)
		}
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
				for _, key := range quotaConditionKeys(qu.ID, q.Thresholds) {
					if _, err := q.Store.ResolveAlert(ctx, key, w.To); err != nil {
						return counts, fmt.Errorf("re-arm alerts of quota %s: %w", qu.ID, err)
					}
				}
			}
		}
		if !progressed {
			return counts, nil
		}
	}
	return counts, nil
}

// quotaConditionKeys are the alert condition keys of a quota at every
// possible threshold level.
func quotaConditionKeys(quotaID string, thresholds []int) []string {
	keys := make([]string, len(thresholds))
	for i, p := range thresholds {
		keys[i] = quotaConditionKey(quotaID, p)
	}
	return keys
}

func quotaConditionKey(quotaID string, pct int) string {
	return fmt.Sprintf("quota:%s:%d", quotaID, pct)
}
