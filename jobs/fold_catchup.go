package jobs

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
)

// catchUpSummaries rebuilds the months whose period summaries do not
// match their aggregates, one month per fold run, newest first: a store
// upgraded from a version without the read model has aggregates (the rows
// were folded the old way) and no summaries, or summaries the fold started
// from empty after the upgrade, and the admin reads would show too few
// users, models and costs until an operator ran `jobs rebuild`. The fold
// job does that itself, under its lease (renewed while it runs, so no other
// replica folds meanwhile), and folds new rows between months, so the live
// views keep moving during a long catch-up.
//
// A month is stale when its system aggregate exists and its summary is
// missing, or the summary's model entries do not sum to the aggregate's
// cost or tokens (every usage row has a model, so they must). It is
// rebuilt whole with Rebuild.Span (every hourly, daily, weekly and monthly
// period overlapping it, up to now), which is safe while ingest and the
// fold go on. The check, once per process, reads one aggregate row per
// month (a few for rows written before the fold, which were sharded) and
// one summary per month: all a healthy store pays.
//
// Not caught: a month whose pre-upgrade rows carried neither cost nor
// tokens (only activity or failed requests) and which has a summary.
// `jobs rebuild` repairs those.
//
// now (ms; 0: none) ends the span of the current month. f.mu is held.
func (f *Fold) catchUpSummaries(ctx context.Context, now int64, counts Counts) error {
	if f.stale == nil {
		stale, err := staleMonths(ctx, f.Store)
		if err != nil {
			return fmt.Errorf("check summaries: %w", err)
		}
		slices.Reverse(stale)
		f.stale = append([]int64{}, stale...)
	}
	if len(f.stale) > 0 {
		start := f.stale[0]
		end := f.Cal.Next(periods.Monthly, start)
		if now > 0 {
			end = min(end, now+1) // no empty summaries of periods still to come
		}
		c, err := (&Rebuild{Store: f.Store, Cal: f.Cal}).Span(ctx, start, end)
		if err != nil {
			return fmt.Errorf("rebuild the summaries of month %s: %w", f.Cal.Of(periods.Monthly, start).Key, err)
		}
		f.stale = f.stale[1:]
		counts["rebuiltMonths"], counts["rebuiltSummaries"] = 1, c["summaries"]
	}
	f.caughtUp = len(f.stale) == 0
	return nil
}

// statePeriods is the most periods one SummaryState call reads (Convex's
// /jobs/fold/state allows 64).
const statePeriods = 64

// staleMonths lists the starts of the months whose summary does not match
// their system aggregate, ascending.
func staleMonths(ctx context.Context, st Store) ([]int64, error) {
	rows, err := st.Aggregates(ctx, rollup.ScopeSystem, periods.Monthly, 0, store.MaxAmount) // every month (a Convex number bounds to)
	if err != nil {
		return nil, err
	}
	sys := map[int64]rollup.Counters{} // month start → the sum of its shards
	var months []rollup.PeriodRef
	for _, r := range rows {
		c, seen := sys[r.PeriodStart]
		if !seen {
			months = append(months, rollup.PeriodRef{Period: periods.Monthly, PeriodStart: r.PeriodStart})
		}
		c.Add(r.Counters)
		sys[r.PeriodStart] = c
	}
	slices.SortFunc(months, func(a, b rollup.PeriodRef) int { return cmp.Compare(a.PeriodStart, b.PeriodStart) })
	summed := map[int64]*rollup.Counters{}
	for lo := 0; lo < len(months); lo += statePeriods {
		state, err := st.SummaryState(ctx, rollup.StateKeys{Periods: months[lo:min(lo+statePeriods, len(months))], Users: []rollup.UserPeriod{}})
		if err != nil {
			return nil, err
		}
		for _, s := range state.Summaries {
			var c rollup.Counters
			for _, m := range s.Models {
				c.Add(m.Counters)
			}
			summed[s.PeriodStart] = &c
		}
	}
	var stale []int64
	for _, m := range months {
		want, got := sys[m.PeriodStart], summed[m.PeriodStart]
		if got == nil || got.TotalCostNanoUsd != want.TotalCostNanoUsd || got.TotalTokens != want.TotalTokens {
			stale = append(stale, m.PeriodStart)
		}
	}
	return stale, nil
}
