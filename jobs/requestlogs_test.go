package jobs_test

import (
	"testing"
	"time"

	"llmmeter/internal/store"
	"llmmeter/jobs"
)

// TestEachRequestLogReadsToTheEnd (issue 14): the error-rate alert read at
// most 100 pages and the reports' error list 200, then reported on what
// they had as if it were everything. EachRequestLog, which both use now,
// reads to the last page: 250 rows in pages of one row (250 pages, past
// both old bounds) are all seen, on both engines, and nothing outside
// [from, to).
func TestEachRequestLogReadsToTheEnd(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		ids := users(t, e, "pager")
		at := time.Date(time.Now().Year()+2, 6, 10, 9, 0, 0, 0, e.loc)
		g := &gen{}
		var b store.Batch
		for i := range 252 {
			// rows 0 and 251 fall just outside the window
			_, l := g.request(at.Add(time.Duration(i)*time.Second), ids[0], "openai/gpt-4o", i%5 != 0, 100)
			b.RequestLogs = append(b.RequestLogs, l)
		}
		e.ingest(t, b)
		from, to := at.Add(time.Second).UnixMilli(), at.Add(251*time.Second).UnixMilli()
		seen := map[string]bool{}
		failed := 0
		err := jobs.EachRequestLog(ctx, e.st, from, to, 1, func(l store.RequestLog) {
			if l.Timestamp < from || l.Timestamp >= to || seen[l.RequestID] {
				t.Errorf("row %s at %d: outside the window or seen twice", l.RequestID, l.Timestamp)
			}
			seen[l.RequestID] = true
			if l.Status != store.StatusSuccess {
				failed++
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		// i in 1..250; every fifth (i%5 == 0) failed: 5, 10, …, 250.
		if len(seen) != 250 || failed != 50 {
			t.Fatalf("saw %d rows, %d failed; want 250 and 50", len(seen), failed)
		}
	})
}
