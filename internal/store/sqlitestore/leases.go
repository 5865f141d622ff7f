package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"llmmeter/internal/sqlitedb"
	"llmmeter/internal/store"
)

// Allowance leases over SQLite, with the rules of the Convex engine
// (convex/lib/leases.ts; see store.LeaseInput). Sizing and local admission
// are package quotalease's: this only grants and settles, in one
// transaction.

var _ store.Leases = (*Store)(nil)

// Lease applies in to each active quota of the user (or the system budget).
func (s *Store) Lease(ctx context.Context, in store.LeaseInput) (store.LeaseGrant, error) {
	if err := in.Validate(); err != nil {
		return store.LeaseGrant{}, fmt.Errorf("sqlitestore: lease: %w", err)
	}
	now := s.nowMs()
	var out store.LeaseGrant
	ctx = sqlitedb.Brief(ctx)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		out = store.LeaseGrant{}
		key := in.UserID
		if key == "" {
			key = "\x00no user" // matches only the system budget
		}
		qs, err := activeQuotas(ctx, tx, key)
		if err != nil {
			return err
		}
		settled := map[string]bool{}
		for _, c := range in.Claims {
			if settled[c.RequestID], err = isSettled(ctx, tx, c.RequestID); err != nil {
				return err
			}
		}
		for _, q := range qs {
			if in.UserID != "" && q.userID == "" {
				continue // the system budget has its own leases
			}
			lq, refused, err := s.leaseQuota(ctx, tx, q, in, settled, now)
			if err != nil {
				return err
			}
			out.Quotas = append(out.Quotas, lq)
			if refused && out.Refused == nil {
				out.Refused = &store.QuotaExceeded{QuotaType: q.typ, Limit: lq.Limit, Used: lq.Used,
					Remaining: max(0, lq.Limit-lq.Used-lq.Others-lq.Lease), ResetDate: lq.ResetDate}
			}
		}
		return nil
	})
	if err != nil {
		return store.LeaseGrant{}, fmt.Errorf("sqlitestore: lease: %w", invalidIfChecked(err))
	}
	return out, nil
}

// leaseQuota moves the holder's lease of one quota; refused when Need did
// not fit.
func (s *Store) leaseQuota(ctx context.Context, tx *sql.Tx, q quotaRow, in store.LeaseInput, settled map[string]bool, now int64) (store.LeasedQuota, bool, error) {
	q, reserved, err := s.openQuota(ctx, tx, q, now)
	if err != nil {
		return store.LeasedQuota{}, false, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM quotaLeases WHERE quotaId = ? AND expiresAt <= ?`, q.id, now); err != nil {
		return store.LeasedQuota{}, false, err
	}
	var lease, others int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN holder = ? THEN amount END), 0),
		COALESCE(SUM(CASE WHEN holder <> ? THEN amount END), 0) FROM quotaLeases WHERE quotaId = ?`,
		in.Holder, in.Holder, q.id).Scan(&lease, &others); err != nil {
		return store.LeasedQuota{}, false, err
	}
	claimExpires := now + in.ClaimTTL.Milliseconds()
	for _, c := range in.Claims {
		amount := c.Amounts.Of(q.typ)
		if amount == 0 {
			continue
		}
		lease = max(0, lease-amount)
		if settled[c.RequestID] {
			continue // its rows already counted it
		}
		r, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO quotaReservations (requestId, quotaId, userId, amount, expiresAt) VALUES (?,?,?,?,?)`,
			c.RequestID, q.id, q.userID, amount, claimExpires)
		if err != nil {
			return store.LeasedQuota{}, false, err
		}
		if n, _ := r.RowsAffected(); n > 0 {
			reserved = store.AddAmounts(reserved, amount)
		}
	}
	lease = max(0, lease-in.Return.Of(q.typ))
	lq := store.LeasedQuota{QuotaType: q.typ, Limit: q.limit, Used: q.used, Others: store.AddAmounts(others, reserved), ResetDate: q.resetDate, Lease: lease}
	lease, grant, refused := store.GrantLease(lq, in.Want.Of(q.typ), in.Need.Of(q.typ))
	lq.Granted, lq.Lease = grant, lease
	if lq.Lease == 0 {
		_, err = tx.ExecContext(ctx, `DELETE FROM quotaLeases WHERE quotaId = ? AND holder = ?`, q.id, in.Holder)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO quotaLeases (quotaId, holder, userId, amount, expiresAt) VALUES (?,?,?,?,?)
			ON CONFLICT (quotaId, holder) DO UPDATE SET amount = excluded.amount, expiresAt = excluded.expiresAt`,
			q.id, in.Holder, q.userID, lq.Lease, now+in.TTL.Milliseconds())
	}
	if err != nil {
		return store.LeasedQuota{}, false, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE userQuotas SET reserved = ? WHERE id = ?`, reserved, q.id); err != nil {
		return store.LeasedQuota{}, false, err
	}
	return lq, refused, nil
}

// openQuota rolls q's window over if it has ended and drops its expired
// reservations; it returns q and its running total of reservations.
func (s *Store) openQuota(ctx context.Context, tx *sql.Tx, q quotaRow, now int64) (quotaRow, int64, error) {
	if q.resetDate <= now {
		q.used, q.resetDate = 0, s.cal.Next(store.QuotaPeriod(q.typ), now)
		if err := saveUsed(ctx, tx, q, now); err != nil {
			return q, 0, err
		}
	}
	gone, err := expire(ctx, tx, q.id, now)
	if err != nil {
		return q, 0, err
	}
	return q, max(0, q.reserved-gone), nil
}

// leased is the sum of the unexpired leases of quota q.
func leased(ctx context.Context, tx *sql.Tx, q string, now int64) (int64, error) {
	var sum int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM quotaLeases WHERE quotaId = ? AND expiresAt > ?`, q, now).Scan(&sum)
	return sum, err
}

// isSettled reports whether the rows that settle request id's reservation
// (see Ingest) are stored: its usage row when its request log names a
// generation, else the request log.
func isSettled(ctx context.Context, tx *sql.Tx, requestID string) (bool, error) {
	var gen sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT generationId FROM requestLogs WHERE requestId = ?`, requestID).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil || gen.String == "" {
		return err == nil, err
	}
	var n int
	err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM usageTracking WHERE generationId = ?)`, gen.String).Scan(&n)
	return n > 0, err
}

var _ store.LeaseRelease = (*Store)(nil)

// ReleaseHolder deletes holder's leases (store.LeaseRelease).
func (s *Store) ReleaseHolder(ctx context.Context, holder string) (int, bool, error) {
	if holder == "" || len(holder) > 128 {
		return 0, false, fmt.Errorf("sqlitestore: release holder: %w: holder: 1 to 128 bytes", store.ErrInvalid)
	}
	var n int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `DELETE FROM quotaLeases WHERE holder = ?`, holder)
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("sqlitestore: release holder: %w", err)
	}
	return int(n), false, nil
}
