package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

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
			if l.UserID != "" && !store.IsQuotaRefusal(l) {
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
		f := fold.Folder{Store: s, Cal: s.cal, Limit: ingestFoldLimit}
		_, _ = f.Run(context.WithoutCancel(ctx))
		s.foldMu.Unlock()
	}
	return res, nil
}

// ingestFoldLimit is the page of the fold after an ingest: a whole
// delivery batch (the outbox ships 2,000 rows, the gateway writes three
// per call) in one apply. fold.DefaultLimit (200) is sized for Convex's
// per-transaction bounds, which SQLite does not have; here each apply
// rewrites every aggregate row its calls touch, so with 200 rows a batch
// of 100 users' calls rewrote the same users' rows ten times over.
const ingestFoldLimit = 4096

// insertChunk is the rows per multi-row INSERT: one statement per 200
// rows instead of one per row (usage rows bind 24 values, well under
// SQLite's 32,766 variables).
const insertChunk = 200

// insertRows inserts n rows with multi-row INSERTs into table (head is
// "INSERT INTO table (cols...)", ncols values per row) and counts inserted
// versus ignored rows: RETURNING names the keys actually stored, so a key
// already present, or repeated within the batch, counts as a duplicate.
// inserted(i) is called, in row order, for each row stored.
func insertRows(ctx context.Context, tx *sql.Tx, head, keyCol string, ncols, n int, key func(i int) string, args func(i int) []any, inserted func(i int)) (ins, dup int, err error) {
	row := "(" + strings.Repeat("?,", ncols-1) + "?)"
	for lo := 0; lo < n; lo += insertChunk {
		hi := min(lo+insertChunk, n)
		var q strings.Builder
		q.WriteString(head)
		q.WriteString(" VALUES ")
		vals := make([]any, 0, (hi-lo)*ncols)
		for i := lo; i < hi; i++ {
			if i > lo {
				q.WriteByte(',')
			}
			q.WriteString(row)
			vals = append(vals, args(i)...)
		}
		q.WriteString(" ON CONFLICT (" + keyCol + ") DO NOTHING RETURNING " + keyCol)
		stored, err := returnedKeys(ctx, tx, q.String(), vals, hi-lo)
		if err != nil {
			return 0, 0, err
		}
		for i := lo; i < hi; i++ {
			// The first row with a key is the one stored; a repeat is not.
			if k := key(i); stored[k] {
				delete(stored, k)
				ins++
				inserted(i)
			} else {
				dup++
			}
		}
	}
	return ins, dup, nil
}

// returnedKeys runs an INSERT ... RETURNING key and collects the keys.
func returnedKeys(ctx context.Context, tx *sql.Tx, query string, vals []any, n int) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, query, vals...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stored := make(map[string]bool, n)
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		stored[k] = true
	}
	return stored, rows.Err()
}

func insertUsage(ctx context.Context, tx *sql.Tx, rows []store.Usage, inserted func(store.Usage)) (int, int, error) {
	return insertRows(ctx, tx, `INSERT INTO usageTracking (generationId, requestId, userId, conversationId, messageId, model, provider,
		promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, costNanoUsd, costInCredits, costInUSD,
		costStatus, cancelled, finishReason, timestamp, processingTime, isByok, stream, apiKeyId, folded)`, "generationId", 24, len(rows),
		func(i int) string { return rows[i].GenerationID }, func(i int) []any {
			u := rows[i]
			return []any{u.GenerationID, u.RequestID, u.UserID, nullStr(u.ConversationID), nullStr(u.MessageID), u.Model, nullStr(u.Provider),
				u.PromptTokens, u.CompletionTokens, u.TotalTokens, u.CachedTokens, u.ReasoningTokens, int64(u.Cost), u.Cost.USD(), u.Cost.USD(),
				string(u.CostStatus), boolInt(u.Cancelled), nullStr(u.FinishReason), u.Timestamp, u.ProcessingTime, boolInt(u.IsBYOK), boolInt(u.Stream), nullStr(u.APIKeyID), 0}
		}, func(i int) { inserted(rows[i]) })
}

func insertRequestLogs(ctx context.Context, tx *sql.Tx, rows []store.RequestLog, inserted func(store.RequestLog)) (int, int, error) {
	return insertRows(ctx, tx, `INSERT INTO requestLogs (requestId, userId, requestType, method, endpoint, model, generationId, status, statusCode,
		errorType, errorMessage, requestSize, responseSize, processingTime, timeToFirstToken, userAgent, ipAddress, timestamp, apiKeyId, conversationId, messageId, folded)`, "requestId", 22, len(rows),
		func(i int) string { return rows[i].RequestID }, func(i int) []any {
			l := rows[i]
			return []any{l.RequestID, nullStr(l.UserID), l.RequestType, l.Method, l.Endpoint, nullStr(l.Model), nullStr(l.GenerationID), l.Status, l.StatusCode,
				nullStr(l.ErrorType), nullStr(l.ErrorMessage), l.RequestSize, l.ResponseSize, l.ProcessingTime, nullInt(l.TimeToFirstToken),
				nullStr(l.UserAgent), nullStr(l.IPAddress), l.Timestamp, nullStr(l.APIKeyID), nullStr(l.ConversationID), nullStr(l.MessageID), 0}
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
	return insertRows(ctx, tx, `INSERT INTO userActivity (activityKey, userId, activityType, metadata, timestamp, apiKeyId, folded)`, "activityKey", 7, len(rows),
		func(i int) string { return rows[i].ActivityKey }, func(i int) []any {
			a := rows[i]
			return []any{a.ActivityKey, a.UserID, a.ActivityType, metas[i], a.Timestamp, nullStr(a.APIKeyID), 0}
		}, func(i int) { inserted(rows[i]) })
}
