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
	// Summaries replace the stored summaries of the periods the deltas
	// touch (rollup.Summarize); Version is the fold version they were
	// computed at: the apply is refused (ErrConflict) if it moved.
	Summaries []*rollup.Summary `json:"summaries"`
	Version   int64             `json:"version"`
}

// Rows is the number of raw rows the Apply folds.
func (a Apply) Rows() int { return len(a.Usage) + len(a.RequestLogs) + len(a.Activity) }

// Store is what the fold needs from an engine.
type Store interface {
	// SummaryState reads the stored summaries and user rows of keys, and
	// the fold version, in one snapshot.
	SummaryState(ctx context.Context, keys rollup.StateKeys) (rollup.SummaryState, error)
	// PendingRows reads at most limit unfolded rows (all kinds together),
	// oldest first.
	PendingRows(ctx context.Context, limit int) (Pending, error)
	// ApplyFold atomically checks that the fold version is a.Version and
	// every row of a is still unfolded, marks them folded, adds
	// a.Aggregates to the stored aggregates and replaces the summaries of
	// a.Summaries. It returns ErrConflict (wrapped) and writes nothing when
	// the version moved or a row is absent or folded already.
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
	a.Summaries = []*rollup.Summary{}
	return a
}

// Summarize completes a computed Apply with the summaries of the periods
// it touches, from st (read for rollup.KeysOf(a.Aggregates)).
func Summarize(a *Apply, st rollup.SummaryState) {
	a.Summaries = rollup.Summarize(st, a.Aggregates)
	a.Version = st.Version
}

// MaxPeriods bounds the periods one Apply touches (each a summary of up to
// ~100 KB at 200 models that the apply rewrites): a page of live rows
// touches 4 to 8; a backfill of old rows is folded a few periods at a time.
const MaxPeriods = 12

// LimitPeriods keeps the longest prefix of p (usage, then request logs,
// then activity) whose rows touch at most max periods, and at least one row.
func LimitPeriods(cal *periods.Calendar, p Pending, max int) Pending {
	seen := map[periods.Info]bool{}
	n := 0
	fits := func(ts int64) bool {
		var add []periods.Info
		for _, per := range periods.All {
			if in := cal.Of(per, ts); !seen[in] {
				add = append(add, in)
			}
		}
		if n > 0 && len(seen)+len(add) > max {
			return false
		}
		for _, in := range add {
			seen[in] = true
		}
		n++
		return true
	}
	var out Pending
	for _, u := range p.Usage {
		if !fits(u.Timestamp) {
			return out
		}
		out.Usage = append(out.Usage, u)
	}
	for _, l := range p.RequestLogs {
		if !fits(l.Timestamp) {
			return out
		}
		out.RequestLogs = append(out.RequestLogs, l)
	}
	for _, a := range p.Activity {
		if !fits(a.Timestamp) {
			return out
		}
		out.Activity = append(out.Activity, a)
	}
	return out
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
		read := p.Len()
		p = LimitPeriods(f.Cal, p, MaxPeriods)
		a := Compute(f.Cal, p)
		st, err := f.Store.SummaryState(ctx, rollup.KeysOf(a.Aggregates))
		if err != nil {
			return res, fmt.Errorf("fold: read summaries: %w", err)
		}
		Summarize(&a, st)
		if err := CheckBound(a, boundOf(f.Store)); err != nil {
			return res, err
		}
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
		if read < limit && p.Len() == read {
			return res, nil
		}
	}
	return res, nil
}
