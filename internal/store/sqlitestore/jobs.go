package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"llmmeter/internal/fold"
	"llmmeter/internal/money"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
)

// The embedded engine implements jobs.Store (asserted in
// jobstore_test.go: the engine does not import jobs). Times come from the
// caller (the scheduler's clock), so tests drive leases and alerts with a
// fake clock.

// AcquireLease takes the lease if free, expired or already the holder's.
func (s *Store) AcquireLease(ctx context.Context, l store.JobLease) (bool, error) {
	now := l.Now.UnixMilli()
	r, err := s.db.W.ExecContext(ctx, `INSERT INTO jobLeases (job, holder, expiresAt) VALUES (?,?,?)
		ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expiresAt = excluded.expiresAt
		WHERE jobLeases.holder = excluded.holder OR jobLeases.expiresAt <= ?`, l.Job, l.Holder, now+l.TTL.Milliseconds(), now)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: acquire lease: %w", err)
	}
	n, _ := r.RowsAffected()
	return n > 0, nil
}

// RenewLease extends the holder's unexpired lease.
func (s *Store) RenewLease(ctx context.Context, l store.JobLease) (bool, error) {
	now := l.Now.UnixMilli()
	r, err := s.db.W.ExecContext(ctx, `UPDATE jobLeases SET expiresAt = ? WHERE job = ? AND holder = ? AND expiresAt > ?`,
		now+l.TTL.Milliseconds(), l.Job, l.Holder, now)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: renew lease: %w", err)
	}
	n, _ := r.RowsAffected()
	return n > 0, nil
}

// ReleaseLease drops the holder's lease.
func (s *Store) ReleaseLease(ctx context.Context, l store.JobLease) error {
	_, err := s.db.W.ExecContext(ctx, `DELETE FROM jobLeases WHERE job = ? AND holder = ?`, l.Job, l.Holder)
	return err
}

// RecordRun stores a run.
func (s *Store) RecordRun(ctx context.Context, r store.Run) error {
	c, err := json.Marshal(r.Counts)
	if err != nil {
		return err
	}
	_, err = s.db.W.ExecContext(ctx, `INSERT INTO jobRuns (id, job, startedAt, endedAt, outcome, counts, error, windowFrom, windowTo) VALUES (?,?,?,?,?,?,?,?,?)`,
		newID("run_"), r.Job, r.StartedAt, r.EndedAt, string(r.Outcome), string(c), nullStr(r.Error), nullMs(r.WindowFrom), nullMs(r.WindowTo))
	if err != nil {
		return fmt.Errorf("sqlitestore: record run: %w", err)
	}
	return nil
}

// nullMs stores an absent (0) time as NULL.
func nullMs(ms int64) any {
	if ms == 0 {
		return nil
	}
	return ms
}

// Runs lists runs newest first (ties in insertion order, newest first).
func (s *Store) Runs(ctx context.Context, job string, outcome store.Outcome, limit int) ([]store.Run, error) {
	q := `SELECT id, job, startedAt, endedAt, outcome, counts, COALESCE(error,''), COALESCE(windowFrom,0), COALESCE(windowTo,0) FROM jobRuns WHERE 1=1`
	var args []any
	if job != "" {
		q += ` AND job = ?`
		args = append(args, job)
	}
	if outcome != "" {
		q += ` AND outcome = ?`
		args = append(args, string(outcome))
	}
	q += ` ORDER BY startedAt DESC, rowid DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: runs: %w", err)
	}
	defer rows.Close()
	var out []store.Run
	for rows.Next() {
		var r store.Run
		var counts, outc string
		if err := rows.Scan(&r.ID, &r.Job, &r.StartedAt, &r.EndedAt, &outc, &counts, &r.Error, &r.WindowFrom, &r.WindowTo); err != nil {
			return nil, err
		}
		r.Outcome = store.Outcome(outc)
		if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
			return nil, fmt.Errorf("sqlitestore: run counts: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RawPage reads raw rows in (timestamp, key) order with a keyset cursor
// "<timestamp>:<key>".
func (s *Store) RawPage(ctx context.Context, kind store.RawKind, from, to int64, cursor string, limit int) (store.RawPage, error) {
	var pg store.RawPage
	table, key, cols, ok := rawTable(kind)
	if !ok {
		return pg, fmt.Errorf("%w: raw kind %q", store.ErrInvalid, kind)
	}
	// A row-value bound, so that each page is one range of the
	// (timestamp, key) index rather than a filter over the whole window.
	// (A cursor replaces the lower bound: with both, SQLite starts the range
	// at from and filters its way to the cursor on every page.)
	q := `SELECT ` + cols + ` FROM ` + table + ` WHERE timestamp < ? AND timestamp >= ?`
	args := []any{to, from}
	if cursor != "" {
		ts, k, ok := strings.Cut(cursor, ":")
		t, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || t < from {
			return pg, fmt.Errorf("%w: cursor", store.ErrInvalid)
		}
		q = `SELECT ` + cols + ` FROM ` + table + ` WHERE timestamp < ? AND (timestamp, ` + key + `) > (?, ?)`
		args = []any{to, t, k}
	}
	q += ` ORDER BY timestamp, ` + key + ` LIMIT ?`
	args = append(args, limit)
	n, lastTs, lastKey, err := scanRaw(ctx, s.db.R, kind, q, args, &pg)
	if err != nil {
		return pg, err
	}
	if n == limit {
		pg.Next = strconv.FormatInt(lastTs, 10) + ":" + lastKey
	}
	return pg, nil
}

// rawTable is the table, key column and selected columns (in scanRaw's
// order) of a raw kind.
func rawTable(kind store.RawKind) (table, key, cols string, ok bool) {
	switch kind {
	case store.RawUsage:
		return "usageTracking", "generationId", `generationId, requestId, userId, COALESCE(conversationId,''), COALESCE(messageId,''), model, COALESCE(provider,''),
			promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, costNanoUsd, costStatus, cancelled,
			COALESCE(finishReason,''), timestamp, processingTime, isByok, stream, COALESCE(apiKeyId,''), folded`, true
	case store.RawRequestLogs:
		return "requestLogs", "requestId", `requestId, COALESCE(userId,''), requestType, method, endpoint, COALESCE(model,''), COALESCE(generationId,''), status,
			statusCode, COALESCE(errorType,''), COALESCE(errorMessage,''), requestSize, responseSize, processingTime,
			COALESCE(timeToFirstToken,0), COALESCE(userAgent,''), COALESCE(ipAddress,''), timestamp, COALESCE(apiKeyId,''), folded`, true
	case store.RawActivity:
		return "userActivity", "activityKey", `activityKey, userId, activityType, COALESCE(metadata,''), timestamp, COALESCE(apiKeyId,''), folded`, true
	}
	return "", "", "", false
}

// scanRaw runs q (selecting rawColumns of kind) and appends the rows to
// pg; it returns how many it read and the timestamp and key of the last.
func scanRaw(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, kind store.RawKind, q string, args []any, pg *store.RawPage) (n int, lastTs int64, lastKey string, err error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, 0, "", fmt.Errorf("sqlitestore: raw rows: %w", err)
	}
	defer rows.Close()
	var folded bool
	pending := func(key string) {
		if !folded {
			if pg.Pending == nil {
				pg.Pending = map[string]bool{}
			}
			pg.Pending[key] = true
		}
	}
	for rows.Next() {
		n++
		switch kind {
		case store.RawUsage:
			var u store.Usage
			var cost int64
			var status string
			if err := rows.Scan(&u.GenerationID, &u.RequestID, &u.UserID, &u.ConversationID, &u.MessageID, &u.Model, &u.Provider,
				&u.PromptTokens, &u.CompletionTokens, &u.TotalTokens, &u.CachedTokens, &u.ReasoningTokens, &cost, &status, &u.Cancelled,
				&u.FinishReason, &u.Timestamp, &u.ProcessingTime, &u.IsBYOK, &u.Stream, &u.APIKeyID, &folded); err != nil {
				return n, lastTs, lastKey, err
			}
			u.Cost, u.CostStatus = money.Nanos(cost), store.CostStatus(status)
			pg.Usage = append(pg.Usage, u)
			lastTs, lastKey = u.Timestamp, u.GenerationID
			pending(lastKey)
		case store.RawRequestLogs:
			var l store.RequestLog
			if err := rows.Scan(&l.RequestID, &l.UserID, &l.RequestType, &l.Method, &l.Endpoint, &l.Model, &l.GenerationID, &l.Status,
				&l.StatusCode, &l.ErrorType, &l.ErrorMessage, &l.RequestSize, &l.ResponseSize, &l.ProcessingTime,
				&l.TimeToFirstToken, &l.UserAgent, &l.IPAddress, &l.Timestamp, &l.APIKeyID, &folded); err != nil {
				return n, lastTs, lastKey, err
			}
			pg.RequestLogs = append(pg.RequestLogs, l)
			lastTs, lastKey = l.Timestamp, l.RequestID
			pending(lastKey)
		case store.RawActivity:
			var a store.Activity
			var meta string
			if err := rows.Scan(&a.ActivityKey, &a.UserID, &a.ActivityType, &meta, &a.Timestamp, &a.APIKeyID, &folded); err != nil {
				return n, lastTs, lastKey, err
			}
			if meta != "" {
				if err := json.Unmarshal([]byte(meta), &a.Metadata); err != nil {
					return n, lastTs, lastKey, fmt.Errorf("sqlitestore: activity metadata: %w", err)
				}
			}
			pg.Activity = append(pg.Activity, a)
			lastTs, lastKey = a.Timestamp, a.ActivityKey
			pending(lastKey)
		}
	}
	return n, lastTs, lastKey, rows.Err()
}

// ReplaceAggregates replaces aggregate rows by key in one transaction, if
// the fold version is still foldVersion (else fold.ErrConflict).
func (s *Store) ReplaceAggregates(ctx context.Context, rows []*rollup.Row, foldVersion int64) error {
	for _, r := range rows {
		if r.Shard != 0 {
			return fmt.Errorf("%w: shard %d (the embedded engine keeps one shard)", store.ErrInvalid, r.Shard)
		}
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var v int64
		if err := tx.QueryRowContext(ctx, `SELECT version FROM foldState WHERE id = 1`).Scan(&v); err != nil {
			return err
		}
		if v != foldVersion {
			return fmt.Errorf("%w: fold version %d, expected %d", fold.ErrConflict, v, foldVersion)
		}
		return applyAggregates(ctx, tx, rows, s.nowMs(), true)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: replace aggregates: %w", err)
	}
	return nil
}

// Aggregates lists rows of scope and period with periodStart in [from, to).
func (s *Store) Aggregates(ctx context.Context, scope string, period periods.Period, from, to int64) ([]rollup.Row, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT scope, userId, model, period, periodKey, periodStart, totalRequests, successfulRequests,
		failedRequests, promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, totalCostNanoUsd, totalProcessingTime,
		conversationsStarted, filesUploaded, models, latencyBuckets, latencyFine, ttftBuckets FROM usageAggregates
		WHERE scope = ? AND period = ? AND periodStart >= ? AND periodStart < ? ORDER BY periodStart, userId, model`, scope, string(period), from, to)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: aggregates: %w", err)
	}
	defer rows.Close()
	var out []rollup.Row
	for rows.Next() {
		var r rollup.Row
		var p, models, buckets, fine, ttft string
		c := &r.Counters
		if err := rows.Scan(&r.Scope, &r.UserID, &r.Model, &p, &r.PeriodKey, &r.PeriodStart, &c.TotalRequests, &c.SuccessfulRequests,
			&c.FailedRequests, &c.PromptTokens, &c.CompletionTokens, &c.TotalTokens, &c.CachedTokens, &c.ReasoningTokens, &c.TotalCostNanoUsd,
			&c.TotalProcessingTime, &c.ConversationsStarted, &c.FilesUploaded, &models, &buckets, &fine, &ttft); err != nil {
			return nil, err
		}
		if err := decodeFine(fine, ttft, c); err != nil {
			return nil, err
		}
		r.Period = periods.Period(p)
		if err := json.Unmarshal([]byte(models), &r.Models); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(buckets), &c.LatencyBuckets); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DueQuotas lists a page of active quotas with resetDate <= before, oldest
// first (resetDate, then id); the cursor is the last row's "resetDate/id".
func (s *Store) DueQuotas(ctx context.Context, before int64, cursor string, limit int) (store.QuotaPage, error) {
	afterDate, afterID := int64(-1), ""
	if cursor != "" {
		d, id, ok := strings.Cut(cursor, "/")
		n, err := strconv.ParseInt(d, 10, 64)
		if !ok || err != nil {
			return store.QuotaPage{}, fmt.Errorf("%w: quota cursor %q", store.ErrInvalid, cursor)
		}
		afterDate, afterID = n, id
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, userId, quotaType, "limit", COALESCE(limitNanoUsd,0), used, resetDate, isActive
		FROM userQuotas WHERE isActive = 1 AND resetDate <= ? AND (resetDate > ? OR (resetDate = ? AND id > ?))
		ORDER BY resetDate, id LIMIT ?`, before, afterDate, afterDate, afterID, limit)
	if err != nil {
		return store.QuotaPage{}, fmt.Errorf("sqlitestore: due quotas: %w", err)
	}
	defer rows.Close()
	var page store.QuotaPage
	for rows.Next() {
		var q store.Quota
		if err := rows.Scan(&q.ID, &q.UserID, &q.QuotaType, &q.Limit, &q.LimitNano, &q.Used, &q.ResetDate, &q.IsActive); err != nil {
			return store.QuotaPage{}, err
		}
		if q.LimitNano == 0 && jobsIsCostQuota(q.QuotaType) {
			q.LimitNano = int64(q.Limit * float64(money.NanosPerUSD))
		}
		page.Quotas = append(page.Quotas, q)
	}
	if err := rows.Err(); err != nil {
		return store.QuotaPage{}, err
	}
	if n := len(page.Quotas); n == limit {
		last := page.Quotas[n-1]
		page.Next = strconv.FormatInt(last.ResetDate, 10) + "/" + last.ID
	}
	return page, nil
}

func jobsIsCostQuota(t string) bool {
	return t == store.QuotaMonthlyCostUSD || t == store.QuotaSystemMonthlyCostUSD
}

// ResetQuota is a compare-and-set on resetDate: used = 0, resetDate = next.
func (s *Store) ResetQuota(ctx context.Context, id string, expected, next int64, now time.Time) (bool, error) {
	if next <= expected {
		return false, fmt.Errorf("%w: nextResetDate must be after expectedResetDate", store.ErrInvalid)
	}
	r, err := s.db.W.ExecContext(ctx, `UPDATE userQuotas SET used = 0,
		usedNanoUsd = CASE WHEN quotaType IN ('monthly_cost_usd','system_monthly_cost_usd') THEN 0 ELSE usedNanoUsd END,
		resetDate = ?, updatedAt = ? WHERE id = ? AND resetDate = ?`, next, now.UnixMilli(), id, expected)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: reset quota: %w", err)
	}
	n, _ := r.RowsAffected()
	return n > 0, nil
}

// StoreHealth stores a health check.
func (s *Store) StoreHealth(ctx context.Context, h store.Health) error {
	d, err := json.Marshal(h.Details)
	if err != nil {
		return err
	}
	var rem any
	if h.KeyRemainingNanoUsd != nil {
		rem = *h.KeyRemainingNanoUsd
	}
	_, err = s.db.W.ExecContext(ctx, `INSERT INTO systemHealth (id, checkedAt, openrouterOk, keyRemainingNanoUsd, storeOk, outboxDepth, jobLagMs, details)
		VALUES (?,?,?,?,?,?,?,?)`, newID("h_"), h.CheckedAt, boolInt(h.OpenRouterOK), rem, boolInt(h.StoreOK), h.OutboxDepth, h.JobLagMs, string(d))
	if err != nil {
		return fmt.Errorf("sqlitestore: store health: %w", err)
	}
	return nil
}

// StoreReport stores a report, replacing the one of the same kind and key,
// and returns the deliveries recorded with the one it replaced (they stay).
func (s *Store) StoreReport(ctx context.Context, r store.Report) ([]store.ReportDelivery, error) {
	b, err := json.Marshal(r.Body)
	if err != nil {
		return nil, err
	}
	at := r.CreatedAt
	if at == 0 {
		at = s.nowMs()
	}
	var deliveries string
	err = s.db.W.QueryRowContext(ctx, `INSERT INTO reports (id, kind, periodKey, createdAt, body, csv) VALUES (?,?,?,?,?,?)
		ON CONFLICT (kind, periodKey) DO UPDATE SET createdAt = excluded.createdAt, body = excluded.body, csv = excluded.csv
		RETURNING deliveries`,
		newID("rep_"), r.Kind, r.PeriodKey, at, string(b), r.CSV).Scan(&deliveries)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: store report: %w", err)
	}
	var out []store.ReportDelivery
	if err := json.Unmarshal([]byte(deliveries), &out); err != nil {
		return nil, fmt.Errorf("sqlitestore: store report: deliveries: %w", err)
	}
	return out, nil
}

// StoreForecasts stores one forecast run, replacing a run with the same createdAt.
func (s *Store) StoreForecasts(ctx context.Context, createdAt time.Time, rows []store.Forecast) error {
	at := createdAt.UnixMilli()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM forecasts WHERE createdAt = ?`, at); err != nil {
			return err
		}
		for _, f := range rows {
			var mape, days any
			if f.BacktestMape != nil {
				mape = *f.BacktestMape
			}
			if f.HistoryDays != nil {
				days = *f.HistoryDays
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO forecasts (id, createdAt, scope, userId, month, method, costNanoUsd, costLowNanoUsd,
				costHighNanoUsd, tokens, tokensLow, tokensHigh, backtestMape, historyDays) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
				newID("fc_"), at, f.Scope, nullStr(f.UserID), f.Month, f.Method, f.CostNanoUsd, f.CostLowNanoUsd, f.CostHighNanoUsd,
				f.Tokens, f.TokensLow, f.TokensHigh, mape, days); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: store forecasts: %w", err)
	}
	return nil
}

// moveQuotas moves the counters of the user's token and cost quotas, and
// of the system budget, by a confirmation's differences, each only if the
// row lies in the quota's current window (rollup.QuotaWindow.Holds), and
// never below zero.
func (s *Store) moveQuotas(ctx context.Context, tx *sql.Tx, c rollup.Confirmation, now int64) error {
	qs, err := activeQuotas(ctx, tx, c.Delta.UserID)
	if err != nil {
		return err
	}
	for _, q := range qs {
		for _, w := range c.Quotas {
			if w.QuotaType != q.typ || !w.Holds(q.resetDate, c.Delta.Timestamp) {
				continue
			}
			q.used = max(0, q.used+w.Delta)
			if err := saveUsed(ctx, tx, q, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// ConfirmUsage upgrades an estimated usage row to confirmed and moves its
// aggregates, its period summaries (the fold version moves, so a fold
// computed before is refused) and the quota counters it counts in by the
// difference, in one transaction; rollup.Confirm computes all of it, as
// for the Convex engine. A row not folded yet is left alone (false): the
// fold may have read its old values already, and the backfill confirms it
// on a later run.
func (s *Store) ConfirmUsage(ctx context.Context, c store.UsageConfirmation) (bool, error) {
	done := false
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var old store.Usage
		var cost int64
		err := tx.QueryRowContext(ctx, `SELECT generationId, userId, model, promptTokens, completionTokens, totalTokens, cachedTokens,
			reasoningTokens, costNanoUsd, timestamp FROM usageTracking WHERE generationId = ? AND costStatus = 'estimated' AND folded = 1`, c.GenerationID).Scan(
			&old.GenerationID, &old.UserID, &old.Model, &old.PromptTokens, &old.CompletionTokens, &old.TotalTokens, &old.CachedTokens,
			&old.ReasoningTokens, &cost, &old.Timestamp)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		old.Cost = money.Nanos(cost)
		if _, err := tx.ExecContext(ctx, `UPDATE usageTracking SET promptTokens = ?, completionTokens = ?, totalTokens = ?, cachedTokens = ?,
			reasoningTokens = ?, costNanoUsd = ?, costInCredits = ?, costInUSD = ?, costStatus = 'confirmed' WHERE generationId = ?`,
			c.PromptTokens, c.CompletionTokens, c.TotalTokens, c.CachedTokens, c.ReasoningTokens, c.CostNanoUsd,
			money.Nanos(c.CostNanoUsd).USD(), money.Nanos(c.CostNanoUsd).USD(), c.GenerationID); err != nil {
			return err
		}
		cf := rollup.Confirm(s.cal, old, store.Usage{PromptTokens: c.PromptTokens, CompletionTokens: c.CompletionTokens,
			TotalTokens: c.TotalTokens, CachedTokens: c.CachedTokens, ReasoningTokens: c.ReasoningTokens, Cost: money.Nanos(c.CostNanoUsd)})
		done = true
		now := s.nowMs()
		if err := applyAggregates(ctx, tx, cf.Aggregates, now, false); err != nil {
			return err
		}
		if err := adjustSummaries(ctx, tx, s.cal, cf); err != nil {
			return err
		}
		return s.moveQuotas(ctx, tx, cf, now)
	})
	if err != nil {
		return false, fmt.Errorf("sqlitestore: confirm usage: %w", err)
	}
	return done, nil
}
