package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
)

// SummaryState reads the summaries and user rows of keys and the fold
// version in one read transaction (fold.Store).
func (s *Store) SummaryState(ctx context.Context, keys rollup.StateKeys) (rollup.SummaryState, error) {
	tx, err := s.db.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return rollup.SummaryState{}, fmt.Errorf("sqlitestore: summary state: %w", err)
	}
	defer tx.Rollback()
	return summaryState(ctx, tx, keys)
}

// summaryState reads the summaries and user rows of keys and the fold
// version in tx: a read transaction, or the ingest's write transaction
// when it folds the rows it stored.
func summaryState(ctx context.Context, tx *sql.Tx, keys rollup.StateKeys) (rollup.SummaryState, error) {
	st := rollup.SummaryState{Summaries: []*rollup.Summary{}, Users: []rollup.UserRow{}}
	if err := tx.QueryRowContext(ctx, `SELECT version FROM foldState WHERE id = 1`).Scan(&st.Version); err != nil {
		return st, fmt.Errorf("sqlitestore: summary state: %w", err)
	}
	for _, k := range keys.Periods {
		sum, err := readSummary(ctx, tx, k.Period, k.PeriodStart)
		if err != nil {
			return st, err
		}
		if sum != nil {
			st.Summaries = append(st.Summaries, sum)
		}
	}
	if len(keys.Users) == 0 {
		return st, nil
	}
	// One statement for every user row (a batch of 100 users' calls reads 400).
	get, err := tx.PrepareContext(ctx, `SELECT totalRequests, totalTokens, totalCostNanoUsd FROM usageAggregates
		WHERE scope = 'user' AND userId = ? AND model = '' AND period = ? AND periodStart = ?`)
	if err != nil {
		return st, fmt.Errorf("sqlitestore: summary state: %w", err)
	}
	defer get.Close()
	for _, k := range keys.Users {
		r := rollup.UserRow{UserPeriod: k}
		err := get.QueryRowContext(ctx, k.UserID, string(k.Period), k.PeriodStart).Scan(&r.Requests, &r.TotalTokens, &r.CostNanoUsd)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return st, fmt.Errorf("sqlitestore: summary state: %w", err)
		default:
			st.Users = append(st.Users, r)
		}
	}
	return st, nil
}

// ReplaceSummaries replaces summaries in one transaction if the fold
// version is still foldVersion (the rebuild's compare-and-set).
func (s *Store) ReplaceSummaries(ctx context.Context, sums []*rollup.Summary, foldVersion int64) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var v int64
		if err := tx.QueryRowContext(ctx, `SELECT version FROM foldState WHERE id = 1`).Scan(&v); err != nil {
			return err
		}
		if v != foldVersion {
			return fmt.Errorf("%w: fold version %d, expected %d", fold.ErrConflict, v, foldVersion)
		}
		return replaceSummaries(ctx, tx, sums)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: replace summaries: %w", err)
	}
	return nil
}

// readSummary reads one period's summary, nil if there is none.
func readSummary(ctx context.Context, q querier, p periods.Period, start int64) (*rollup.Summary, error) {
	sum := rollup.Summary{Period: p, PeriodStart: start}
	var models, top string
	err := q.QueryRowContext(ctx, `SELECT periodKey, activeUsers, models, topUsers FROM periodSummaries WHERE period = ? AND periodStart = ?`,
		string(p), start).Scan(&sum.PeriodKey, &sum.ActiveUsers, &models, &top)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: read summary: %w", err)
	}
	if err := json.Unmarshal([]byte(models), &sum.Models); err != nil {
		return nil, fmt.Errorf("sqlitestore: summary models: %w", err)
	}
	if err := json.Unmarshal([]byte(top), &sum.TopUsers); err != nil {
		return nil, fmt.Errorf("sqlitestore: summary top users: %w", err)
	}
	return &sum, nil
}

// replaceSummaries stores summaries in tx, each replacing its period's.
func replaceSummaries(ctx context.Context, tx *sql.Tx, sums []*rollup.Summary) error {
	for _, sum := range sums {
		models, err := json.Marshal(sum.Models)
		if err != nil {
			return err
		}
		top, err := json.Marshal(sum.TopUsers)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO periodSummaries (period, periodStart, periodKey, activeUsers, models, topUsers)
			VALUES (?,?,?,?,?,?)`, string(sum.Period), sum.PeriodStart, sum.PeriodKey, sum.ActiveUsers, string(models), string(top)); err != nil {
			return fmt.Errorf("replace summary: %w", err)
		}
	}
	return nil
}

// adjustSummaries moves the summaries of a confirmed usage row's four
// periods by its difference (rollup.Confirmation.AdjustAll) and bumps the fold version: a fold that read
// the summaries before then loses its compare-and-set instead of
// overwriting the adjustment.
func adjustSummaries(ctx context.Context, tx *sql.Tx, cal *periods.Calendar, c rollup.Confirmation) error {
	var sums []*rollup.Summary
	for _, p := range periods.All {
		sum, err := readSummary(ctx, tx, p, cal.Of(p, c.Delta.Timestamp).Start)
		if err != nil {
			return err
		}
		if sum != nil {
			sums = append(sums, sum)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE foldState SET version = version + 1 WHERE id = 1`); err != nil {
		return err
	}
	return replaceSummaries(ctx, tx, c.AdjustAll(sums))
}
