package jobs_test

import (
	"fmt"
	"testing"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/store"
	"llmmeter/jobs"
)

// TestReportSumsTheUsersPastItsTop: a day with 103 users lists the top
// 100 by name and the other three as one rest row, so the user rows add
// up to the day's totals in the body and in the CSV (the report used to
// drop them without a word).
func TestReportSumsTheUsersPastItsTop(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		day := time.Date(time.Now().Year()+6, 6, 10, 0, 0, 0, 0, e.loc)
		g := &gen{n: 50_000}
		var b store.Batch
		for i := range 103 {
			u, _, err := e.st.EnsureUser(ctx, store.EnsureUserInput{ExternalID: fmt.Sprintf("rest-%03d", i)})
			if err != nil {
				t.Fatal(err)
			}
			r, l := g.request(day.Add(time.Duration(i)*time.Minute), u.ID, "m/a", true, int64(100+i))
			b.Usage, b.RequestLogs = append(b.Usage, r), append(b.RequestLogs, l)
		}
		e.ingest(t, b)
		r := &jobs.Reports{Store: e.st, Cal: e.cal, Period: periods.Daily}
		if _, err := r.Run(ctx, jobs.Window{To: day.AddDate(0, 0, 1).Add(15 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		body := e.report(t, "daily", day.Format("2006-01-02"))
		num := func(m map[string]any, k string) int64 {
			switch v := m[k].(type) {
			case float64:
				return int64(v)
			case int64:
				return v
			case int:
				return int64(v)
			}
			t.Fatalf("%s: %T %v", k, m[k], m[k])
			return 0
		}
		users, _ := body["byUser"].([]any)
		rest, _ := body["byUserRest"].(map[string]any)
		if len(users) != 100 || rest == nil || num(rest, "count") != 3 {
			t.Fatalf("%d users listed, rest %v", len(users), rest)
		}
		totals := body["totals"].(map[string]any)
		for _, k := range []string{"requests", "totalTokens", "costNanoUsd"} {
			sum := num(rest, k)
			for _, u := range users {
				sum += num(u.(map[string]any), k)
			}
			if sum != num(totals, k) || num(rest, k) == 0 {
				t.Errorf("%s: the user rows add up to %d (rest %d), the totals say %d", k, sum, num(rest, k), num(totals, k))
			}
		}
		if _, ok := body["byModelRest"]; ok {
			t.Error("one model, yet a model rest row")
		}
	})
}
