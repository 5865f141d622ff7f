package jobs

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
)

// ForecastMethod names the method stored with every forecast row.
const ForecastMethod = "trend+weekday: OLS on deseasonalized daily totals, 90% range"

// Forecasts projects month-end cost and tokens, system-wide and per user,
// from daily aggregates: the closed days of the month so far plus a
// prediction for each remaining day (today included) of
//
//	ŷ(d) = max(0, (a + b·d) · s(weekday(d)))
//
// where s are weekday factors (ratios to the centered 7-day moving average,
// averaged per weekday) and a + b·d is a least-squares line through the deseasonalized
// history (at most HistoryDays closed days, and only those since the
// subject's first day with data: see historyOf). The range is
// ± 1.645 · σ · √n (σ the residual standard deviation, n the remaining
// days). The projection and both ends of its range are floored at the
// month-to-date actual, today's spend so far included (FloorAtActual): a
// month never ends below what was already spent. BacktestMape is the mean absolute percentage error, in
// percent (8.5 means 8.5 %), of 7-day-ahead forecasts made from rolling
// origins over the history. Each row says how many closed days of history
// it rests on (Forecast.HistoryDays), so that a projection from a day or
// two of data is not read as one from weeks of it.
type Forecasts struct {
	Store       Store
	Cal         *periods.Calendar
	HistoryDays int // default 56
	MaxUsers    int // default 199 (a run is at most 200 rows)
}

// Name implements Job.
func (f *Forecasts) Name() string { return JobForecast }

// CatchUp implements CatchUpper: a forecast is of the present.
func (f *Forecasts) CatchUp() CatchUp { return CatchUpLatest }

// Run implements Job.
func (f *Forecasts) Run(ctx context.Context, w Window) (Counts, error) {
	rows, err := f.Compute(ctx, w.To)
	if err != nil {
		return nil, err
	}
	if err := f.Store.StoreForecasts(ctx, w.To, rows); err != nil {
		return nil, fmt.Errorf("store forecasts: %w", err)
	}
	return Counts{"rows": int64(len(rows))}, nil
}

// Compute builds the forecast rows at now without storing them.
func (f *Forecasts) Compute(ctx context.Context, now time.Time) ([]Forecast, error) {
	hist := f.HistoryDays
	if hist <= 0 {
		hist = 56
	}
	maxUsers := f.MaxUsers
	if maxUsers <= 0 {
		maxUsers = 199
	}
	loc := f.Cal.Location()
	today := f.Cal.Of(periods.Daily, now.UnixMilli()).Start
	month := f.Cal.Of(periods.Monthly, now.UnixMilli())
	monthEnd := f.Cal.Next(periods.Monthly, now.UnixMilli())
	// The closed days of the history, oldest first.
	days := make([]int64, hist)
	for i, d := hist-1, today; i >= 0; i-- {
		d = f.Cal.Of(periods.Daily, d-1).Start
		days[i] = d
	}
	var remaining []time.Weekday
	for d := today; d < monthEnd; d = f.Cal.Next(periods.Daily, d) {
		remaining = append(remaining, time.UnixMilli(d).In(loc).Weekday())
	}
	weekdays := make([]time.Weekday, hist)
	index := map[int64]int{}
	for i, d := range days {
		weekdays[i] = time.UnixMilli(d).In(loc).Weekday()
		index[d] = i
	}
	from := min(days[0], month.Start)
	// mtd per subject: cost and tokens of the closed days of the month
	// [0, 1], and of today so far [2, 3] (read to the end of today).
	series := func(scope string) (map[string]*[2][]float64, map[string][4]int64, error) {
		rows, err := f.Store.Aggregates(ctx, scope, periods.Daily, from, f.Cal.Next(periods.Daily, today))
		if err != nil {
			return nil, nil, err
		}
		hs := map[string]*[2][]float64{}
		mtd := map[string][4]int64{}
		for _, r := range rows {
			k := r.UserID
			if hs[k] == nil {
				hs[k] = &[2][]float64{make([]float64, hist), make([]float64, hist)}
			}
			if i, ok := index[r.PeriodStart]; ok {
				hs[k][0][i] += float64(r.TotalCostNanoUsd)
				hs[k][1][i] += float64(r.TotalTokens)
			}
			if r.PeriodStart >= month.Start {
				m := mtd[k]
				if r.PeriodStart < today {
					m[0] += r.TotalCostNanoUsd
					m[1] += r.TotalTokens
				} else {
					m[2] += r.TotalCostNanoUsd
					m[3] += r.TotalTokens
				}
				mtd[k] = m
			}
		}
		return hs, mtd, nil
	}
	build := func(scope, user string, h *[2][]float64, m [4]int64) Forecast {
		if h == nil {
			h = &[2][]float64{make([]float64, hist), make([]float64, hist)}
		}
		basis, start := historyOf(h)
		row := Forecast{Scope: scope, UserID: user, Month: month.Key, Method: ForecastMethod, HistoryDays: &basis}
		cost, tokens, wd := h[0][start:], h[1][start:], weekdays[start:]
		c, cl, ch := ProjectSeries(cost, wd, remaining)
		t, tl, th := ProjectSeries(tokens, wd, remaining)
		row.CostNanoUsd, row.CostLowNanoUsd, row.CostHighNanoUsd = m[0]+round(c), m[0]+round(cl), m[0]+round(ch)
		row.Tokens, row.TokensLow, row.TokensHigh = m[1]+round(t), m[1]+round(tl), m[1]+round(th)
		// The projection of today is of the whole day; what today already
		// spent may exceed it (a burst this morning).
		FloorAtActual(&row, m[0]+m[2], m[1]+m[3])
		if mape, ok := Backtest(cost, wd, 7); ok {
			row.BacktestMape = &mape
		}
		return row
	}
	sys, sysMtd, err := series(rollup.ScopeSystem)
	if err != nil {
		return nil, err
	}
	out := []Forecast{build(rollup.ScopeSystem, "", sys[""], sysMtd[""])}
	users, userMtd, err := series(rollup.ScopeUser)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(users))
	for id := range users {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if userMtd[a][0] != userMtd[b][0] {
			return -cmpInt(userMtd[a][0], userMtd[b][0])
		}
		return cmpStr(a, b)
	})
	for _, id := range ids[:min(maxUsers, len(ids))] {
		out = append(out, build(rollup.ScopeUser, id, users[id], userMtd[id]))
	}
	return out, nil
}

func round(v float64) int64 { return int64(math.Round(v)) }

// historyOf measures a subject's history (cost [0] and tokens [1] per
// closed day of the window, oldest first): days is the number of closed
// days since its first day with data, and the fit starts at index start.
// The days before the first day with data are not days that spent nothing
// (the install, or the user, did not exist yet), so they are left out. That
// first day, when inside the window, most likely began partway (traffic
// starts when someone starts it), so it is left out of the fit too, unless
// it is the only closed day there is.
func historyOf(h *[2][]float64) (days, start int) {
	n := len(h[0])
	first := n
	for i := range n {
		if h[0][i] != 0 || h[1][i] != 0 {
			first = i
			break
		}
	}
	start = first
	if first > 0 && first < n-1 {
		start++
	}
	return n - first, start
}

// FloorAtActual raises the projection and both ends of its range to at least
// the month-to-date actual: the month cannot end below what was spent.
func FloorAtActual(f *Forecast, costNanoUsd, tokens int64) {
	f.CostNanoUsd, f.CostLowNanoUsd, f.CostHighNanoUsd = max(f.CostNanoUsd, costNanoUsd), max(f.CostLowNanoUsd, costNanoUsd), max(f.CostHighNanoUsd, costNanoUsd)
	f.Tokens, f.TokensLow, f.TokensHigh = max(f.Tokens, tokens), max(f.TokensLow, tokens), max(f.TokensHigh, tokens)
}

// ProjectSeries forecasts the sum over the remaining days (their weekdays)
// from the daily history y (weekdays wd), with a 90% range.
func ProjectSeries(y []float64, wd []time.Weekday, remaining []time.Weekday) (point, low, high float64) {
	a, b, s, sigma := fit(y, wd)
	n := len(y)
	for i, w := range remaining {
		point += max(0, (a+b*float64(n+i))*s[w])
	}
	spread := 1.645 * sigma * math.Sqrt(float64(len(remaining)))
	return point, max(0, point-spread), point + spread
}

// fit returns the trend line (a + b·i) of the deseasonalized series, the
// weekday factors and the residual standard deviation.
func fit(y []float64, wd []time.Weekday) (a, b float64, s [7]float64, sigma float64) {
	n := len(y)
	var total float64
	var sum [7]float64
	var cnt [7]int
	for i, v := range y {
		total += v
		sum[wd[i]] += v
		cnt[wd[i]]++
	}
	mean := 0.0
	if n > 0 {
		mean = total / float64(n)
	}
	for w := range 7 {
		s[w] = 1
		if cnt[w] > 0 && mean > 0 {
			s[w] = sum[w] / float64(cnt[w]) / mean
		}
	}
	// With two weeks or more, weekday factors are ratios to the centered
	// 7-day moving average (classical decomposition), which a trend does
	// not bias; normalized to average 1.
	if n >= 14 {
		var rs [7]float64
		var rc [7]int
		for i := 3; i+3 < n; i++ {
			var ma float64
			for k := i - 3; k <= i+3; k++ {
				ma += y[k]
			}
			if ma /= 7; ma > 0 {
				rs[wd[i]] += y[i] / ma
				rc[wd[i]]++
			}
		}
		var norm float64
		var k int
		for w := range 7 {
			if rc[w] > 0 {
				s[w] = rs[w] / float64(rc[w])
				norm += s[w]
				k++
			}
		}
		if k == 7 && norm > 0 {
			for w := range 7 {
				s[w] *= 7 / norm
			}
		}
	}
	if n == 0 {
		return 0, 0, s, 0
	}
	var sx, sy, sxx, sxy float64
	for i, v := range y {
		z := v
		if s[wd[i]] > 0 {
			z = v / s[wd[i]]
		}
		x := float64(i)
		sx, sy, sxx, sxy = sx+x, sy+z, sxx+x*x, sxy+x*z
	}
	fn := float64(n)
	if d := fn*sxx - sx*sx; d != 0 {
		b = (fn*sxy - sx*sy) / d
	}
	a = (sy - b*sx) / fn
	var ss float64
	for i, v := range y {
		r := v - (a+b*float64(i))*s[wd[i]]
		ss += r * r
	}
	if n > 2 {
		sigma = math.Sqrt(ss / float64(n-2))
	}
	return a, b, s, sigma
}

// Backtest is the MAPE (percent) of horizon-day-ahead sums forecast from
// rolling origins over the second half of y, each fit on the days before
// its origin; ok is false when there is too little history or no nonzero
// actual.
func Backtest(y []float64, wd []time.Weekday, horizon int) (mape float64, ok bool) {
	n := len(y)
	first := max(n/2, 14)
	var sum float64
	var k int
	for o := first; o+horizon <= n; o++ {
		pred, _, _ := ProjectSeries(y[:o], wd[:o], wd[o:o+horizon])
		var actual float64
		for _, v := range y[o : o+horizon] {
			actual += v
		}
		if actual == 0 {
			continue
		}
		sum += math.Abs(pred-actual) / actual
		k++
	}
	if k == 0 {
		return 0, false
	}
	return 100 * sum / float64(k), true
}
