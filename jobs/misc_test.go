package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
	"llmmeter/jobs"
	"llmmeter/openrouter"
)

// TestHealthReportsForecastBackfill runs the remaining jobs on both engines.
func TestHealthReportsForecastBackfill(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		ids := users(t, e, "alice", "bob")
		y := time.Now().Year() + 2
		clk := &clock{}
		cfg := jobs.DefaultConfig()
		cfg.Holder = "test"
		gens := &fakeGen{}
		svc, err := jobs.New(cfg, jobs.Deps{Store: e.st, Location: e.loc, Key: &fakeKey{remaining: 3 * money.NanosPerUSD},
			Outbox: &fakeOutbox{s: outbox.Stats{Ready: 4, Pending: 3}}, Generations: gens, Notifier: &recorder{}, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}

		t.Run("health", func(t *testing.T) {
			clk.Set(time.Date(y, 4, 2, 9, 30, 0, 0, e.loc))
			if _, err := svc.RunDue(ctx, jobs.JobHealth); err != nil {
				t.Fatal(err)
			}
			h := e.latestHealth(t)
			if h["openrouterOk"] != true || h["storeOk"] != true || h["keyRemainingNanoUsd"] != int64(3e9) || h["outboxDepth"] != int64(7) ||
				h["checkedAt"] != clk.Now().UnixMilli() {
				t.Fatalf("health %v", h)
			}
		})

		t.Run("reports", func(t *testing.T) {
			g := &gen{}
			day := time.Date(y, 4, 7, 0, 0, 0, 0, e.loc) // a Wednesday
			var b store.Batch
			var cost, tokens int64
			for i := range 12 {
				u, l := g.request(day.Add(time.Duration(i)*time.Hour+time.Minute), ids[i%2], []string{"m/a", "m/b", "m/c"}[i%3], i%4 != 0, 500)
				b.Usage, b.RequestLogs = append(b.Usage, u), append(b.RequestLogs, l)
				cost, tokens = cost+int64(u.Cost), tokens+u.TotalTokens
			}
			e.ingest(t, b)
			clk.Set(day.AddDate(0, 0, 1).Add(15 * time.Minute))
			if _, err := svc.RunOnce(ctx, jobs.JobReportDaily); err != nil {
				t.Fatal(err)
			}
			body := e.report(t, "daily", day.Format("2006-01-02"))
			tot := body["totals"].(map[string]any)
			if tot["requests"] != float64(12) || tot["failed"] != float64(3) || tot["costNanoUsd"] != float64(cost) || tot["totalTokens"] != float64(tokens) {
				t.Fatalf("totals %v (want cost %d tokens %d)", tot, cost, tokens)
			}
			if len(body["byUser"].([]any)) != 2 || len(body["byModel"].([]any)) != 3 || body["topErrors"].([]any)[0].(map[string]any)["count"] != float64(3) {
				t.Fatalf("body %v", body)
			}
			// Weekly: the ISO week of that day, reported on the Monday after.
			_, wk := day.ISOWeek()
			clk.Set(day.AddDate(0, 0, 1).Add(30 * time.Minute))
			for clk.Now().Weekday() != time.Monday {
				clk.Add(24 * time.Hour)
			}
			if _, err := svc.RunOnce(ctx, jobs.JobReportWeekly); err != nil {
				t.Fatal(err)
			}
			wb := e.report(t, "weekly", day.Format("2006")+"-W"+twoDigits(wk))
			if wb["totals"].(map[string]any)["requests"] != float64(12) {
				t.Fatalf("weekly %v", wb["totals"])
			}
			rep, err := svc.Report(ctx, "daily", day.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			jobs.ExportJSON(&buf, rep)
			if !strings.HasPrefix(rep.CSV, "section,id,name,email,periodKey,requests") || !strings.Contains(rep.CSV, "\nuser,") || !strings.Contains(rep.CSV, "\nsystem,all,") || !strings.Contains(buf.String(), `"periodKey"`) {
				t.Fatalf("exports: %s", rep.CSV)
			}
		})

		t.Run("forecast", func(t *testing.T) {
			now := time.Date(y, 8, 15, 12, 0, 0, 0, e.loc)
			g := &gen{n: 5000} // ids distinct from the other subtests' rows
			var b store.Batch
			factor := [7]float64{0.5, 1, 1.1, 1.2, 1.1, 1, 0.6}
			var truth float64 // the system's true month total
			monthStart := time.Date(y, 8, 1, 0, 0, 0, 0, e.loc)
			for d := now.AddDate(0, 0, -60); d.Before(time.Date(y, 9, 1, 0, 0, 0, 0, e.loc)); d = d.AddDate(0, 0, 1) {
				i := d.Sub(now).Hours() / 24
				want := 1e6 * (1 + 0.01*i) * factor[d.Weekday()]
				if !d.Before(monthStart) {
					truth += 2 * want
				}
				if !d.Before(time.Date(y, 8, 15, 0, 0, 0, 0, e.loc)) {
					continue // the future is not ingested
				}
				for _, uid := range ids {
					u, _ := g.request(time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, e.loc), uid, "m/a", true, 100)
					u.Cost = money.Nanos(math.Round(want))
					b.Usage = append(b.Usage, u)
				}
			}
			e.ingest(t, b)
			clk.Set(now)
			f := &jobs.Forecasts{Store: e.st, Cal: e.cal, HistoryDays: 56}
			rows, err := f.Compute(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			sys := rows[0]
			if sys.Scope != "system" || len(rows) != 3 || sys.BacktestMape == nil || *sys.BacktestMape > 2 {
				t.Fatalf("rows %+v (mape %v)", rows, *sys.BacktestMape)
			}
			if rel := math.Abs(float64(sys.CostNanoUsd)-truth) / truth; rel > 0.02 || sys.CostLowNanoUsd > sys.CostNanoUsd || sys.CostHighNanoUsd < sys.CostNanoUsd {
				t.Fatalf("forecast %d [%d, %d], truth %.0f (off by %.1f%%)", sys.CostNanoUsd, sys.CostLowNanoUsd, sys.CostHighNanoUsd, truth, 100*rel)
			}
			if _, err := svc.RunOnce(ctx, jobs.JobForecast); err != nil {
				t.Fatal(err)
			}
			if n := e.forecastCount(t); n != 3 {
				t.Fatalf("stored %d forecast rows, want 3", n)
			}
			// Each row reads back with the history it rests on: 60 days of
			// data fill the 56-day window.
			var stored struct {
				Rows []struct {
					HistoryDays any `json:"historyDays"`
				} `json:"rows"`
			}
			if err := json.Unmarshal(e.admin(t, "query", "llmmeter:forecast", map[string]any{}), &stored); err != nil {
				t.Fatal(err)
			}
			for i, r := range stored.Rows {
				if r.HistoryDays != float64(56) {
					t.Fatalf("row %d: historyDays %v, want 56", i, r.HistoryDays)
				}
			}
		})

		t.Run("backfill", func(t *testing.T) {
			at := time.Date(y, 10, 3, 10, 0, 0, 0, e.loc)
			g := &gen{n: 10_000}
			var b store.Batch
			for i := range 3 {
				u, l := g.request(at.Add(time.Duration(i)*time.Minute), ids[0], "m/a", true, 100)
				u.CostStatus, u.Cost = store.CostEstimated, 100
				b.Usage, b.RequestLogs = append(b.Usage, u), append(b.RequestLogs, l)
			}
			e.ingest(t, b)
			gens.missing = b.Usage[2].GenerationID
			clk.Set(at.Add(10 * time.Minute))
			r, err := svc.RunOnce(ctx, jobs.JobBackfill)
			if err != nil {
				t.Fatal(err)
			}
			if r.Counts["confirmed"] != 2 || r.Counts["notFound"] != 1 {
				t.Fatalf("counts %v", r.Counts)
			}
			for i := range 2 {
				u := &b.Usage[i]
				u.PromptTokens, u.CompletionTokens, u.TotalTokens, u.CachedTokens, u.ReasoningTokens, u.Cost = 1000, 500, 1500, 40, 30, 2_000_000
			}
			checkAggregates(t, e, expectedAggs(e.cal, b), at.Add(-time.Hour).UnixMilli(), at.Add(time.Hour).UnixMilli())
			// Confirmed rows are not looked up again.
			r, _ = svc.RunOnce(ctx, jobs.JobBackfill)
			if r.Counts["estimated"] != 1 {
				t.Fatalf("second pass %v", r.Counts)
			}
		})

		t.Run("cli", func(t *testing.T) {
			var out bytes.Buffer
			if err := jobs.Command(ctx, svc, []string{"runs", "-limit", "50"}, &out, &out); err != nil {
				t.Fatal(err)
			}
			for _, j := range []string{"health", "report_daily", "forecast", "backfill"} {
				if !strings.Contains(out.String(), j) {
					t.Fatalf("runs lack %s:\n%s", j, out.String())
				}
			}
			out.Reset()
			if err := jobs.Command(ctx, svc, []string{"list"}, &out, &out); err != nil || !strings.Contains(out.String(), "5 * * * *") {
				t.Fatalf("list: %v\n%s", err, out.String())
			}
		})
	})
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

type fakeGen struct{ missing string }

func (f *fakeGen) GetGeneration(_ context.Context, id string) (*openrouter.Generation, error) {
	if id == f.missing {
		return nil, openrouter.ErrGenerationNotFound
	}
	return &openrouter.Generation{ID: id, TokensPrompt: 1000, TokensCompletion: 500, NativeTokensCached: 40, NativeTokensReasoning: 30, TotalCost: 2_000_000}, nil
}

// TestForecastMethod: on a noisy trend-and-weekday history the 7-day
// backtest error stays small, and a flat history forecasts flat.
func TestForecastMethod(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	factor := [7]float64{0.4, 1, 1.2, 1.3, 1.2, 1.1, 0.5}
	var y []float64
	var wd []time.Weekday
	for i := range 84 {
		w := time.Weekday(i % 7)
		y = append(y, 1000*(1+0.005*float64(i))*factor[w]*(1+0.05*(r.Float64()-0.5)))
		wd = append(wd, w)
	}
	mape, ok := jobs.Backtest(y, wd, 7)
	if !ok || mape > 5 {
		t.Fatalf("MAPE %.2f%%", mape)
	}
	flat := make([]float64, 28)
	for i := range flat {
		flat[i] = 10
	}
	p, lo, hi := jobs.ProjectSeries(flat, wd[:28], wd[:10])
	if math.Abs(p-100) > 1e-6 || lo != p || hi != p {
		t.Fatalf("flat: %v [%v, %v]", p, lo, hi)
	}
}
