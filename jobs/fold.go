package jobs

import (
	"context"

	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
)

// Fold is the fold job (JobFold): every ~2 s, under its lease, it folds
// the rows ingest appended into the summaries (see internal/fold). Only
// the present matters, so a run covers the whole gap since the last one.
type Fold struct {
	Store Store
	Cal   *periods.Calendar
}

// Name implements Job.
func (f *Fold) Name() string { return JobFold }

// CatchUp implements CatchUpper: one run folds whatever is pending.
func (f *Fold) CatchUp() CatchUp { return CatchUpLatest }

// Run implements Job.
func (f *Fold) Run(ctx context.Context, _ Window) (Counts, error) {
	folder := fold.Folder{Store: f.Store, Cal: f.Cal}
	res, err := folder.Run(ctx)
	return Counts{"rows": res.Rows, "applies": res.Applies, "conflicts": res.Conflicts}, err
}
