package jobs

import (
	"context"
	"fmt"

	"llmmeter/internal/store"
)

// MaxRequestLogPages bounds EachRequestLog: 100,000 pages of PageSize rows
// (100M request logs in one window), far beyond a day at the issue 14
// profile (1M requests).
const MaxRequestLogPages = 100_000

// EachRequestLog calls f with every request log with timestamp in
// [from, to), reading pages of pageSize rows to the end. The error-rate and
// latency alerts and the reports' error lists used to stop after 100 and 200
// pages and report on what they had read as if it were all; a window that
// does not fit MaxRequestLogPages is now an error, never a silent cut.
func EachRequestLog(ctx context.Context, st Store, from, to int64, pageSize int, f func(store.RequestLog)) error {
	cursor := ""
	for range MaxRequestLogPages {
		pg, err := st.RawPage(ctx, RawRequestLogs, from, to, cursor, pageSize)
		if err != nil {
			return err
		}
		for _, l := range pg.RequestLogs {
			f(l)
		}
		if pg.Next == "" {
			return nil
		}
		cursor = pg.Next
	}
	return fmt.Errorf("request logs in [%d, %d): more than %d pages of %d", from, to, MaxRequestLogPages, pageSize)
}
