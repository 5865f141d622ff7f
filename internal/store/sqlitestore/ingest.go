package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"llmmeter/internal/fold"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/sqlitedb"
	"llmmeter/internal/store"
)

// Ingest inserts the rows of b whose keys are not stored yet, all in one
// transaction; rows already present are counted as duplicates and left as
// they are. The rows it stores are folded in the same transaction (see
// foldsInTx), so reads are as fresh as the rows and a batch costs one
// commit. That commit fsyncs (TxFull): the outbox deletes the batch's entries
// right after, without an fsync of its own, so the rows must be on disk
// before the delete can be.
func (s *Store) Ingest(ctx context.Context, b store.Batch) (store.IngestResult, error) {
	var res store.IngestResult
	if err := b.Validate(); err != nil {
		return res, err
	}
	inTx := !s.noFoldOnIngest && foldsInTx(s.cal, b)
	ctx = sqlitedb.Brief(ctx) // a statement per row
	err := s.db.TxFull(ctx, func(tx *sql.Tx) error {
		res = store.IngestResult{}
		quota := map[string][]contribution{}
		var settled []string
		var stored fold.Pending
		var err error
		// A request's reservation settles with the row that completes its
		// count: the usage row when the request named a generation (its
		// request log may arrive first, while the cost is still pending),
		// else the request log.
		if res.Inserted.Usage, res.Duplicates.Usage, err = insertUsage(ctx, tx, b.Usage, inTx, func(u store.Usage) {
			settled = append(settled, u.RequestID)
			quota[u.UserID] = append(quota[u.UserID], contribution{ts: u.Timestamp, tokens: u.TotalTokens, cost: int64(u.Cost)})
			stored.Usage = append(stored.Usage, u)
		}); err != nil {
			return err
		}
		if res.Inserted.RequestLogs, res.Duplicates.RequestLogs, err = insertRequestLogs(ctx, tx, b.RequestLogs, inTx, func(l store.RequestLog) {
			if l.GenerationID == "" {
				settled = append(settled, l.RequestID)
			}
			if l.UserID != "" && !store.IsQuotaRefusal(l) {
				quota[l.UserID] = append(quota[l.UserID], contribution{ts: l.Timestamp, requests: 1})
			}
			stored.RequestLogs = append(stored.RequestLogs, l)
		}); err != nil {
			return err
		}
		if res.Inserted.Activity, res.Duplicates.Activity, err = insertActivity(ctx, tx, b.Activity, inTx, func(a store.Activity) {
			stored.Activity = append(stored.Activity, a)
		}); err != nil {
			return err
		}
		// Quota counters and reservations move in the same transaction as
		// the rows.
		now := s.nowMs()
		if err := s.applyQuotas(ctx, tx, quota, now); err != nil {
			return err
		}
		if err := settle(ctx, tx, settled); err != nil {
			return err
		}
		if inTx {
			return s.foldStored(ctx, tx, stored)
		}
		return nil
	})
	if err != nil {
		return store.IngestResult{}, fmt.Errorf("sqlitestore: ingest: %w", invalidIfChecked(err))
	}
	// A batch too wide for one apply went in unfolded: fold it now, a few
	// periods at a time, with the fold job's Folder and compare-and-set
	// (the job picks up whatever this leaves, e.g. after a crash between
	// the two transactions). A failure here is not the ingest's: the rows
	// are stored.
	if !inTx && !s.noFoldOnIngest && res.Inserted.Usage+res.Inserted.RequestLogs+res.Inserted.Activity > 0 {
		s.foldMu.Lock()
		f := fold.Folder{Store: s, Cal: s.cal, Limit: ingestFoldLimit}
		_, _ = f.Run(context.WithoutCancel(ctx))
		s.foldMu.Unlock()
	}
	return res, nil
}

// foldsInTx reports whether b can be folded in its ingest's transaction:
// its rows touch at most fold.MaxPeriods periods, the bound of one apply,
// as live traffic's do (a backfill of old rows is folded after the
// ingest, a few periods at a time, like the fold job does).
func foldsInTx(cal *periods.Calendar, b store.Batch) bool {
	// Rows of one local hour touch that hour's four periods and no others
	// (an hour lies inside one day, week and month): the common case,
	// decided from the earliest and latest row instead of four calendar
	// look-ups per row.
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	at := func(ts int64) { lo, hi = min(lo, ts), max(hi, ts) }
	for _, u := range b.Usage {
		at(u.Timestamp)
	}
	for _, l := range b.RequestLogs {
		at(l.Timestamp)
	}
	for _, a := range b.Activity {
		at(a.Timestamp)
	}
	if lo > hi || (len(periods.All) <= fold.MaxPeriods && cal.Of(periods.Hourly, lo).Start == cal.Of(periods.Hourly, hi).Start) {
		return true
	}
	p := fold.Pending{Usage: b.Usage, RequestLogs: b.RequestLogs, Activity: b.Activity}
	return fold.LimitPeriods(cal, p, fold.MaxPeriods).Len() == p.Len()
}

// foldStored folds p, the rows an ingest has just stored already marked
// folded, in the ingest's transaction tx: the fold's own computation
// (fold.Compute, fold.Summarize over the summaries read in tx) from the
// rows in hand instead of read back, and written as ApplyFold writes it.
// The transaction holds the only writer, so no other apply can come
// between the read and the write; the version still moves, so a folder
// that read before loses its compare-and-set.
func (s *Store) foldStored(ctx context.Context, tx *sql.Tx, p fold.Pending) error {
	if p.Len() == 0 {
		return nil
	}
	a := fold.Compute(s.cal, p)
	st, err := summaryState(ctx, tx, rollup.KeysOf(a.Aggregates))
	if err != nil {
		return err
	}
	fold.Summarize(&a, st)
	return s.writeFold(ctx, tx, a)
}

// ingestFoldLimit is the page of the fold after an ingest of a batch too
// wide to fold in its transaction: a whole delivery batch (the outbox
// ships 2,000 rows, the gateway writes three per call) per apply, within
// fold.MaxPeriods. fold.DefaultLimit (200) is sized for Convex's
// per-transaction bounds, which SQLite does not have.
const ingestFoldLimit = 4096

// insertRows inserts n rows into table (head is "INSERT INTO table
// (cols...)", ncols values per row) with one statement prepared once and
// run per row, and counts inserted versus ignored rows: a key already
// present, or repeated within the batch, changes nothing and counts as a
// duplicate. inserted(i) is called, in row order, for each row stored.
// (Measured against multi-row INSERT ... RETURNING: a one-row statement
// needs neither the statement journal nor RETURNING's temporary table.)
func insertRows(ctx context.Context, tx *sql.Tx, head, keyCol string, ncols, n int, args func(i int) []any, inserted func(i int)) (ins, dup int, err error) {
	if n == 0 {
		return 0, 0, nil
	}
	stmt, err := tx.PrepareContext(ctx, head+" VALUES ("+strings.Repeat("?,", ncols-1)+"?) ON CONFLICT ("+keyCol+") DO NOTHING")
	if err != nil {
		return 0, 0, err
	}
	defer stmt.Close()
	for i := range n {
		r, err := stmt.ExecContext(ctx, args(i)...)
		if err != nil {
			return 0, 0, err
		}
		if k, err := r.RowsAffected(); err != nil {
			return 0, 0, err
		} else if k == 1 {
			ins++
			inserted(i)
		} else {
			dup++
		}
	}
	return ins, dup, nil
}

func insertUsage(ctx context.Context, tx *sql.Tx, rows []store.Usage, folded bool, inserted func(store.Usage)) (int, int, error) {
	return insertRows(ctx, tx, `INSERT INTO usageTracking (generationId, requestId, userId, conversationId, messageId, model, provider,
		promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, costNanoUsd, costInCredits, costInUSD,
		costStatus, cancelled, finishReason, timestamp, processingTime, isByok, stream, apiKeyId, folded)`, "generationId", 24, len(rows),
		func(i int) []any {
			u := rows[i]
			return []any{u.GenerationID, u.RequestID, u.UserID, nullStr(u.ConversationID), nullStr(u.MessageID), u.Model, nullStr(u.Provider),
				u.PromptTokens, u.CompletionTokens, u.TotalTokens, u.CachedTokens, u.ReasoningTokens, int64(u.Cost), u.Cost.USD(), u.Cost.USD(),
				string(u.CostStatus), boolInt(u.Cancelled), nullStr(u.FinishReason), u.Timestamp, u.ProcessingTime, boolInt(u.IsBYOK), boolInt(u.Stream), nullStr(u.APIKeyID), boolInt(folded)}
		}, func(i int) { inserted(rows[i]) })
}

func insertRequestLogs(ctx context.Context, tx *sql.Tx, rows []store.RequestLog, folded bool, inserted func(store.RequestLog)) (int, int, error) {
	return insertRows(ctx, tx, `INSERT INTO requestLogs (requestId, userId, requestType, method, endpoint, model, generationId, status, statusCode,
		errorType, errorMessage, requestSize, responseSize, processingTime, timeToFirstToken, userAgent, ipAddress, timestamp, apiKeyId, conversationId, messageId, folded)`, "requestId", 22, len(rows),
		func(i int) []any {
			l := rows[i]
			return []any{l.RequestID, nullStr(l.UserID), l.RequestType, l.Method, l.Endpoint, nullStr(l.Model), nullStr(l.GenerationID), l.Status, l.StatusCode,
				nullStr(l.ErrorType), nullStr(l.ErrorMessage), l.RequestSize, l.ResponseSize, l.ProcessingTime, nullInt(l.TimeToFirstToken),
				nullStr(l.UserAgent), nullStr(l.IPAddress), l.Timestamp, nullStr(l.APIKeyID), nullStr(l.ConversationID), nullStr(l.MessageID), boolInt(folded)}
		}, func(i int) { inserted(rows[i]) })
}

func insertActivity(ctx context.Context, tx *sql.Tx, rows []store.Activity, folded bool, inserted func(store.Activity)) (int, int, error) {
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
		func(i int) []any {
			a := rows[i]
			return []any{a.ActivityKey, a.UserID, a.ActivityType, metas[i], a.Timestamp, nullStr(a.APIKeyID), boolInt(folded)}
		}, func(i int) { inserted(rows[i]) })
}
