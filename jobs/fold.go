package jobs

import (
	"context"
	"sync/atomic"

	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
)

// Fold is the fold job (JobFold): every ~2 s, under its lease, it folds
// the rows ingest appended into the summaries (see internal/fold). Only
// the present matters, so a run covers the whole gap since the last one.
type Fold struct {
	Store Store
	Cal   *periods.Calendar

	// caughtUp is set once catchUpSummaries succeeded in this process.
	caughtUp atomic.Bool
}

// Name implements Job.
func (f *Fold) Name() string { return JobFold }

// CatchUp implements CatchUpper: one run folds whatever is pending.
func (f *Fold) CatchUp() CatchUp { return CatchUpLatest }

// Run implements Job. The first successful run of a process first
// rebuilds the summaries of months the fold did not build (an upgrade from
// a version without them; see catchUpSummaries); w.To is now.
func (f *Fold) Run(ctx context.Context, w Window) (Counts, error) {
	counts := Counts{}
	if !f.caughtUp.Load() {
		var now int64
		if !w.To.IsZero() {
			now = w.To.UnixMilli()
		}
		c, err := f.catchUpSummaries(ctx, now)
		for k, v := range c {
			counts[k] = v
		}
		if err != nil {
			return counts, err
		}
		f.caughtUp.Store(true)
	}
	folder := fold.Folder{Store: f.Store, Cal: f.Cal}
	res, err := folder.Run(ctx)
	counts["rows"], counts["applies"], counts["conflicts"] = res.Rows, res.Applies, res.Conflicts
	return counts, err
}
