package demo

import (
	"context"
	"fmt"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/jobs"
)

// The operations SeedOps uses, each optional: a store that lacks one is
// skipped for that part (store.Store itself has none of them).
type (
	alertOpener interface {
		OpenAlert(ctx context.Context, a jobs.Alert) (jobs.Alert, bool, error)
	}
	alertEscalator interface {
		EscalateAlert(ctx context.Context, id string, a jobs.Alert) (bool, error)
	}
	alertResolver interface {
		ResolveAlert(ctx context.Context, conditionKey string, now time.Time) (int, error)
	}
	healthStorer interface {
		StoreHealth(ctx context.Context, h jobs.Health) error
	}
	reportStorer interface {
		StoreReport(ctx context.Context, r jobs.Report) ([]jobs.ReportDelivery, error)
	}
	forecastStorer interface {
		StoreForecasts(ctx context.Context, createdAt time.Time, rows []jobs.Forecast) error
	}
	aggregateReader interface {
		Aggregates(ctx context.Context, scope string, period periods.Period, from, to int64) ([]rollup.Row, error)
	}
)

// demoForecastAge is how long before now the demo stamps its forecast.
// llmmeter:forecast shows the run with the latest stamp, and the forecast job
// runs daily, stamping each run with its scheduled time: its latest due run
// is less than a day old, so a demo forecast stamped a day and an hour ago
// never hides it, while a store the job never ran on still shows the demo's.
const demoForecastAge = 25 * time.Hour

// OpsSummary says which operational rows SeedOps wrote.
type OpsSummary struct {
	Alerts    int  `json:"alerts"`
	Resolved  int  `json:"resolved"`
	Health    bool `json:"health"`
	Reports   int  `json:"reports"`
	Forecasts int  `json:"forecasts"`
}

// SeedOps adds what the scheduled jobs would have written after the traffic
// in sum: open alerts (and one resolved), a health check, daily reports and
// a month-end forecast, so every portal page has something to show. Each
// part is written only if s supports it. now is the end of the history, in
// the reporting time zone: the reports' days and the forecast's month are
// its, as the jobs' are.
func SeedOps(ctx context.Context, s any, sum Summary, now time.Time) (OpsSummary, error) {
	var out OpsSummary
	if a, ok := s.(alertOpener); ok {
		alerts := []jobs.Alert{
			{ConditionKey: "demo:cost-spike", AlertType: "cost_spike", Severity: jobs.SeverityCritical,
				Message: "Hourly cost is 3.4× the trailing 7-day average.", Metadata: map[string]any{"ratio": 3.4}},
			{ConditionKey: "demo:error-rate:perplexity/sonar-reasoning", AlertType: "error_rate", Severity: jobs.SeverityWarning,
				Message: "Error rate of perplexity/sonar-reasoning is 7.5% over the last hour (threshold 5%)."},
			{ConditionKey: "demo:quota-near", AlertType: "cost_budget", Severity: jobs.SeverityInfo,
				Message: "80% of the monthly cost quota used ($8.00 of $10.00)", CreatedAt: now.Add(-3 * time.Hour).UnixMilli()},
			{ConditionKey: "demo:outbox-depth", AlertType: "outbox_backlog", Severity: jobs.SeverityWarning,
				Message: "Outbox depth was over 500 rows for 10 minutes."},
		}
		if len(sum.UserIDs) > 0 {
			alerts[2].UserID = sum.UserIDs[0]
		}
		for i, al := range alerts {
			row, created, err := a.OpenAlert(ctx, al)
			if err != nil {
				return out, fmt.Errorf("demo: open alert: %w", err)
			}
			if created {
				out.Alerts++
			}
			// The quota alert escalated since it opened: one row, its history.
			if e, ok := s.(alertEscalator); ok && i == 2 && created {
				up := al
				up.Severity, up.CreatedAt = jobs.SeverityWarning, now.Add(-time.Hour).UnixMilli()
				up.Message = "90% of the monthly cost quota used ($9.02 of $10.00)"
				if _, err := e.EscalateAlert(ctx, row.ID, up); err != nil {
					return out, fmt.Errorf("demo: escalate alert: %w", err)
				}
			}
		}
		if r, ok := s.(alertResolver); ok {
			n, err := r.ResolveAlert(ctx, "demo:outbox-depth", now)
			if err != nil {
				return out, fmt.Errorf("demo: resolve alert: %w", err)
			}
			out.Resolved = n
		}
	}
	if h, ok := s.(healthStorer); ok {
		left := int64(41_250_000_000) // $41.25 of OpenRouter credit left
		err := h.StoreHealth(ctx, jobs.Health{CheckedAt: now.UnixMilli(), OpenRouterOK: true, KeyRemainingNanoUsd: &left,
			StoreOK: true, OutboxDepth: 3, JobLagMs: 1200, Details: map[string]any{"source": "demo"}})
		if err != nil {
			return out, fmt.Errorf("demo: store health: %w", err)
		}
		out.Health = true
	}
	if r, ok := s.(reportStorer); ok {
		for d := 1; d <= 3; d++ {
			day := now.AddDate(0, 0, -d)
			key := day.Format("2006-01-02")
			rep := jobs.Report{
				Kind: "daily", PeriodKey: key, CreatedAt: time.Date(day.Year(), day.Month(), day.Day()+1, 0, 10, 0, 0, now.Location()).UnixMilli(),
				Body: map[string]any{"periodKey": key, "source": "demo", "note": "a demo report; the report job writes real ones"},
				CSV:  "periodKey,source\n" + key + ",demo\n",
			}
			if _, err := r.StoreReport(ctx, rep); err != nil {
				return out, fmt.Errorf("demo: store report: %w", err)
			}
			out.Reports++
		}
	}
	if f, ok := s.(forecastStorer); ok && sum.Requests > 0 {
		// The history's cost rate over a whole month, with a ±15 % band.
		start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
		end := start.AddDate(0, 1, 0)
		perMs := float64(sum.Cost) / float64(time.Duration(sum.To-sum.From)*time.Millisecond+1)
		cost := int64(perMs * float64(end.Sub(start)))
		mape := 8.0 // percent, as the job stores it
		row := jobs.Forecast{Scope: "system", Month: start.Format("2006-01"), Method: "demo-linear",
			CostNanoUsd: cost, CostLowNanoUsd: cost * 85 / 100, CostHighNanoUsd: cost * 115 / 100,
			Tokens: sum.Tokens, TokensLow: sum.Tokens * 85 / 100, TokensHigh: sum.Tokens * 115 / 100, BacktestMape: &mape}
		// Like the job's, the demo's projection is never below what the month already spent.
		if a, ok := s.(aggregateReader); ok {
			rows, err := a.Aggregates(ctx, rollup.ScopeSystem, periods.Daily, start.UnixMilli(), now.Add(24*time.Hour).UnixMilli())
			if err != nil {
				return out, fmt.Errorf("demo: read aggregates: %w", err)
			}
			var spent, tokens int64
			for _, r := range rows {
				spent += r.TotalCostNanoUsd
				tokens += r.TotalTokens
			}
			jobs.FloorAtActual(&row, spent, tokens)
		}
		if err := f.StoreForecasts(ctx, now.Add(-demoForecastAge), []jobs.Forecast{row}); err != nil {
			return out, fmt.Errorf("demo: store forecast: %w", err)
		}
		out.Forecasts = 1
	}
	return out, nil
}
