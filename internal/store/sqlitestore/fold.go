package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"llmmeter/internal/fold"
	"llmmeter/internal/store"
)

// The embedded engine is a fold.Store: rows are stored with folded = 0 and
// the pending index of migration 0010 lists them.
var _ fold.Store = (*Store)(nil)

// PendingRows reads at most limit unfolded rows, usage first, then request
// logs, then activity, each in insertion order.
func (s *Store) PendingRows(ctx context.Context, limit int) (fold.Pending, error) {
	var pg store.RawPage
	for _, kind := range []store.RawKind{store.RawUsage, store.RawRequestLogs, store.RawActivity} {
		left := limit - len(pg.Usage) - len(pg.RequestLogs) - len(pg.Activity)
		if left <= 0 {
			break
		}
		table, _, cols, _ := rawTable(kind)
		q := `SELECT ` + cols + ` FROM ` + table + ` WHERE folded = 0 ORDER BY rowid LIMIT ?`
		if _, _, _, err := scanRaw(ctx, s.db.R, kind, q, []any{left}, &pg); err != nil {
			return fold.Pending{}, err
		}
	}
	return fold.Pending{Usage: pg.Usage, RequestLogs: pg.RequestLogs, Activity: pg.Activity}, nil
}

// ApplyFold checks the fold version is a.Version, marks the rows of a
// folded, each only if it is still unfolded, adds a's deltas to
// usageAggregates and replaces a's summaries, in one transaction; a moved
// version or a row that is absent or folded already rolls everything back
// with fold.ErrConflict.
func (s *Store) ApplyFold(ctx context.Context, a fold.Apply) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var version int64
		if err := tx.QueryRowContext(ctx, `SELECT version FROM foldState WHERE id = 1`).Scan(&version); err != nil {
			return err
		}
		if version != a.Version {
			return fmt.Errorf("%w: fold version %d, the apply was computed at %d", fold.ErrConflict, version, a.Version)
		}
		for _, k := range []struct {
			table, key string
			ids        []string
		}{{"usageTracking", "generationId", a.Usage}, {"requestLogs", "requestId", a.RequestLogs}, {"userActivity", "activityKey", a.Activity}} {
			if err := markFolded(ctx, tx, k.table, k.key, k.ids); err != nil {
				return err
			}
		}
		return s.writeFold(ctx, tx, a)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: apply fold: %w", err)
	}
	return nil
}

// writeFold writes an apply whose rows are settled as folded, in tx: the
// fold version moves (a folder that read the summaries before loses its
// compare-and-set), a's deltas are added to usageAggregates and its
// summaries replace the stored ones. ApplyFold and the fold inside an
// ingest (foldStored) both end here.
func (s *Store) writeFold(ctx context.Context, tx *sql.Tx, a fold.Apply) error {
	for _, r := range a.Aggregates {
		if r.Shard != 0 {
			return fmt.Errorf("shard %d (the embedded engine keeps one shard)", r.Shard)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE foldState SET version = version + 1 WHERE id = 1`); err != nil {
		return err
	}
	if err := applyAggregates(ctx, tx, a.Aggregates, s.nowMs(), false); err != nil {
		return err
	}
	return replaceSummaries(ctx, tx, a.Summaries)
}

// markFolded is the compare-and-set of one kind: each row must go from
// folded = 0 to 1.
func markFolded(ctx context.Context, tx *sql.Tx, table, key string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `UPDATE `+table+` SET folded = 1 WHERE `+key+` = ? AND folded = 0`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, id := range ids {
		r, err := stmt.ExecContext(ctx, id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: %s %q", fold.ErrConflict, table, id)
		}
	}
	return nil
}

// SumBound implements fold.Bounded: aggregates and summaries are SQLite
// integers (int64), so a period's sums are exact up to 2^63 − 1 nanos
// (about $9.2 billion), where Convex's stop at 2^53 − 1. Beyond, the fold
// refuses the apply (fold.ErrBeyondBound) rather than let SQLite turn the
// sum into a float.
func (s *Store) SumBound() int64 { return math.MaxInt64 }

// FoldVersion is the number of fold applies so far.
func (s *Store) FoldVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.R.QueryRowContext(ctx, `SELECT version FROM foldState WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlitestore: fold version: %w", err)
	}
	return v, nil
}
