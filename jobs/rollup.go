package jobs

import (
	"context"
	"fmt"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
)

// PageSize is the raw-row page size of the jobs (Convex's /jobs/rows allows
// up to 1000).
const PageSize = 1000

// Rollup recomputes usageAggregates of closed periods from raw rows and
// replaces what is stored, so rows delivered late (after the live
// aggregate moved on) are counted, and aggregates equal the raw rows they
// cover. A period is rolled up once it has been closed for Delay; a run
// over window w handles every hourly, daily, weekly and monthly period
// whose end+Delay lies in (w.From, w.To].
//
// Every key of a period is rewritten: in a sharded store all shards of
// each system and model key (zeros for empty shards), and any stored key
// the raw rows no longer support is zeroed.
type Rollup struct {
	Store Store
	Cal   *periods.Calendar
	Delay time.Duration
}

// Name implements Job.
func (r *Rollup) Name() string { return JobRollup }

type periodRef struct {
	period periods.Period
	start  int64
}

// Run implements Job.
func (r *Rollup) Run(ctx context.Context, w Window) (Counts, error) {
	delay := r.Delay.Milliseconds()
	from, to := w.From.UnixMilli()-delay, w.To.UnixMilli()-delay
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
	counts := Counts{"periods": int64(len(targets))}
	if len(targets) == 0 {
		return counts, nil
	}
	return r.recompute(ctx, targets, lo, hi, counts)
}

// Recompute rolls up the periods of kind p whose start lies in [from, to)
// (the CLI's backfill of aggregates, and tests).
func (r *Rollup) Recompute(ctx context.Context, p periods.Period, from, to int64) (Counts, error) {
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
	counts := Counts{"periods": int64(len(targets))}
	if len(targets) == 0 {
		return counts, nil
	}
	return r.recompute(ctx, targets, lo, hi, counts)
}

func (r *Rollup) recompute(ctx context.Context, targets map[periodRef]string, lo, hi int64, counts Counts) (Counts, error) {
	sharded := r.Store.Sharded()
	b := rollup.NewBatch(r.Cal, sharded)
	n, err := scanRaw(ctx, r.Store, lo, hi, func(pg RawPage) {
		for _, u := range pg.Usage {
			b.AddUsage(u)
		}
		for _, l := range pg.RequestLogs {
			b.AddRequestLog(l)
		}
		for _, a := range pg.Activity {
			b.AddActivity(a)
		}
	})
	if err != nil {
		return counts, err
	}
	counts["rawRows"] = n
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
	// periods absent from the recomputation.
	for ref, key := range targets {
		for _, scope := range []string{rollup.ScopeSystem, rollup.ScopeUser, rollup.ScopeModel} {
			stored, err := r.Store.Aggregates(ctx, scope, ref.period, ref.start, ref.start+1)
			if err != nil {
				return counts, fmt.Errorf("list aggregates: %w", err)
			}
			for _, s := range stored {
				if _, ok := byKey[s.Key]; !ok {
					counts["zeroed"]++
					put(&rollup.Row{Key: s.Key, PeriodKey: key, Models: []string{}})
				}
			}
		}
	}
	if sharded {
		for _, row := range append([]*rollup.Row(nil), out...) {
			if row.Scope == rollup.ScopeUser {
				continue
			}
			for sh := range rollup.Shards {
				k := row.Key
				k.Shard = sh
				if _, ok := byKey[k]; !ok {
					put(&rollup.Row{Key: k, PeriodKey: row.PeriodKey, Models: []string{}})
				}
			}
		}
	}
	if err := r.Store.ReplaceAggregates(ctx, out); err != nil {
		return counts, fmt.Errorf("replace aggregates: %w", err)
	}
	counts["aggregates"] = int64(len(out))
	return counts, nil
}

// scanRaw reads every raw row (all three kinds) with timestamp in
// [from, to), page by page, and returns how many it read.
func scanRaw(ctx context.Context, st Store, from, to int64, fn func(RawPage)) (int64, error) {
	var n int64
	for _, kind := range []RawKind{RawUsage, RawRequestLogs, RawActivity} {
		cursor := ""
		for {
			pg, err := st.RawPage(ctx, kind, from, to, cursor, PageSize)
			if err != nil {
				return n, fmt.Errorf("read %s: %w", kind, err)
			}
			n += int64(len(pg.Usage) + len(pg.RequestLogs) + len(pg.Activity))
			fn(pg)
			if pg.Next == "" {
				break
			}
			cursor = pg.Next
		}
	}
	return n, nil
}
