package jobs_test

import (
	"context"
	"testing"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/jobs"
)

// aggStore answers Aggregates from fixed daily rows; the forecast reads nothing else.
type aggStore struct {
	jobs.Store
	rows []rollup.Row
}

func (s aggStore) Aggregates(_ context.Context, scope string, _ periods.Period, from, to int64) ([]rollup.Row, error) {
	var out []rollup.Row
	for _, r := range s.rows {
		if r.Scope == scope && r.PeriodStart >= from && r.PeriodStart < to {
			out = append(out, r)
		}
	}
	return out, nil
}

// TestForecastNeverBelowActual: before the fix the job read only the
// closed days, so a month whose spend came today (after a quiet history)
// was projected at less than what was already spent, range floor included.
func TestForecastNeverBelowActual(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cal := periods.For(loc)
	now := time.Date(2024, 11, 20, 15, 0, 0, 0, loc)
	day := func(d int) int64 {
		return cal.Of(periods.Daily, time.Date(2024, 11, d, 12, 0, 0, 0, loc).UnixMilli()).Start
	}
	row := func(scope, user string, d int, cost, tokens int64) rollup.Row {
		var r rollup.Row
		r.Scope, r.UserID, r.PeriodStart = scope, user, day(d)
		r.TotalCostNanoUsd, r.TotalTokens = cost, tokens
		return r
	}
	const spentToday = 26_600_000_000 // $26.60 this morning
	cases := []struct {
		name        string
		rows        []rollup.Row
		cost, token int64 // the month-to-date actual
	}{
		// A quiet history (a cent a day) and a burst today: the trend projects cents.
		{"burst today after a quiet history", []rollup.Row{
			row("system", "", 18, 10_000_000, 10), row("system", "", 19, 10_000_000, 10), row("system", "", 20, spentToday, 5000),
			row("user", "u1", 20, spentToday, 5000),
		}, 20_000_000 + spentToday, 5020},
		// Only today has traffic: no history at all, the projection is the actual.
		{"first traffic today", []rollup.Row{row("system", "", 20, spentToday, 5000), row("user", "u1", 20, spentToday, 5000)}, spentToday, 5000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &jobs.Forecasts{Store: aggStore{rows: c.rows}, Cal: cal, HistoryDays: 14}
			rows, err := f.Compute(context.Background(), now)
			if err != nil {
				t.Fatal(err)
			}
			sys := rows[0]
			if sys.Scope != "system" {
				t.Fatalf("first row %+v", sys)
			}
			if sys.CostLowNanoUsd < c.cost || sys.CostNanoUsd < c.cost || sys.CostHighNanoUsd < c.cost {
				t.Fatalf("cost %d [%d, %d] below the actual %d", sys.CostNanoUsd, sys.CostLowNanoUsd, sys.CostHighNanoUsd, c.cost)
			}
			if sys.TokensLow < c.token || sys.Tokens < c.token || sys.TokensHigh < c.token {
				t.Fatalf("tokens %d [%d, %d] below the actual %d", sys.Tokens, sys.TokensLow, sys.TokensHigh, c.token)
			}
			if len(rows) != 2 || rows[1].UserID != "u1" || rows[1].CostLowNanoUsd < spentToday {
				t.Fatalf("user rows %+v", rows[1:])
			}
		})
	}
}

// TestFloorAtActual: each end is raised separately; values above the actual stay.
func TestFloorAtActual(t *testing.T) {
	f := jobs.Forecast{CostNanoUsd: 30, CostLowNanoUsd: 20, CostHighNanoUsd: 40, Tokens: 5, TokensLow: 1, TokensHigh: 9}
	jobs.FloorAtActual(&f, 25, 6)
	want := jobs.Forecast{CostNanoUsd: 30, CostLowNanoUsd: 25, CostHighNanoUsd: 40, Tokens: 6, TokensLow: 6, TokensHigh: 9}
	if f != want {
		t.Fatalf("got %+v, want %+v", f, want)
	}
}
