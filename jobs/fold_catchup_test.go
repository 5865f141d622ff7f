package jobs_test

import (
	"encoding/json"
	"testing"
	"time"

	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
	"llmmeter/internal/store"
	"llmmeter/jobs"
)

// foldTheOldWay folds every pending row as a version without the read
// model did: aggregates added, rows marked folded, no period summary
// written.
func foldTheOldWay(t *testing.T, e *engine) {
	t.Helper()
	for {
		p, err := e.st.PendingRows(ctx, fold.DefaultLimit)
		if err != nil {
			t.Fatal(err)
		}
		if p.Len() == 0 {
			return
		}
		v, err := e.st.FoldVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		a := fold.Compute(e.cal, p)
		a.Version = v
		if err := e.st.ApplyFold(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
}

// A store upgraded from a version without period summaries holds rows
// folded the old way (aggregates, no summaries) for a closed month and part
// of the current one, and the current month's summary has since been built
// by the fold from empty. The fold job's first run rebuilds both months
// itself, one month per run, with no operator step, on both engines, and
// folds new rows in between: the admin reads then
// count every user, model and nano; later runs do not rebuild again.
// (TestRebuildSummaries shows a rebuild answers what the fold built.)
func TestFoldCatchesUpSummariesOfAnUpgradedStore(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		unfoldedIngest(e)
		ids := users(t, e, "ana", "bo", "cy")
		g := &gen{}
		feb := time.Date(2027, 2, 26, 22, 0, 0, 0, e.loc) // its week runs into March
		mar := time.Date(2027, 3, 2, 9, 0, 0, 0, e.loc)
		now := mar.Add(5 * time.Hour)
		models := []string{"m/a", "m/b", "m/c"}
		wantCost := map[string]int64{}
		febUser := map[string]int64{} // February's cost per user
		var old, after store.Batch
		for i := range 18 {
			at := feb.Add(time.Duration(i) * 3 * time.Hour) // Feb 26 to Mar 1
			u, l := g.request(at, ids[i%3], models[i%3], i%5 != 0, int64(60*i+20))
			old.Usage, old.RequestLogs = append(old.Usage, u), append(old.RequestLogs, l)
			wantCost[u.Model] += int64(u.Cost)
			if at.Month() == time.February {
				febUser[u.UserID] += int64(u.Cost)
			}
		}
		old.Activity = append(old.Activity, g.activity(feb, ids[0], "conversation_started"))
		e.ingest(t, old)
		foldTheOldWay(t, e)
		// After the upgrade: two more calls, folded the new way.
		for i := range 2 {
			u, l := g.request(mar.Add(time.Duration(i)*time.Hour), ids[i], models[i], true, 33)
			after.Usage, after.RequestLogs = append(after.Usage, u), append(after.RequestLogs, l)
			wantCost[u.Model] += int64(u.Cost)
		}
		e.ingest(t, after)
		foldAll(t, e.st, e)

		febMonth := e.cal.Of(periods.Monthly, feb.UnixMilli())
		marMonth := e.cal.Of(periods.Monthly, mar.UnixMilli())
		windows := []map[string]any{
			{"from": febMonth.Start, "to": marMonth.Start},                        // the closed month
			{"from": marMonth.Start, "to": now.UnixMilli()},                       // the current one so far
			{"from": feb.Add(-24 * time.Hour).UnixMilli(), "to": now.UnixMilli()}, // days, a week, hours across both
		}
		reads := func() []string {
			var out []string
			for _, w := range windows {
				out = append(out, string(e.admin(t, "query", "llmmeter:overview", w)),
					string(e.admin(t, "query", "llmmeter:modelStats", w)),
					string(e.admin(t, "query", "llmmeter:topUsers", map[string]any{"from": w["from"], "to": w["to"], "by": "cost", "limit": 10})))
			}
			return out
		}
		cost := func() map[string]int64 {
			var stats []struct {
				Model       string `json:"model"`
				CostNanoUsd int64  `json:"costNanoUsd"`
			}
			raw := e.admin(t, "query", "llmmeter:modelStats", windows[2])
			if err := json.Unmarshal(raw, &stats); err != nil {
				t.Fatal(err)
			}
			out := map[string]int64{}
			for _, s := range stats {
				out[s.Model] = s.CostNanoUsd
			}
			return out
		}
		if got := cost(); len(got) == len(wantCost) && got["m/c"] == wantCost["m/c"] {
			t.Fatalf("before the fold job ran, modelStats %v already whole: the old-way state was not set up", got)
		}

		job := &jobs.Fold{Store: e.st, Cal: e.cal}
		// One month per run, the current one first; new rows fold between.
		u, l := g.request(mar.Add(3*time.Hour), ids[2], "m/c", true, 40)
		e.ingest(t, store.Batch{Usage: []store.Usage{u}, RequestLogs: []store.RequestLog{l}})
		wantCost[u.Model] += int64(u.Cost)
		for run, want := range []int64{1, 1} {
			counts, err := job.Run(ctx, jobs.Window{To: now})
			if err != nil || counts["rebuiltMonths"] != want || (run == 0 && counts["rows"] != 2) {
				t.Fatalf("fold run %d: %v, %v; want a month rebuilt (and the new call folded in the first)", run, counts, err)
			}
		}
		if got := cost(); len(got) != len(wantCost) || got["m/a"] != wantCost["m/a"] || got["m/b"] != wantCost["m/b"] || got["m/c"] != wantCost["m/c"] {
			t.Fatalf("after the catch-up modelStats costs %v, want %v", got, wantCost)
		}
		var ov struct {
			ActiveUsers int `json:"activeUsers"`
		}
		if err := json.Unmarshal(e.admin(t, "query", "llmmeter:overview", windows[0]), &ov); err != nil || ov.ActiveUsers != 3 {
			t.Fatalf("February's overview: %+v, %v; want 3 active users", ov, err)
		}
		var top []struct {
			UserID      string `json:"userId"`
			CostNanoUsd int64  `json:"costNanoUsd"`
		}
		raw := e.admin(t, "query", "llmmeter:topUsers", map[string]any{"from": windows[0]["from"], "to": windows[0]["to"], "by": "cost", "limit": 10})
		if err := json.Unmarshal(raw, &top); err != nil || len(top) != len(febUser) {
			t.Fatalf("February's top users %s: want %d users", raw, len(febUser))
		}
		for _, u := range top {
			if u.CostNanoUsd != febUser[u.UserID] {
				t.Fatalf("February's top users %s: want costs %v", raw, febUser)
			}
		}
		caughtUp := reads()
		// Later runs, and a new process's first run on a healthy store,
		// rebuild nothing.
		if counts, err := job.Run(ctx, jobs.Window{To: now}); err != nil || counts["rebuiltMonths"] != 0 {
			t.Fatalf("second run: %v, %v", counts, err)
		}
		if counts, err := (&jobs.Fold{Store: e.st, Cal: e.cal}).Run(ctx, jobs.Window{To: now}); err != nil || counts["rebuiltMonths"] != 0 {
			t.Fatalf("a new process on a healthy store: %v, %v; want nothing rebuilt", counts, err)
		}
		for i, r := range reads() {
			if r != caughtUp[i] {
				t.Fatalf("read %d moved after runs that rebuilt nothing:\n%s\nwas\n%s", i, r, caughtUp[i])
			}
		}
	})
}
