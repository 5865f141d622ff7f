package jobs_test

import (
	"testing"
	"time"

	"llmmeter/jobs"
)

// TestRunWindowIsNotACount (issue 11 §10): a run's window is stored in
// fields of its own on both engines, read back by the scheduler, and no
// longer mixed into Counts (before the fix Counts held "windowFrom" and
// "windowTo" next to the job's counters).
func TestRunWindowIsNotACount(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		clk := &clock{}
		clk.Set(futureHour().Add(10 * time.Minute))
		s := newScheduler(t, e.st, e.loc, clk, "a")
		p := newProbe("hourly")
		s.Add(p, "@hourly")
		if _, err := s.RunDue(ctx, "hourly"); err != nil {
			t.Fatal(err)
		}
		runs, err := e.st.Runs(ctx, "hourly", jobs.OutcomeSuccess, 10)
		if err != nil || len(runs) != 1 {
			t.Fatalf("runs %+v %v", runs, err)
		}
		r := runs[0]
		to := futureHour().UnixMilli()
		if r.WindowTo != to || r.WindowFrom != to-time.Hour.Milliseconds() {
			t.Fatalf("window [%d, %d), want [%d, %d)", r.WindowFrom, r.WindowTo, to-time.Hour.Milliseconds(), to)
		}
		if len(r.Counts) != 1 || r.Counts["x"] != 1 {
			t.Fatalf("counts %v, want only the job's own", r.Counts)
		}
		// The stored window end is where the next catch-up starts.
		clk.Add(2 * time.Hour)
		next, err := s.RunDue(ctx, "hourly")
		if err != nil || len(next) != 2 || next[0].WindowFrom != to {
			t.Fatalf("catch-up %+v %v", next, err)
		}
	})
}

// TestLegacyRunWindowStillRead: a run recorded before windows had fields of
// their own kept its window end in Counts["windowTo"]; catch-up still
// starts there, on both engines.
func TestLegacyRunWindowStillRead(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		to := futureHour()
		legacy := jobs.Run{Job: "hourly", StartedAt: to.Add(5 * time.Minute).UnixMilli(), EndedAt: to.Add(6 * time.Minute).UnixMilli(),
			Outcome: jobs.OutcomeSuccess, Counts: jobs.Counts{"windowTo": to.UnixMilli()}}
		if err := e.st.RecordRun(ctx, legacy); err != nil {
			t.Fatal(err)
		}
		clk := &clock{}
		clk.Set(to.Add(2*time.Hour + 10*time.Minute))
		s := newScheduler(t, e.st, e.loc, clk, "a")
		s.Add(newProbe("hourly"), "@hourly")
		runs, err := s.RunDue(ctx, "hourly")
		if err != nil || len(runs) != 2 || runs[0].WindowFrom != to.UnixMilli() {
			t.Fatalf("catch-up %+v %v, want 2 windows from %d", runs, err, to.UnixMilli())
		}
	})
}
