package sqlitestore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
)

// llmmeter:periodOverPeriod of packages/convex/src/adminCompare.ts: the
// period holding `at` against the one before, days 1..k of each (k: the day
// of the period holding `at`), from daily rows; the change in percent with
// one decimal, null without a previous value.

var periodOverPeriodArgs = []field{req("period", vLiteral("weekly", "monthly")), req("at", vNumber), opt("userId", vString), opt("modelSlug", vString)}

type popSide struct {
	PeriodKey   string  `json:"periodKey"`
	PeriodStart int64   `json:"periodStart"`
	Requests    int64   `json:"requests"`
	TotalTokens int64   `json:"totalTokens"`
	CostNanoUsd int64   `json:"costNanoUsd"`
	CostUsd     float64 `json:"costUsd"`
}

type popChange struct {
	Requests    *float64 `json:"requests"`
	TotalTokens *float64 `json:"totalTokens"`
	CostNanoUsd *float64 `json:"costNanoUsd"`
}

type periodOverPeriodView struct {
	Period   string    `json:"period"`
	Day      int       `json:"day"`
	Current  popSide   `json:"current"`
	Previous popSide   `json:"previous"`
	Change   popChange `json:"change"`
}

// changePercent is (current − previous) / previous · 100 rounded to one decimal; nil when previous is 0.
func changePercent(current, previous int64) *float64 {
	if previous == 0 {
		return nil
	}
	v := jsRound(float64(current-previous)/float64(previous)*1000) / 10
	return &v
}

// dayOfPeriod is the day of the month, or the ISO weekday (Monday 1), of a daily key "YYYY-MM-DD".
func dayOfPeriod(p periods.Period, dayKey string) int {
	parts := strings.Split(dayKey, "-")
	if len(parts) != 3 {
		return 0
	}
	y, _ := strconv.Atoi(parts[0])
	m, _ := strconv.Atoi(parts[1])
	d, _ := strconv.Atoi(parts[2])
	if p == periods.Monthly {
		return d
	}
	return (int(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Weekday())+6)%7 + 1
}

func periodOverPeriod(ctx context.Context, s *Store, q querier, a args) (any, error) {
	at, _ := a.num("at")
	if !isSafeInt(at) || at < 0 {
		return nil, badRequest("at: expected non-negative integer (ms)")
	}
	userRaw, hasUser := a.str("userId")
	model, hasModel := a.str("modelSlug")
	if hasUser && hasModel {
		return nil, badRequest("modelSlug: cannot be combined with userId")
	}
	ps, _ := a.str("period")
	p := periods.Period(ps)
	ts := int64(at)
	cur := s.cal.Of(p, ts)
	prev := s.cal.Of(p, cur.Start-1)
	day := dayOfPeriod(p, s.cal.Of(periods.Daily, ts).Key)
	// through the day holding at
	sel := aggSelection{scope: rollup.ScopeSystem, period: periods.Daily, from: float64(prev.Start), to: at + 1, countersOnly: true}
	switch {
	case hasUser:
		id, err := idOf("users", userRaw, "userId")
		if err != nil {
			return nil, err
		}
		sel.scope, sel.userID = rollup.ScopeUser, id
	case hasModel:
		sel.scope, sel.model = rollup.ScopeModel, model
	}
	rows, err := readAggregates(ctx, q, &readBudget{}, sel)
	if err != nil {
		return nil, err
	}
	side := func(info periods.Info, end int64) popSide {
		var in []aggRow
		for _, r := range rows {
			if r.periodStart >= info.Start && r.periodStart < end && dayOfPeriod(p, r.periodKey) <= day {
				in = append(in, r)
			}
		}
		c, _ := mergeRows(in)
		return popSide{PeriodKey: info.Key, PeriodStart: info.Start, Requests: c.TotalRequests, TotalTokens: c.TotalTokens,
			CostNanoUsd: c.TotalCostNanoUsd, CostUsd: nanosToUsd(c.TotalCostNanoUsd)}
	}
	v := periodOverPeriodView{Period: ps, Day: day, Current: side(cur, maxSafeInt), Previous: side(prev, cur.Start)}
	v.Change = popChange{
		Requests:    changePercent(v.Current.Requests, v.Previous.Requests),
		TotalTokens: changePercent(v.Current.TotalTokens, v.Previous.TotalTokens),
		CostNanoUsd: changePercent(v.Current.CostNanoUsd, v.Previous.CostNanoUsd),
	}
	return v, nil
}
