package sqlitestore

import (
	"context"
	"strconv"

	"llmmeter/internal/store"
)

var _ store.QuotaChanges = (*Store)(nil)

// recordQuotaChange logs that a quota of userID ("" for the system budget)
// changed, in the caller's transaction, and sweeps a few changes older than
// store.QuotaChangeKeep, so the log stays bounded without a job.
func recordQuotaChange(ctx context.Context, q querier, userID string, now int64) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO quotaChanges (userId, at) VALUES (?, ?)`, userID, now); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, `DELETE FROM quotaChanges WHERE id IN
		(SELECT id FROM quotaChanges WHERE at < ? ORDER BY at LIMIT 8)`, now-store.QuotaChangeKeep.Milliseconds())
	return err
}

// QuotaChanges lists the quota changes after since (ms), oldest first.
func (s *Store) QuotaChanges(ctx context.Context, since int64) (store.QuotaChangeList, error) {
	out := store.QuotaChangeList{Now: s.nowMs(), Changes: []store.QuotaChange{}}
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, userId, at FROM quotaChanges WHERE at > ? ORDER BY at, id LIMIT ?`,
		since, store.MaxQuotaChanges+1)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var c store.QuotaChange
		var id int64
		if err := rows.Scan(&id, &c.UserID, &c.At); err != nil {
			return out, err
		}
		c.ID = strconv.FormatInt(id, 10)
		out.Changes = append(out.Changes, c)
	}
	if len(out.Changes) > store.MaxQuotaChanges {
		out.Changes, out.More = out.Changes[:store.MaxQuotaChanges], true
	}
	return out, rows.Err()
}
