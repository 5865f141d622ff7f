package fold

import (
	"context"
	"errors"
	"fmt"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
)

// ErrConflict is returned by Store.ApplyFold when a row of the Apply is
// absent or already folded: another folder got there first. Nothing of
// that Apply was written.
var ErrConflict = errors.New("fold: a row is no longer unfolded")

// DefaultLimit is how many pending rows one Apply covers. In the worst case
// (every row its own user, model, hour, day, week and month) a row has 12
// keys, and llmmeter:foldApply spends one index range on each key and each row:
// 200 rows are at most 2,600 of Convex's 4,096 ranges per transaction, 2,600
// of its 16,000 writes, and about 1.2 MB of the routes' 4 MiB body bound.
const DefaultLimit = 200

// Pending is a page of unfolded rows, oldest first within each kind.
type Pending struct {
	Usage       []store.Usage
	RequestLogs []store.RequestLog
	Activity    []store.Activity
}

// Len is the number of rows of all kinds.
func (p Pending) Len() int { return len(p.Usage) + len(p.RequestLogs) + len(p.Activity) }

// Apply is one compare-and-set application: the idempotency keys of the
// rows it folds and the deltas they add to the summaries. It is the wire
// body of the Convex route /jobs/fold/apply.
type Apply struct {
	Usage       []string      `json:"usage"`       // generation ids
	RequestLogs []string      `json:"requestLogs"` // request ids
	Activity    []string      `json:"activity"`    // activity keys
	Aggregates  []*rollup.Row `json:"aggregates"`  // deltas, one per key
}

// Rows is the number of raw rows the Apply folds.
func (a Apply) Rows() int { return len(a.Usage) + len(a.RequestLogs) + len(a.Activity) }

// Store is what the fold needs from an engine.
type Store interface {
	// PendingRows reads at most limit unfolded rows (all kinds together),
	// oldest first.
	PendingRows(ctx context.Context, limit int) (Pending, error)
	// ApplyFold atomically checks that every row of a is still unfolded,
	// marks them folded and adds a.Aggregates to the stored summaries. It
	// returns ErrConflict (wrapped) and writes nothing when a row is absent
	// or folded already.
	ApplyFold(ctx context.Context, a Apply) error
}

// Compute is the pure core: the Apply that folds p, its deltas computed
// in cal's time zone, one row per (scope, subject, period) key.
func Compute(cal *periods.Calendar, p Pending) Apply {
	b := rollup.NewBatch(cal)
	a := Apply{Usage: []string{}, RequestLogs: []string{}, Activity: []string{}}
	for _, u := range p.Usage {
		b.AddUsage(u)
		a.Usage = append(a.Usage, u.GenerationID)
	}
	for _, l := range p.RequestLogs {
		b.AddRequestLog(l)
		a.RequestLogs = append(a.RequestLogs, l.RequestID)
	}
	for _, act := range p.Activity {
		b.AddActivity(act)
		a.Activity = append(a.Activity, act.ActivityKey)
	}
	a.Aggregates = b.Rows()
	return a
}

// Folder folds pending rows of one engine.
type Folder struct {
	Store Store
	Cal   *periods.Calendar
	// Limit is the page size of one Apply (default DefaultLimit).
	Limit int
	// MaxApplies bounds one Run (default 100): a run under a steady stream
	// ends and leaves the rest to the next one.
	MaxApplies int
}

// Result counts what one Run did.
type Result struct {
	Rows      int64 // raw rows folded
	Applies   int64 // successful applies
	Conflicts int64 // applies lost to another folder (then re-read)
}

// Run folds until nothing is pending or MaxApplies applies succeeded. A
// lost compare-and-set is not an error: the rows are read again and
// whatever is still unfolded is folded in the next round. Conflicts in a
// row beyond MaxApplies end the run with an error, as a folder that never
// wins is misconfigured (two fold loops on one store without a lease).
func (f *Folder) Run(ctx context.Context) (Result, error) {
	var res Result
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	maxApplies := f.MaxApplies
	if maxApplies <= 0 {
		maxApplies = 100
	}
	conflictsInRow := 0
	for res.Applies < int64(maxApplies) {
		p, err := f.Store.PendingRows(ctx, limit)
		if err != nil {
			return res, fmt.Errorf("fold: read pending rows: %w", err)
		}
		if p.Len() == 0 {
			return res, nil
		}
		a := Compute(f.Cal, p)
		err = f.Store.ApplyFold(ctx, a)
		switch {
		case errors.Is(err, ErrConflict):
			res.Conflicts++
			if conflictsInRow++; conflictsInRow > maxApplies {
				return res, fmt.Errorf("fold: %d conflicts in a row: %w", conflictsInRow, err)
			}
			continue
		case err != nil:
			return res, fmt.Errorf("fold: apply: %w", err)
		}
		conflictsInRow = 0
		res.Applies++
		res.Rows += int64(a.Rows())
		if p.Len() < limit {
			return res, nil
		}
	}
	return res, nil
}
