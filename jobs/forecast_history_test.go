package jobs_test

import (
	"context"
	"math"
	"testing"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/jobs"
)

// TestForecastShortHistory: a new install whose first traffic came on the
// evening of November 18 at a steady $10 a day. Before the fix the 56-day
// window counted the 54 days before the install as days that spent
// nothing, and the partial first evening as a whole day, so the month was
// projected at a fraction of the $10 a day it runs at; nor did the row say
// how little history it rested on.
func TestForecastShortHistory(t *testing.T) {
	cal := periods.For(time.UTC)
	now := time.Date(2024, 11, 20, 15, 0, 0, 0, time.UTC)
	const perDay = 10_000_000_000 // $10.00
	day := func(d int) int64 { return time.Date(2024, 11, d, 0, 0, 0, 0, time.UTC).UnixMilli() }
	var rows []rollup.Row
	add := func(d int, cost int64) {
		for _, s := range []struct{ scope, user string }{{"system", ""}, {"user", "u1"}} {
			var r rollup.Row
			r.Scope, r.UserID, r.PeriodStart = s.scope, s.user, day(d)
			r.TotalCostNanoUsd, r.TotalTokens = cost, cost/1_000_000
			rows = append(rows, r)
		}
	}
	add(18, perDay/4) // from 18:00
	add(19, perDay)
	add(20, perDay*15/24) // today until 15:00
	f := &jobs.Forecasts{Store: aggStore{rows: rows}, Cal: cal}
	out, err := f.Compute(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("rows %+v", out)
	}
	// The closed days so far ($12.50) and $10 for each of the 11 days left, today included.
	const want = perDay/4 + perDay + 11*perDay
	for _, r := range out {
		if math.Abs(float64(r.CostNanoUsd-want)) > 0.1*want {
			t.Errorf("%s %q: projected $%.2f, want about $%.2f", r.Scope, r.UserID, float64(r.CostNanoUsd)/1e9, float64(want)/1e9)
		}
		if got := historyDays(r); got != 2 {
			t.Errorf("%s %q: historyDays %d, want 2 (November 18 and 19)", r.Scope, r.UserID, got)
		}
	}
}

// historyDays is the row's HistoryDays, -1 when it has none.
func historyDays(r jobs.Forecast) int {
	if r.HistoryDays == nil {
		return -1
	}
	return *r.HistoryDays
}

// TestForecastHistoryDays: the days a row rests on are counted from the
// subject's first day with data, up to the window; a subject whose first
// traffic is today rests on none, and a first day that is the only closed
// one is used (it is all there is).
func TestForecastHistoryDays(t *testing.T) {
	cal := periods.For(time.UTC)
	now := time.Date(2024, 11, 20, 9, 0, 0, 0, time.UTC)
	row := func(user string, d int, cost int64) rollup.Row {
		var r rollup.Row
		r.Scope, r.UserID, r.PeriodStart = "user", user, time.Date(2024, 11, d, 0, 0, 0, 0, time.UTC).UnixMilli()
		r.TotalCostNanoUsd = cost
		return r
	}
	rows := []rollup.Row{row("today", 20, 5), row("yesterday", 19, 7), row("window", 6, 1), row("window", 19, 1)}
	for d := 1; d <= 19; d++ {
		rows = append(rows, row("older", d, 3))
	}
	f := &jobs.Forecasts{Store: aggStore{rows: rows}, Cal: cal, HistoryDays: 14}
	out, err := f.Compute(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"": 0, "today": 0, "yesterday": 1, "window": 14, "older": 14}
	got := map[string]int{}
	for _, r := range out {
		got[r.UserID] = historyDays(r)
	}
	if len(got) != len(want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%q: historyDays %d, want %d", k, got[k], w)
		}
	}
	// The one closed day of "yesterday" ($7 nano) is its rate for the 11 days left.
	for _, r := range out {
		if r.UserID == "yesterday" && r.CostNanoUsd != 7+11*7 {
			t.Errorf("yesterday: projected %d, want %d", r.CostNanoUsd, 7+11*7)
		}
	}
}
