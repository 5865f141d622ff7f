package fold_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
)

// Len and Rows count every kind of row.
func TestCountsCoverEveryKind(t *testing.T) {
	p := fold.Pending{
		Usage:       make([]store.Usage, 3),
		RequestLogs: make([]store.RequestLog, 5),
		Activity:    make([]store.Activity, 7),
	}
	if p.Len() != 15 {
		t.Errorf("Pending.Len() = %d, want 15", p.Len())
	}
	a := fold.Apply{Usage: make([]string, 2), RequestLogs: make([]string, 4), Activity: make([]string, 8)}
	if a.Rows() != 14 {
		t.Errorf("Apply.Rows() = %d, want 14", a.Rows())
	}
}

// loseTwice loses the compare-and-set twice before each apply it lets
// through, as when another folder keeps winning the first rounds.
type loseTwice struct {
	fold.Store
	lost int
}

func (l *loseTwice) ApplyFold(ctx context.Context, a fold.Apply) error {
	if l.lost < 2 {
		l.lost++
		return fold.ErrConflict
	}
	l.lost = 0
	return l.Store.ApplyFold(ctx, a)
}

// Only conflicts in a row count against MaxApplies: a folder that loses
// now and then but keeps winning folds everything.
func TestFolderConflictsCountOnlyInARow(t *testing.T) {
	st, _ := unfoldedActivity(t, 4, rollup.ActivityConversationStarted)
	f := fold.Folder{Store: &loseTwice{Store: st}, Cal: periods.For(time.UTC), Limit: 1, MaxApplies: 2}
	res, err := f.Run(context.Background())
	// 2 losses, a win, 2 losses, a win: 4 conflicts in all, never more than 2 in a row.
	if err != nil || res.Applies != 2 || res.Rows != 2 || res.Conflicts != 4 {
		t.Fatalf("run %+v, %v: want 2 applies of 1 row after 4 conflicts, no error", res, err)
	}
}

// broken fails the way an unreachable engine does.
type broken struct {
	fold.Store
	readErr, applyErr error
}

func (b *broken) PendingRows(ctx context.Context, limit int) (fold.Pending, error) {
	if b.readErr != nil {
		return fold.Pending{}, b.readErr
	}
	return b.Store.PendingRows(ctx, limit)
}

func (b *broken) ApplyFold(context.Context, fold.Apply) error { return b.applyErr }

// A store failure ends the run with that error (wrapped), and nothing is
// counted as folded.
func TestFolderStoreErrors(t *testing.T) {
	st, _ := unfoldedActivity(t, 2, rollup.ActivityFileUploaded)
	down := errors.New("engine unreachable")
	for name, s := range map[string]*broken{
		"read":  {Store: st, readErr: down},
		"apply": {Store: st, applyErr: down},
	} {
		res, err := (&fold.Folder{Store: s, Cal: periods.For(time.UTC)}).Run(context.Background())
		if !errors.Is(err, down) || errors.Is(err, fold.ErrConflict) || res != (fold.Result{}) {
			t.Errorf("%s failure: %+v, %v; want the engine's error and an empty result", name, res, err)
		}
	}
	// Nothing was folded by the failed runs: a working folder still finds both rows.
	if res, err := (&fold.Folder{Store: st, Cal: periods.For(time.UTC)}).Run(context.Background()); err != nil || res.Rows != 2 {
		t.Fatalf("after the failures: %+v, %v", res, err)
	}
}

// A page exactly as long as the limit may not be the last: the folder
// reads again rather than stop short.
func TestFolderReadsPastAFullPage(t *testing.T) {
	st, _ := unfoldedActivity(t, 4, rollup.ActivityFileUploaded)
	res, err := (&fold.Folder{Store: st, Cal: periods.For(time.UTC), Limit: 2}).Run(context.Background())
	if err != nil || res.Applies != 2 || res.Rows != 4 || res.Conflicts != 0 {
		t.Fatalf("run %+v, %v: want two full pages folded", res, err)
	}
}
