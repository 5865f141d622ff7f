package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// quotaOwner is the user a quota (userId, quotaType) belongs to, checked:
// "" for the system budget (no userId allowed), an existing user for the
// other types; see quotaOwner in admin.ts.
func quotaOwner(ctx context.Context, q querier, a args, qt string) (string, error) {
	raw, has := a.str("userId")
	if qt == "system_monthly_cost_usd" {
		if has {
			return "", badRequest("userId: not allowed for system_monthly_cost_usd")
		}
		return "", nil
	}
	if !has {
		return "", badRequest("userId: required for %s", qt)
	}
	id, err := idOf("users", raw, "userId")
	if err != nil {
		return "", err
	}
	if _, ok, err := getUser(ctx, q, id); err != nil {
		return "", err
	} else if !ok {
		return "", notFound("userId: no such user")
	}
	return id, nil
}

// deleteQuota removes the quota (userId, quotaType) with its open
// reservations and allowance leases; {deleted: false} when there was none.
// See adminQuotaDelete.ts.
func deleteQuota(ctx context.Context, s *Store, q querier, a args) (any, error) {
	qt, _ := a.str("quotaType")
	userID, err := quotaOwner(ctx, q, a, qt)
	if err != nil {
		return nil, err
	}
	var id string
	err = q.QueryRowContext(ctx, `SELECT id FROM userQuotas WHERE userId = ? AND quotaType = ?`, userID, qt).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return map[string]any{"deleted": false}, nil
	}
	if err != nil {
		return nil, err
	}
	for _, stmt := range []string{
		`DELETE FROM quotaReservations WHERE quotaId = ?`,
		`DELETE FROM quotaLeases WHERE quotaId = ?`,
		`DELETE FROM userQuotas WHERE id = ?`,
	} {
		if _, err := q.ExecContext(ctx, stmt, id); err != nil {
			return nil, fmt.Errorf("sqlitestore: delete quota: %w", err)
		}
	}
	if err := recordQuotaChange(ctx, q, userID, s.nowMs()); err != nil {
		return nil, fmt.Errorf("sqlitestore: delete quota: %w", err)
	}
	return map[string]any{"deleted": true}, nil
}
