package jobs_test

import (
	"encoding/json"
	"testing"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/store"
	"llmmeter/jobs"
)

// adminAlert is a row of admin:alerts (the same shape on both engines).
type adminAlert struct {
	ID             string            `json:"id"`
	Severity       jobs.Severity     `json:"severity"`
	ConditionKey   string            `json:"conditionKey"`
	IsResolved     bool              `json:"isResolved"`
	UserName       *string           `json:"userName"`
	History        []jobs.Escalation `json:"history"`
	AcknowledgedAt *int64            `json:"acknowledgedAt"`
	SilencedUntil  *int64            `json:"silencedUntil"`
}

// TestAlertLifecycle drives one quota's alert through acknowledgement,
// silence, escalation, a resolve by hand while the condition holds, and a
// silence carried over to the next firing, through the real admin
// functions of each engine. The admin functions check silences against
// the real clock, so the job's clock starts tomorrow (within 90 days).
func TestAlertLifecycle(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		ids := users(t, e, "bob")
		base := time.UnixMilli(e.cal.Next(periods.Daily, time.Now().UnixMilli())).In(e.loc).Add(time.Minute)
		qid := e.setQuota(t, ids[0], jobs.QuotaDailyRequests, 10, base.Add(24*time.Hour).UnixMilli())
		k := "quota:" + qid
		cfg := jobs.DefaultConfig()
		cfg.QuotaThresholds = []int{50, 90, 100} // info, warning, critical
		cfg.RepeatInterval = time.Hour
		cfg.ErrorRateMinRequests = 1_000_000
		rec := &recorder{}
		clk := &clock{}
		s := newScheduler(t, e.st, e.loc, clk, "a")
		s.Add(&jobs.Alerts{Store: e.st, Cal: e.cal, Cfg: cfg, Notifier: rec}, "* * * * *")
		run := func(at time.Duration) jobs.Counts {
			t.Helper()
			clk.Set(base.Add(at))
			runs, err := s.RunDue(ctx, jobs.JobAlerts)
			if err != nil || len(runs) == 0 {
				t.Fatalf("run at +%s: %v %v", at, runs, err)
			}
			return runs[len(runs)-1].Counts
		}
		g := &gen{}
		requests := func(at time.Duration, n int) {
			var b store.Batch
			for i := range n {
				u, l := g.request(base.Add(at+time.Duration(i)*time.Second), ids[0], "openai/gpt-4o", true, 300)
				b.Usage, b.RequestLogs = append(b.Usage, u), append(b.RequestLogs, l)
			}
			e.ingest(t, b)
		}
		rows := func() []adminAlert { // the condition's rows, live first
			t.Helper()
			var all, out []adminAlert
			if err := json.Unmarshal(e.admin(t, "query", "llmmeter:alerts", map[string]any{"limit": 200}), &all); err != nil {
				t.Fatal(err)
			}
			for _, a := range all {
				if a.ConditionKey == k {
					out = append(out, a)
				}
			}
			return out
		}
		mutate := func(path string, args map[string]any) map[string]any {
			t.Helper()
			var out map[string]any
			if err := json.Unmarshal(e.admin(t, "mutation", path, args), &out); err != nil {
				t.Fatal(err)
			}
			return out
		}

		// 50 %: opened at info, notified, named after its user.
		requests(0, 5)
		run(time.Minute)
		r := rows()
		if len(r) != 1 || r[0].Severity != jobs.SeverityInfo || rec.count(k) != 1 || r[0].UserName == nil || *r[0].UserName != "bob" {
			t.Fatalf("opened: %+v notified %d", r, rec.count(k))
		}
		first := r[0].ID
		// Acknowledged: not repeated after the repeat interval.
		if got := mutate("llmmeter:acknowledgeAlert", map[string]any{"alertId": first}); got["acknowledged"] != true {
			t.Fatalf("acknowledge: %v", got)
		}
		run(2 * time.Hour)
		if rec.count(k) != 1 {
			t.Fatalf("acknowledged alert repeated: %v", rec.sent)
		}
		// Silenced, then 90 %: escalates in place, the acknowledgement
		// cleared, not notified while silenced.
		silence := base.Add(5 * time.Hour).UnixMilli()
		if got := mutate("llmmeter:silenceAlert", map[string]any{"alertId": first, "until": silence}); got["silencedUntil"] != float64(silence) {
			t.Fatalf("silence: %v", got)
		}
		requests(2*time.Hour+time.Minute, 4)
		if c := run(2*time.Hour + 2*time.Minute); c["escalated"] != 1 {
			t.Fatalf("escalation counts %v", c)
		}
		r = rows()
		if len(r) != 1 || r[0].ID != first || r[0].Severity != jobs.SeverityWarning || len(r[0].History) != 2 || r[0].AcknowledgedAt != nil ||
			r[0].SilencedUntil == nil || rec.count(k) != 1 {
			t.Fatalf("silenced escalation: %+v notified %d", r, rec.count(k))
		}
		// The silence runs out: the escalation is notified at once.
		run(5*time.Hour + time.Minute)
		if rec.count(k) != 2 {
			t.Fatalf("after the silence: %v", rec.sent)
		}
		// Resolved by hand while the condition holds: held, no new row.
		if got := mutate("llmmeter:resolveAlert", map[string]any{"alertId": first}); got["resolved"] != true {
			t.Fatalf("resolve: %v", got)
		}
		if c := run(5*time.Hour + 2*time.Minute); c["held"] != 1 || c["opened"] != 0 {
			t.Fatalf("held counts %v", c)
		}
		if r = rows(); len(r) != 1 || !r[0].IsResolved || rec.count(k) != 2 {
			t.Fatalf("held: %+v notified %d", r, rec.count(k))
		}
		// 100 %: higher than the held warning, so a new row opens.
		requests(5*time.Hour+3*time.Minute, 1)
		run(5*time.Hour + 4*time.Minute)
		r = rows()
		if len(r) != 2 || r[0].ID == first || r[0].Severity != jobs.SeverityCritical || r[0].IsResolved || rec.count(k) != 3 {
			t.Fatalf("critical after the held warning: %+v notified %d", r, rec.count(k))
		}
		second := r[0].ID
		for _, a := range mustOpen(t, e.st) {
			if a.ID == first {
				t.Fatalf("the held row is still live after the new row opened: %+v", a)
			}
		}
		// A new day: the count starts over, the condition clears.
		if c := run(24*time.Hour + time.Minute); c["resolved"] != 1 {
			t.Fatalf("clear counts %v", c)
		}
		// A silence set on the resolved row carries over to the next firing.
		next := base.Add(30 * time.Hour).UnixMilli()
		mutate("llmmeter:silenceAlert", map[string]any{"alertId": second, "until": next})
		requests(24*time.Hour+2*time.Minute, 5)
		run(24*time.Hour + 3*time.Minute)
		r = rows() // by severity: the resolved critical, the resolved warning, the new info
		if len(r) != 3 || r[0].ID != second || r[1].ID != first || !r[0].IsResolved || !r[1].IsResolved || r[2].IsResolved ||
			r[2].SilencedUntil == nil || *r[2].SilencedUntil != next || rec.count(k) != 3 {
			t.Fatalf("next firing: %+v notified %d", r, rec.count(k))
		}
		run(30*time.Hour + time.Minute)
		if rec.count(k) != 4 {
			t.Fatalf("after the carried silence: %v", rec.sent)
		}
	})
}

func mustOpen(t *testing.T, st jobs.Store) []jobs.Alert {
	t.Helper()
	open, err := st.OpenAlerts(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return open
}
