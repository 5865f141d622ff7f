package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"llmmeter/internal/money"
	"llmmeter/internal/store"
)

// Quota counting and strict reservations, with the rules of the Convex
// engine (packages/convex/src/lib/quotas.ts; see store.Quotas for the admission bound).

var _ store.Quotas = (*Store)(nil)

// quotaRow is a userQuotas row in its exact unit (nanos for cost quotas).
type quotaRow struct {
	id, userID, typ string
	limit, used     int64
	reserved        int64 // running total of open reservations
	resetDate       int64
}

// activeQuotas are the user's active quotas and the active system budget.
func activeQuotas(ctx context.Context, tx *sql.Tx, userID string) ([]quotaRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, userId, quotaType,
		CASE WHEN quotaType IN ('monthly_cost_usd','system_monthly_cost_usd') THEN COALESCE(limitNanoUsd, 0) ELSE CAST("limit" AS INTEGER) END,
		CASE WHEN quotaType IN ('monthly_cost_usd','system_monthly_cost_usd') THEN COALESCE(usedNanoUsd, 0) ELSE CAST(used AS INTEGER) END,
		reserved, resetDate FROM userQuotas WHERE isActive = 1 AND (userId = ? OR (userId = '' AND quotaType = 'system_monthly_cost_usd'))
		ORDER BY userId DESC, quotaType`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []quotaRow
	for rows.Next() {
		var q quotaRow
		if err := rows.Scan(&q.id, &q.userID, &q.typ, &q.limit, &q.used, &q.reserved, &q.resetDate); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// saveUsed writes a quota's used amount and window.
func saveUsed(ctx context.Context, tx *sql.Tx, q quotaRow, now int64) error {
	if store.IsCostQuota(q.typ) {
		_, err := tx.ExecContext(ctx, `UPDATE userQuotas SET used = ?, usedNanoUsd = ?, resetDate = ?, updatedAt = ? WHERE id = ?`,
			money.Nanos(q.used).USD(), q.used, q.resetDate, now, q.id)
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE userQuotas SET used = ?, resetDate = ?, updatedAt = ? WHERE id = ?`, q.used, q.resetDate, now, q.id)
	return err
}

// contribution is one ingested row's effect on quotas.
type contribution struct {
	ts                     int64
	requests, tokens, cost int64
}

func (c contribution) amount(t string) int64 {
	switch t {
	case store.QuotaDailyRequests:
		return c.requests
	case store.QuotaMonthlyTokens:
		return c.tokens
	}
	return c.cost
}

// applyQuotas counts freshly ingested rows against quotas: per user and,
// for cost, the system budget. A row at or after resetDate rolls the window
// forward first; a row older than the current window is not counted.
func (s *Store) applyQuotas(ctx context.Context, tx *sql.Tx, byUser map[string][]contribution, now int64) error {
	users := make([]string, 0, len(byUser))
	for u := range byUser {
		users = append(users, u)
	}
	sort.Strings(users)
	var system []contribution
	for _, u := range users {
		system = append(system, byUser[u]...)
		qs, err := activeQuotas(ctx, tx, u)
		if err != nil {
			return err
		}
		for _, q := range qs {
			if q.userID == "" {
				continue // the system budget counts every user's rows, below
			}
			if err := s.countQuota(ctx, tx, q, byUser[u], now); err != nil {
				return err
			}
		}
	}
	if len(system) == 0 {
		return nil
	}
	qs, err := activeQuotas(ctx, tx, "\x00no user")
	if err != nil {
		return err
	}
	for _, q := range qs {
		if err := s.countQuota(ctx, tx, q, system, now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) countQuota(ctx context.Context, tx *sql.Tx, q quotaRow, cs []contribution, now int64) error {
	p := store.QuotaPeriod(q.typ)
	windowStart := s.cal.Of(p, q.resetDate-1).Start
	sorted := make([]contribution, 0, len(cs))
	for _, c := range cs {
		if c.amount(q.typ) > 0 {
			sorted = append(sorted, c)
		}
	}
	if len(sorted) == 0 {
		return nil
	}
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ts < sorted[j].ts })
	changed := false
	for _, c := range sorted {
		if c.ts >= q.resetDate {
			windowStart, q.resetDate, q.used = s.cal.Of(p, c.ts).Start, s.cal.Next(p, c.ts), 0
			changed = true
		}
		if c.ts < windowStart {
			continue
		}
		q.used = store.AddAmounts(q.used, c.amount(q.typ))
		changed = true
	}
	if !changed {
		return nil
	}
	return saveUsed(ctx, tx, q, now)
}

// settle drops the reservations of requests whose rows were just ingested
// (or released), keeping the quotas' running totals in step.
func settle(ctx context.Context, tx *sql.Tx, requestIDs []string) error {
	if len(requestIDs) == 0 {
		return nil
	}
	// With no reservation held (no quota set, or none claimed yet) there
	// is nothing to settle: one look instead of one delete per request.
	var any bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM quotaReservations)`).Scan(&any); err != nil || !any {
		return err
	}
	find, err := tx.PrepareContext(ctx, `DELETE FROM quotaReservations WHERE requestId = ? RETURNING quotaId, amount`)
	if err != nil {
		return err
	}
	defer find.Close()
	freed := map[string]int64{}
	for _, id := range requestIDs {
		rows, err := find.QueryContext(ctx, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var q string
			var amount int64
			if err := rows.Scan(&q, &amount); err != nil {
				rows.Close()
				return err
			}
			freed[q] = store.AddAmounts(freed[q], amount)
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return unreserve(ctx, tx, freed)
}

// unreserve lowers quotas' running totals.
func unreserve(ctx context.Context, tx *sql.Tx, freed map[string]int64) error {
	for q, amount := range freed {
		if _, err := tx.ExecContext(ctx, `UPDATE userQuotas SET reserved = max(0, reserved - ?) WHERE id = ?`, amount, q); err != nil {
			return err
		}
	}
	return nil
}

// expire drops up to 100 expired reservations of quota q and returns what
// they held.
func expire(ctx context.Context, tx *sql.Tx, q string, now int64) (int64, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM quotaReservations WHERE rowid IN
		(SELECT rowid FROM quotaReservations WHERE quotaId = ? AND expiresAt <= ? LIMIT 100) RETURNING amount`, q, now)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var sum int64
	for rows.Next() {
		var a int64
		if err := rows.Scan(&a); err != nil {
			return 0, err
		}
		sum = store.AddAmounts(sum, a)
	}
	if err := rows.Err(); err != nil || sum == 0 {
		return 0, err
	}
	return sum, unreserve(ctx, tx, map[string]int64{q: sum})
}

// Reserve admits a call against the user's active quotas and the system
// budget, atomically (one write transaction), or refuses naming the quota.
func (s *Store) Reserve(ctx context.Context, in store.ReserveInput) error {
	if err := in.Validate(); err != nil {
		return fmt.Errorf("sqlitestore: reserve: %w", err)
	}
	now := s.nowMs()
	// Most callers have no quota: answer them from a read, without taking
	// the writer.
	var any int
	if err := s.db.R.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM userQuotas WHERE isActive = 1
		AND (userId = ? OR (userId = '' AND quotaType = 'system_monthly_cost_usd')))`, in.UserID).Scan(&any); err != nil || any == 0 {
		return err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM quotaReservations WHERE requestId = ?)`, in.RequestID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil // a replay: already admitted
		}
		qs, err := activeQuotas(ctx, tx, in.UserID)
		if err != nil || len(qs) == 0 {
			return err
		}
		type grant struct {
			q                quotaRow
			amount, reserved int64 // reserved: the running total after this grant
		}
		grants := make([]grant, 0, len(qs))
		for _, q := range qs {
			q, reserved, err := s.openQuota(ctx, tx, q, now)
			if err != nil {
				return err
			}
			// Allowance leases hold like reservations (see Lease).
			held, err := leased(ctx, tx, q.id, now)
			if err != nil {
				return err
			}
			est := int64(1)
			switch {
			case q.typ == store.QuotaMonthlyTokens:
				est = in.Tokens
			case store.IsCostQuota(q.typ):
				est = int64(in.Cost)
			}
			// Saturating sums: an estimate near MaxAmount can neither wrap
			// negative (and be admitted) nor overflow the stored total.
			switch {
			case store.AddAmounts(store.AddAmounts(q.used, store.AddAmounts(reserved, held)), est) <= q.limit:
				grants = append(grants, grant{q, est, store.AddAmounts(reserved, est)})
			case q.typ != store.QuotaDailyRequests && reserved == 0 && held == 0 && q.used < q.limit:
				// Alone: may run, and holds the rest so no one runs beside it.
				amount := max(est, q.limit-q.used)
				grants = append(grants, grant{q, amount, amount})
			default:
				return &store.QuotaExceeded{QuotaType: q.typ, Limit: q.limit, Used: q.used, Remaining: max(0, q.limit-q.used-reserved-held), ResetDate: q.resetDate}
			}
		}
		expires := now + in.TTL.Milliseconds()
		for _, g := range grants {
			if _, err := tx.ExecContext(ctx, `INSERT INTO quotaReservations (requestId, quotaId, userId, amount, expiresAt) VALUES (?,?,?,?,?)`,
				in.RequestID, g.q.id, g.q.userID, g.amount, expires); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE userQuotas SET reserved = ? WHERE id = ?`, g.reserved, g.q.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		var qe *store.QuotaExceeded
		if errors.As(err, &qe) {
			return err
		}
		return fmt.Errorf("sqlitestore: reserve: %w", invalidIfChecked(err))
	}
	return nil
}

// sqliteConstraintCheck is SQLITE_CONSTRAINT_CHECK: a CHECK constraint
// refused a write.
const sqliteConstraintCheck = 275

// invalidIfChecked marks a write refused by a CHECK constraint (a counter
// out of its range) as store.ErrInvalid: the input is at fault, and
// retrying it would fail the same way.
func invalidIfChecked(err error) error {
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code() == sqliteConstraintCheck {
		return fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	return err
}

// Release drops a call's reservations.
func (s *Store) Release(ctx context.Context, requestID string) error {
	if err := s.db.Tx(ctx, func(tx *sql.Tx) error { return settle(ctx, tx, []string{requestID}) }); err != nil {
		return fmt.Errorf("sqlitestore: release: %w", err)
	}
	return nil
}
