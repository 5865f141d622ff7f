package demo

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
	"llmmeter/jobs"
)

type shownForecast struct {
	CreatedAt int64 `json:"createdAt"`
	Rows      []struct {
		Method          string   `json:"method"`
		CostNanoUsd     int64    `json:"costNanoUsd"`
		CostLowNanoUsd  int64    `json:"costLowNanoUsd"`
		CostHighNanoUsd int64    `json:"costHighNanoUsd"`
		BacktestMape    *float64 `json:"backtestMape"`
	} `json:"rows"`
}

func seededStore(t *testing.T) (*sqlitestore.Store, Summary) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "llmmeter.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	// 30 days of history ending on 31 March: nearly all of it spent in March.
	sum, err := Generate(ctx, s, Options{Seed: 5, Now: testNow, Days: 30, Users: 3, Requests: 120})
	if err != nil {
		t.Fatal(err)
	}
	return s, sum
}

func shown(t *testing.T, s *sqlitestore.Store) shownForecast {
	t.Helper()
	v, err := s.Call(context.Background(), "query", "llmmeter:forecast", json.RawMessage(`{}`), store.Caller{Authenticated: true, IsAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	var f shownForecast
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// Before the fix the demo stamped its forecast with now, later than the
// job's run of the day (stamped at its 00:20 schedule), and hid it.
func TestDemoForecastDoesNotHideTheJobs(t *testing.T) {
	ctx := context.Background()
	s, sum := seededStore(t)
	jobRun := time.Date(2025, 3, 31, 0, 20, 0, 0, time.UTC) // the job's latest due run before testNow
	if err := s.StoreForecasts(ctx, jobRun, []jobs.Forecast{{Scope: "system", Month: "2025-03", Method: jobs.ForecastMethod, CostNanoUsd: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := SeedOps(ctx, s, sum, testNow); err != nil {
		t.Fatal(err)
	}
	f := shown(t, s)
	if f.CreatedAt != jobRun.UnixMilli() || len(f.Rows) != 1 || f.Rows[0].Method != jobs.ForecastMethod {
		t.Fatalf("llmmeter:forecast shows %+v, want the job's run of %v", f, jobRun)
	}
}

// Before the fix the demo's range floor was 85 % of a month at the
// history's rate, below the month's spend near the month's end ($23.04
// against $26.60), and its back-test error 0.08 in a field of percents.
func TestDemoForecastNotBelowActual(t *testing.T) {
	ctx := context.Background()
	s, sum := seededStore(t)
	if _, err := SeedOps(ctx, s, sum, testNow); err != nil {
		t.Fatal(err)
	}
	monthStart := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	rows, err := s.Aggregates(ctx, rollup.ScopeSystem, periods.Daily, monthStart, testNow.Add(24*time.Hour).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	var spent int64
	for _, r := range rows {
		spent += r.TotalCostNanoUsd
	}
	f := shown(t, s)
	if len(f.Rows) != 1 || spent == 0 {
		t.Fatalf("forecast %+v, spent %d", f, spent)
	}
	r := f.Rows[0]
	if r.CostLowNanoUsd < spent || r.CostNanoUsd < spent || r.CostHighNanoUsd < spent {
		t.Fatalf("projection %d [%d, %d] below the month's spend %d", r.CostNanoUsd, r.CostLowNanoUsd, r.CostHighNanoUsd, spent)
	}
	if r.BacktestMape == nil || *r.BacktestMape != 8 {
		t.Fatalf("backtestMape %v, want 8 (percent)", r.BacktestMape)
	}
}
