package jobs

import (
	"context"
	"errors"
	"fmt"

	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
)

// PageSize is the raw-row page size of the jobs (Convex's /jobs/rows allows
// up to 1000).
const PageSize = 1000

// RebuildAttempts bounds how often a rebuild starts over after a fold
// applied while it read.
const RebuildAttempts = 5

// Rebuild recomputes the aggregates and period summaries of chosen periods
// from raw rows and replaces what is stored: the repair path (CLI "jobs rebuild"),
// and the fold job's catch-up of summaries older than the fold
// (catchUpSummaries), since the fold keeps summaries exact on its own.
//
// It is safe while ingest and the fold go on. It counts only rows the fold
// has counted already (a pending row is the fold's to add later), and it
// replaces with a compare-and-set on the fold version taken before reading:
// if a fold applied meanwhile the replace is refused and the rebuild starts
// over (at most RebuildAttempts times). Every stored key of a rebuilt period
// that the rows no longer support, including the shards 1–7 of rows written
// before the fold, is set to zero.
type Rebuild struct {
	Store Store
	Cal   *periods.Calendar
}

type periodRef struct {
	period periods.Period
	start  int64
}

// Window rebuilds every hourly, daily, weekly and monthly period that ends
// in (from, to] (ms).
func (r *Rebuild) Window(ctx context.Context, from, to int64) (Counts, error) {
	targets := map[periodRef]string{}
	lo, hi := int64(-1), int64(-1)
	for _, p := range periods.All {
		for start := r.Cal.Of(p, from).Start; ; {
			end := r.Cal.Next(p, start)
			if end > to {
				break
			}
			if end > from {
				targets[periodRef{p, start}] = r.Cal.Of(p, start).Key
				if lo < 0 || start < lo {
					lo = start
				}
				hi = max(hi, end)
			}
			start = end
		}
	}
	return r.run(ctx, targets, lo, hi)
}

// Span rebuilds every hourly, daily, weekly and monthly period that
// overlaps [from, to), including periods still open at to.
func (r *Rebuild) Span(ctx context.Context, from, to int64) (Counts, error) {
	targets := map[periodRef]string{}
	lo, hi := int64(-1), int64(-1)
	for _, p := range periods.All {
		for start := r.Cal.Of(p, from).Start; start < to; start = r.Cal.Next(p, start) {
			targets[periodRef{p, start}] = r.Cal.Of(p, start).Key
			if lo < 0 || start < lo {
				lo = start
			}
			hi = max(hi, r.Cal.Next(p, start))
		}
	}
	return r.run(ctx, targets, lo, hi)
}

// Recompute rebuilds the periods of kind p whose start lies in [from, to).
func (r *Rebuild) Recompute(ctx context.Context, p periods.Period, from, to int64) (Counts, error) {
	targets := map[periodRef]string{}
	lo, hi := int64(-1), int64(-1)
	for start := r.Cal.Of(p, from).Start; start < to; start = r.Cal.Next(p, start) {
		if start < from {
			continue
		}
		targets[periodRef{p, start}] = r.Cal.Of(p, start).Key
		if lo < 0 {
			lo = start
		}
		hi = r.Cal.Next(p, start)
	}
	return r.run(ctx, targets, lo, hi)
}

func (r *Rebuild) run(ctx context.Context, targets map[periodRef]string, lo, hi int64) (Counts, error) {
	counts := Counts{"periods": int64(len(targets))}
	if len(targets) == 0 {
		return counts, nil
	}
	for attempt := 1; ; attempt++ {
		err := r.once(ctx, targets, lo, hi, counts)
		if !errors.Is(err, fold.ErrConflict) || attempt >= RebuildAttempts {
			return counts, err
		}
		counts["conflicts"]++
	}
}

func (r *Rebuild) once(ctx context.Context, targets map[periodRef]string, lo, hi int64, counts Counts) error {
	version, err := r.Store.FoldVersion(ctx)
	if err != nil {
		return fmt.Errorf("fold version: %w", err)
	}
	b := rollup.NewBatch(r.Cal)
	n, skipped, err := scanRaw(ctx, r.Store, lo, hi, func(pg RawPage) {
		for _, u := range pg.Usage {
			if !pg.Pending[u.GenerationID] {
				b.AddUsage(u)
			}
		}
		for _, l := range pg.RequestLogs {
			if !pg.Pending[l.RequestID] {
				b.AddRequestLog(l)
			}
		}
		for _, a := range pg.Activity {
			if !pg.Pending[a.ActivityKey] {
				b.AddActivity(a)
			}
		}
	})
	if err != nil {
		return err
	}
	counts["rawRows"], counts["pendingRows"] = n, skipped
	byKey := map[rollup.Key]*rollup.Row{}
	var out []*rollup.Row
	put := func(row *rollup.Row) {
		if _, dup := byKey[row.Key]; !dup {
			byKey[row.Key] = row
			out = append(out, row)
		}
	}
	for _, row := range b.Rows() {
		if _, ok := targets[periodRef{row.Period, row.PeriodStart}]; ok {
			put(row)
		}
	}
	// Zero what the raw rows no longer support: stored keys of the target
	// periods absent from the recomputation. One listing per scope and
	// period kind over the targets' starts (paged by the store), not one
	// per target: a month spans some 780 periods.
	zeroed := int64(0)
	span := map[periods.Period][2]int64{}
	for ref := range targets {
		sp, ok := span[ref.period]
		if !ok {
			sp = [2]int64{ref.start, ref.start}
		}
		span[ref.period] = [2]int64{min(sp[0], ref.start), max(sp[1], ref.start)}
	}
	for _, p := range periods.All {
		sp, ok := span[p]
		if !ok {
			continue
		}
		for _, scope := range []string{rollup.ScopeSystem, rollup.ScopeUser, rollup.ScopeModel} {
			stored, err := r.Store.Aggregates(ctx, scope, p, sp[0], sp[1]+1)
			if err != nil {
				return fmt.Errorf("list aggregates: %w", err)
			}
			for _, s := range stored {
				key, target := targets[periodRef{s.Period, s.PeriodStart}]
				if _, ok := byKey[s.Key]; target && !ok {
					zeroed++
					put(&rollup.Row{Key: s.Key, PeriodKey: key, Models: []string{}})
				}
			}
		}
	}
	counts["zeroed"] = zeroed
	if err := r.Store.ReplaceAggregates(ctx, out, version); err != nil {
		return fmt.Errorf("replace aggregates: %w", err)
	}
	counts["aggregates"] = int64(len(out))
	// The summaries of the target periods, from scratch over the rebuilt
	// rows (zeroed keys are no rows: their users are not active), and an
	// empty one for a target period without rows. Same version check: a
	// fold in between makes the rebuild start over.
	var rebuilt []*rollup.Row
	for _, row := range b.Rows() {
		if _, ok := targets[periodRef{row.Period, row.PeriodStart}]; ok {
			rebuilt = append(rebuilt, row)
		}
	}
	sums := rollup.Summarize(rollup.SummaryState{}, rebuilt)
	have := map[periodRef]bool{}
	for _, s := range sums {
		have[periodRef{s.Period, s.PeriodStart}] = true
	}
	for ref, key := range targets {
		if !have[ref] {
			sums = append(sums, &rollup.Summary{Period: ref.period, PeriodStart: ref.start, PeriodKey: key, Models: []rollup.ModelEntry{}, TopUsers: []rollup.UserTotals{}})
		}
	}
	if err := r.Store.ReplaceSummaries(ctx, sums, version); err != nil {
		return fmt.Errorf("replace summaries: %w", err)
	}
	counts["summaries"] = int64(len(sums))
	return nil
}

// scanRaw reads every raw row (all three kinds) with timestamp in
// [from, to), page by page, and returns how many it read and how many of
// them were pending.
func scanRaw(ctx context.Context, st Store, from, to int64, fn func(RawPage)) (n, pending int64, err error) {
	for _, kind := range []RawKind{RawUsage, RawRequestLogs, RawActivity} {
		cursor := ""
		for {
			pg, err := st.RawPage(ctx, kind, from, to, cursor, PageSize)
			if err != nil {
				return n, pending, fmt.Errorf("read %s: %w", kind, err)
			}
			n += int64(len(pg.Usage) + len(pg.RequestLogs) + len(pg.Activity))
			pending += int64(len(pg.Pending))
			fn(pg)
			if pg.Next == "" {
				break
			}
			cursor = pg.Next
		}
	}
	return n, pending, nil
}
