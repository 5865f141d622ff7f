package sqlitestore

import (
	"context"
	"maps"
	"slices"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
)

// The reads of llmmeter:overview (activeUsers), topUsers and modelStats
// over the period summaries (migration 0013, written by the fold), as
// packages/convex/src/lib/summaries.ts reads them on Convex: the window is
// split into whole stored periods (periods.Calendar.Cover), and multi-period
// windows get the same documented answers on both engines: activeUsers the
// largest period's count (activeUsersExact false); topUsers totals summed
// from the periods' top lists alone.

// pieces are the window's whole stored periods.
func (s *Store) pieces(from, to float64) []periods.Info {
	return s.cal.Cover(granularityFor(from, to), int64(from), int64(to))
}

// summariesOf reads the summaries of pieces (nil where a period has none).
func summariesOf(ctx context.Context, q querier, pieces []periods.Info) ([]*rollup.Summary, error) {
	out := make([]*rollup.Summary, 0, len(pieces))
	for _, p := range pieces {
		sum, err := readSummary(ctx, q, p.Period, p.Start)
		if err != nil {
			return nil, err
		}
		out = append(out, sum)
	}
	return out, nil
}

// systemRowsOf reads the system rows of pieces.
func systemRowsOf(ctx context.Context, q querier, pieces []periods.Info) ([]aggRow, error) {
	b := &readBudget{}
	var out []aggRow
	for _, p := range pieces {
		rows, err := readAggregates(ctx, q, b, aggSelection{scope: rollup.ScopeSystem, period: p.Period, from: float64(p.Start), to: float64(p.Start + 1)})
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// activeUsersOf is overview's activeUsers and activeUsersExact.
func activeUsersOf(sums []*rollup.Summary) (int64, bool) {
	var n int64
	for _, sum := range sums {
		if sum != nil {
			n = max(n, sum.ActiveUsers)
		}
	}
	return n, len(sums) <= 1
}

// topUsersOf is the first limit users of the pieces by the metric.
func topUsersOf(ctx context.Context, q querier, pieces []periods.Info, by string, limit int) ([]rollup.UserTotals, error) {
	sums, err := summariesOf(ctx, q, pieces)
	if err != nil {
		return nil, err
	}
	listed := map[string]rollup.UserTotals{}
	for _, sum := range sums {
		if sum == nil {
			continue
		}
		for _, u := range sum.TopUsers {
			t := listed[u.UserID]
			t.UserID = u.UserID
			t.Requests += u.Requests
			t.TotalTokens += u.TotalTokens
			t.CostNanoUsd += u.CostNanoUsd
			listed[u.UserID] = t
		}
	}
	top := slices.SortedFunc(maps.Values(listed), rollup.RankBy(by))
	return top[:min(limit, len(top))], nil
}

// modelTotalsOf sums the pieces' model entries per model.
func modelTotalsOf(ctx context.Context, q querier, pieces []periods.Info) (map[string]rollup.Counters, error) {
	sums, err := summariesOf(ctx, q, pieces)
	if err != nil {
		return nil, err
	}
	out := map[string]rollup.Counters{}
	for _, sum := range sums {
		if sum == nil {
			continue
		}
		for _, e := range sum.Models {
			c := out[e.Model]
			c.Add(e.Counters)
			out[e.Model] = c
		}
	}
	return out, nil
}
