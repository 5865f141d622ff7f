package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"llmmeter/internal/fold"
	"llmmeter/internal/store"
)

// Ingest inserts the rows of b whose keys are not stored yet, all in one
// transaction; rows already present are counted as duplicates and left as
// they are.
func (s *Store) Ingest(ctx context.Context, b store.Batch) (store.IngestResult, error) {
	var res store.IngestResult
	if err := b.Validate(); err != nil {
		return res, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res = store.IngestResult{}
		quota := map[string][]contribution{}
		var settled []string
		var err error
		// A request's reservation settles with the row that completes its
		// count: the usage row when the request named a generation (its
		// request log may arrive first, while the cost is still pending),
		// else the request log.
		if res.Inserted.Usage, res.Duplicates.Usage, err = insertUsage(ctx, tx, b.Usage, func(u store.Usage) {
			settled = append(settled, u.RequestID)
			quota[u.UserID] = append(quota[u.UserID], contribution{ts: u.Timestamp, tokens: u.TotalTokens, cost: int64(u.Cost)})
		}); err != nil {
			return err
		}
		if res.Inserted.RequestLogs, res.Duplicates.RequestLogs, err = insertRequestLogs(ctx, tx, b.RequestLogs, func(l store.RequestLog) {
			if l.GenerationID == "" {
				settled = append(settled, l.RequestID)
			}
			if l.UserID != "" {
				quota[l.UserID] = append(quota[l.UserID], contribution{ts: l.Timestamp, requests: 1})
			}
		}); err != nil {
			return err
		}
		if res.Inserted.Activity, res.Duplicates.Activity, err = insertActivity(ctx, tx, b.Activity, func(store.Activity) {}); err != nil {
			return err
		}
		// Quota counters and reservations move in the same transaction as
		// the rows; summaries are the fold's (rows go in unfolded).
		now := s.nowMs()
		if err := s.applyQuotas(ctx, tx, quota, now); err != nil {
			return err
		}
		return settle(ctx, tx, settled)
	})
	if err != nil {
		return store.IngestResult{}, fmt.Errorf("sqlitestore: ingest: %w", invalidIfChecked(err))
	}
	// A single node folds at once, with the same fold and compare-and-set
	// as the fold job (which picks up whatever this leaves, e.g. after a
	// crash between the two transactions), so reads stay as fresh as the
	// rows. A failure here is not the ingest's: the rows are stored.
	if !s.noFoldOnIngest && res.Inserted.Usage+res.Inserted.RequestLogs+res.Inserted.Activity > 0 {
		s.foldMu.Lock()
		f := fold.Folder{Store: s, Cal: s.cal}
		_, _ = f.Run(context.WithoutCancel(ctx))
		s.foldMu.Unlock()
	}
	return res, nil
}

// insertEach runs stmt once per row and counts inserted versus ignored rows;
// inserted(i) is called for each row actually stored.
func insertEach(ctx context.Context, tx *sql.Tx, query string, n int, args func(i int) []any, inserted func(i int)) (ins, dup int, err error) {
	if n == 0 {
		return 0, 0, nil
	}
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return 0, 0, err
	}
	defer stmt.Close()
	for i := range n {
		r, err := stmt.ExecContext(ctx, args(i)...)
		if err != nil {
			return 0, 0, err
		}
		if k, _ := r.RowsAffected(); k > 0 {
			ins++
			inserted(i)
		} else {
			dup++
		}
	}
	return ins, dup, nil
}

func insertUsage(ctx context.Context, tx *sql.Tx, rows []store.Usage, inserted func(store.Usage)) (int, int, error) {
	return insertEach(ctx, tx, `INSERT INTO usageTracking (generationId, requestId, userId, conversationId, messageId, model, provider,
		promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, costNanoUsd, costInCredits, costInUSD,
		costStatus, cancelled, finishReason, timestamp, processingTime, isByok, stream, folded)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0) ON CONFLICT (generationId) DO NOTHING`, len(rows), func(i int) []any {
		u := rows[i]
		return []any{u.GenerationID, u.RequestID, u.UserID, nullStr(u.ConversationID), nullStr(u.MessageID), u.Model, nullStr(u.Provider),
			u.PromptTokens, u.CompletionTokens, u.TotalTokens, u.CachedTokens, u.ReasoningTokens, int64(u.Cost), u.Cost.USD(), u.Cost.USD(),
			string(u.CostStatus), boolInt(u.Cancelled), nullStr(u.FinishReason), u.Timestamp, u.ProcessingTime, boolInt(u.IsBYOK), boolInt(u.Stream)}
	}, func(i int) { inserted(rows[i]) })
}

func insertRequestLogs(ctx context.Context, tx *sql.Tx, rows []store.RequestLog, inserted func(store.RequestLog)) (int, int, error) {
	return insertEach(ctx, tx, `INSERT INTO requestLogs (requestId, userId, requestType, method, endpoint, model, generationId, status, statusCode,
		errorType, errorMessage, requestSize, responseSize, processingTime, timeToFirstToken, userAgent, ipAddress, timestamp, folded)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0) ON CONFLICT (requestId) DO NOTHING`, len(rows), func(i int) []any {
		l := rows[i]
		return []any{l.RequestID, nullStr(l.UserID), l.RequestType, l.Method, l.Endpoint, nullStr(l.Model), nullStr(l.GenerationID), l.Status, l.StatusCode,
			nullStr(l.ErrorType), nullStr(l.ErrorMessage), l.RequestSize, l.ResponseSize, l.ProcessingTime, nullInt(l.TimeToFirstToken),
			nullStr(l.UserAgent), nullStr(l.IPAddress), l.Timestamp}
	}, func(i int) { inserted(rows[i]) })
}

func insertActivity(ctx context.Context, tx *sql.Tx, rows []store.Activity, inserted func(store.Activity)) (int, int, error) {
	metas := make([]any, len(rows))
	for i, a := range rows {
		if len(a.Metadata) > 0 {
			b, err := json.Marshal(a.Metadata)
			if err != nil {
				return 0, 0, fmt.Errorf("activity[%d].metadata: %w", i, err)
			}
			metas[i] = string(b)
		}
	}
	return insertEach(ctx, tx, `INSERT INTO userActivity (activityKey, userId, activityType, metadata, timestamp, folded)
		VALUES (?,?,?,?,?,0) ON CONFLICT (activityKey) DO NOTHING`, len(rows), func(i int) []any {
		a := rows[i]
		return []any{a.ActivityKey, a.UserID, a.ActivityType, metas[i], a.Timestamp}
	}, func(i int) { inserted(rows[i]) })
}
