package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
)

// usedFromAggregates is what the quota's counter should be at now, from the
// aggregates of the current period (exact unit: nanos for cost quotas).
func (s *Store) usedFromAggregates(ctx context.Context, q querier, t, userID string, now int64) (int64, error) {
	p := s.cal.Of(store.QuotaPeriod(t), now)
	col := "totalCostNanoUsd"
	switch t {
	case "daily_requests":
		col = "totalRequests"
	case "monthly_tokens":
		col = "totalTokens"
	}
	scope := "user"
	if t == "system_monthly_cost_usd" {
		scope = "system"
	}
	var used int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(`+col+`), 0) FROM usageAggregates
		WHERE scope = ? AND userId = ? AND model = '' AND period = ? AND periodStart = ?`, scope, userID, string(p.Period), p.Start).Scan(&used)
	return used, err
}

// setQuota creates or updates the quota (userId, quotaType); see admin.ts.
func setQuota(ctx context.Context, s *Store, q querier, a args) (any, error) {
	limit, _ := a.num("limit")
	qt, _ := a.str("quotaType")
	if math.IsNaN(limit) || math.IsInf(limit, 0) || limit < 0 {
		return nil, badRequest("limit: expected a number >= 0")
	}
	cost := store.IsCostQuota(qt)
	if !cost && !isSafeInt(limit) {
		return nil, badRequest("limit: expected an integer for this quota type")
	}
	if cost && limit*1e9 > float64(store.MaxAmount) {
		return nil, badRequest("limit: expected at most %s USD", money.Nanos(store.MaxAmount))
	}
	userID, err := quotaOwner(ctx, q, a, qt)
	if err != nil {
		return nil, err
	}
	now := s.nowMs()
	var limitNanos sql.NullInt64
	if cost {
		limitNanos = sql.NullInt64{Int64: int64(jsRound(limit * 1e9)), Valid: true}
		limit = nanosToUsd(limitNanos.Int64)
	}
	var (
		id             string
		wasActive      bool
		resetDate      int64
		existingActive = true
	)
	err = q.QueryRowContext(ctx, `SELECT id, isActive, resetDate FROM userQuotas WHERE userId = ? AND quotaType = ?`, userID, qt).
		Scan(&id, &wasActive, &resetDate)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if exists {
		existingActive = wasActive
	}
	isActive := existingActive
	if v, ok := a.boolean("isActive"); ok {
		isActive = v
	}
	fresh := func() (used float64, usedNanos sql.NullInt64, reset int64, err error) {
		u, err := s.usedFromAggregates(ctx, q, qt, userID, now)
		if err != nil {
			return 0, usedNanos, 0, err
		}
		used = float64(u)
		if cost {
			used, usedNanos = nanosToUsd(u), sql.NullInt64{Int64: u, Valid: true}
		}
		return used, usedNanos, s.cal.Next(store.QuotaPeriod(qt), now), nil
	}
	if !exists {
		used, usedNanos, reset, err := fresh()
		if err != nil {
			return nil, err
		}
		id = newID("q_")
		if _, err := q.ExecContext(ctx, `INSERT INTO userQuotas (id, userId, quotaType, "limit", used, limitNanoUsd, usedNanoUsd,
			resetDate, isActive, updatedAt) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			id, userID, qt, limit, used, limitNanos, usedNanos, reset, boolInt(isActive), now); err != nil {
			return nil, fmt.Errorf("sqlitestore: set quota: %w", err)
		}
		if err := recordQuotaChange(ctx, q, userID, now); err != nil {
			return nil, fmt.Errorf("sqlitestore: set quota: %w", err)
		}
		return map[string]any{"quotaId": id, "created": true}, nil
	}
	// limitNanoUsd is only written for cost quotas (a patch without it
	// leaves it as it is).
	if _, err := q.ExecContext(ctx, `UPDATE userQuotas SET "limit" = ?, limitNanoUsd = COALESCE(?, limitNanoUsd), isActive = ?,
		updatedAt = ? WHERE id = ?`, limit, limitNanos, boolInt(isActive), now, id); err != nil {
		return nil, fmt.Errorf("sqlitestore: set quota: %w", err)
	}
	if isActive && (!wasActive || resetDate <= now) {
		used, usedNanos, reset, err := fresh()
		if err != nil {
			return nil, err
		}
		if _, err := q.ExecContext(ctx, `UPDATE userQuotas SET used = ?, usedNanoUsd = COALESCE(?, usedNanoUsd), resetDate = ?
			WHERE id = ?`, used, usedNanos, reset, id); err != nil {
			return nil, fmt.Errorf("sqlitestore: set quota: %w", err)
		}
	}
	if err := recordQuotaChange(ctx, q, userID, now); err != nil {
		return nil, fmt.Errorf("sqlitestore: set quota: %w", err)
	}
	return map[string]any{"quotaId": id, "created": false}, nil
}
