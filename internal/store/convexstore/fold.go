package convexstore

import (
	"context"
	"errors"
	"fmt"

	"llmmeter/convexclient"
	"llmmeter/internal/fold"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
)

// The Convex engine is a fold.Store through the signed /jobs/fold/* routes
// (packages/convex/src/fold.ts).
var _ fold.Store = (*Store)(nil)

// MaxFoldRows is /jobs/fold/pending's and /jobs/fold/apply's row bound.
const MaxFoldRows = 1000

// PendingRows calls /jobs/fold/pending.
func (s *Store) PendingRows(ctx context.Context, limit int) (fold.Pending, error) {
	var out struct {
		Usage       []store.Usage      `json:"usage"` // costNanoUsd read as integer nanos
		RequestLogs []store.RequestLog `json:"requestLogs"`
		Activity    []store.Activity   `json:"activity"`
	}
	if err := s.call(ctx, "/jobs/fold/pending", map[string]any{"limit": min(max(limit, 1), MaxFoldRows)}, &out); err != nil {
		return fold.Pending{}, err
	}
	return fold.Pending{Usage: out.Usage, RequestLogs: out.RequestLogs, Activity: out.Activity}, nil
}

// ApplyFold calls /jobs/fold/apply; its 409 (a row no longer unfolded) is
// fold.ErrConflict.
func (s *Store) ApplyFold(ctx context.Context, a fold.Apply) error {
	return conflictIs409(s.call(ctx, "/jobs/fold/apply", a, nil))
}

// SummaryState calls /jobs/fold/state.
func (s *Store) SummaryState(ctx context.Context, keys rollup.StateKeys) (rollup.SummaryState, error) {
	var out rollup.SummaryState
	err := s.call(ctx, "/jobs/fold/state", keys, &out)
	return out, err
}

// FoldVersion calls /jobs/fold/version.
func (s *Store) FoldVersion(ctx context.Context) (int64, error) {
	var out struct {
		Version int64 `json:"version"`
	}
	err := s.call(ctx, "/jobs/fold/version", map[string]any{}, &out)
	return out.Version, err
}

// conflictIs409 maps the routes' 409 (compare-and-set lost) to
// fold.ErrConflict.
func conflictIs409(err error) error {
	var he *convexclient.HTTPError
	if errors.As(err, &he) && he.Status == 409 {
		return fmt.Errorf("%w: %s", fold.ErrConflict, he.Message)
	}
	return err
}
