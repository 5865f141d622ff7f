package jobs

import (
	"context"
	"sync"

	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
)

// Fold is the fold job (JobFold): every ~2 s, under its lease, it folds
// the rows ingest appended into the summaries (see internal/fold). Only
// the present matters, so a run covers the whole gap since the last one.
type Fold struct {
	Store Store
	Cal   *periods.Calendar

	mu sync.Mutex
	// stale lists the months (starts, newest first) whose summaries are
	// still to be rebuilt; nil until checked in this process.
	stale    []int64
	caughtUp bool
	// keys is the user search-key backfill's place (userKeys.go).
	keys userKeys
}

// Name implements Job.
func (f *Fold) Name() string { return JobFold }

// CatchUp implements CatchUpper: one run folds whatever is pending.
func (f *Fold) CatchUp() CatchUp { return CatchUpLatest }

// Run implements Job. Until the summaries are caught up in this process
// (see catchUpSummaries), a run first rebuilds one month of them; w.To is
// now. Until the users' search keys are (userKeys), a run then writes a
// page of them.
func (f *Fold) Run(ctx context.Context, w Window) (Counts, error) {
	counts := Counts{}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.caughtUp {
		var now int64
		if !w.To.IsZero() {
			now = w.To.UnixMilli()
		}
		if err := f.catchUpSummaries(ctx, now, counts); err != nil {
			return counts, err
		}
	}
	folder := fold.Folder{Store: f.Store, Cal: f.Cal}
	res, err := folder.Run(ctx)
	counts["rows"], counts["applies"], counts["conflicts"] = res.Rows, res.Applies, res.Conflicts
	if err != nil {
		return counts, err
	}
	return counts, f.keys.step(ctx, f.Store, counts)
}
