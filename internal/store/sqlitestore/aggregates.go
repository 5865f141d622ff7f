package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"llmmeter/internal/money"
	"llmmeter/internal/rollup"
)

// applyAggregates writes aggregate rows in tx. With replace false the rows
// are deltas added to what is stored (live aggregates at ingest); with
// replace true they replace the stored rows (roll-ups recomputed from raw
// rows). Derived columns are recomputed either way.
//
// A delta to a stored row is an UPDATE of that row by rowid, which leaves
// the four indexes alone (none of their columns changes); INSERT OR
// REPLACE would delete the row and insert it again, writing each index
// twice, for every key of every ingest.
func applyAggregates(ctx context.Context, tx *sql.Tx, rows []*rollup.Row, now int64, replace bool) error {
	if len(rows) == 0 {
		return nil
	}
	get, err := tx.PrepareContext(ctx, `SELECT rowid, totalRequests, successfulRequests, failedRequests, promptTokens, completionTokens,
		totalTokens, cachedTokens, reasoningTokens, totalCostNanoUsd, totalProcessingTime, conversationsStarted, filesUploaded,
		models, latencyBuckets, latencyFine, ttftBuckets FROM usageAggregates WHERE scope = ? AND userId = ? AND model = ? AND period = ? AND periodStart = ?`)
	if err != nil {
		return err
	}
	defer get.Close()
	put, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO usageAggregates (scope, userId, model, period, periodKey, periodStart,
		totalRequests, successfulRequests, failedRequests, promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens,
		totalCostNanoUsd, totalCost, totalProcessingTime, averageProcessingTime, uniqueModels, conversationsStarted, filesUploaded,
		models, latencyBuckets, latencyFine, ttftBuckets, lastUpdated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer put.Close()
	var upd *sql.Stmt // prepared on the first stored row
	defer func() {
		if upd != nil {
			upd.Close()
		}
	}()
	var buf []byte
	for _, r := range rows {
		c, models := r.Counters, r.Models
		var rowid int64
		stored := false
		if !replace {
			var old rollup.Counters
			var oldModels, oldBuckets, oldFine, oldTTFT string
			err := get.QueryRowContext(ctx, r.Scope, r.UserID, r.Model, string(r.Period), r.PeriodStart).Scan(&rowid,
				&old.TotalRequests, &old.SuccessfulRequests, &old.FailedRequests, &old.PromptTokens, &old.CompletionTokens,
				&old.TotalTokens, &old.CachedTokens, &old.ReasoningTokens, &old.TotalCostNanoUsd, &old.TotalProcessingTime,
				&old.ConversationsStarted, &old.FilesUploaded, &oldModels, &oldBuckets, &oldFine, &oldTTFT)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				models = rollup.MergeModels(nil, r.Models)
			case err != nil:
				return err
			default:
				stored = true
				var existing []string
				if err := json.Unmarshal([]byte(oldModels), &existing); err != nil {
					return fmt.Errorf("aggregate models: %w", err)
				}
				if err := parseInts(oldBuckets, old.LatencyBuckets[:]); err != nil {
					return fmt.Errorf("aggregate buckets: %w", err)
				}
				if err := decodeFine(oldFine, oldTTFT, &old); err != nil {
					return err
				}
				old.Add(c)
				c, models = old, rollup.MergeModels(existing, r.Models)
			}
		}
		mj, _ := json.Marshal(models)
		// One buffer for the three arrays, sliced apart: the driver copies
		// each argument before the next row reuses it.
		buf = appendInts(buf[:0], c.LatencyBuckets[:])
		nb := len(buf)
		buf = appendInts(buf, c.LatencyFine[:])
		nf := len(buf)
		buf = appendInts(buf, c.TTFTBuckets[:])
		bj, fj, tj := string(buf[:nb]), string(buf[nb:nf]), string(buf[nf:])
		avg := 0.0
		if c.TotalRequests > 0 {
			avg = float64(c.TotalProcessingTime) / float64(c.TotalRequests)
		}
		if stored {
			if upd == nil {
				if upd, err = tx.PrepareContext(ctx, `UPDATE usageAggregates SET totalRequests = ?, successfulRequests = ?,
					failedRequests = ?, promptTokens = ?, completionTokens = ?, totalTokens = ?, cachedTokens = ?, reasoningTokens = ?,
					totalCostNanoUsd = ?, totalCost = ?, totalProcessingTime = ?, averageProcessingTime = ?, uniqueModels = ?,
					conversationsStarted = ?, filesUploaded = ?, models = ?, latencyBuckets = ?, latencyFine = ?, ttftBuckets = ?,
					lastUpdated = ? WHERE rowid = ?`); err != nil {
					return err
				}
			}
			if _, err := upd.ExecContext(ctx, c.TotalRequests, c.SuccessfulRequests, c.FailedRequests, c.PromptTokens,
				c.CompletionTokens, c.TotalTokens, c.CachedTokens, c.ReasoningTokens, c.TotalCostNanoUsd,
				money.Nanos(c.TotalCostNanoUsd).USD(), c.TotalProcessingTime, avg, len(models), c.ConversationsStarted,
				c.FilesUploaded, string(mj), bj, fj, tj, now, rowid); err != nil {
				return err
			}
			continue
		}
		if _, err := put.ExecContext(ctx, r.Scope, r.UserID, r.Model, string(r.Period), r.PeriodKey, r.PeriodStart,
			c.TotalRequests, c.SuccessfulRequests, c.FailedRequests, c.PromptTokens, c.CompletionTokens, c.TotalTokens,
			c.CachedTokens, c.ReasoningTokens, c.TotalCostNanoUsd, money.Nanos(c.TotalCostNanoUsd).USD(), c.TotalProcessingTime,
			avg, len(models), c.ConversationsStarted, c.FilesUploaded, string(mj), bj, fj, tj, now); err != nil {
			return err
		}
	}
	return nil
}

// decodeFine reads the latencyFine and ttftBuckets columns into c; '[]'
// (rows stored before migration 0016) leaves zeros.
func decodeFine(fine, ttft string, c *rollup.Counters) error {
	if err := parseInts(fine, c.LatencyFine[:]); err != nil {
		return fmt.Errorf("aggregate latencyFine: %w", err)
	}
	if err := parseInts(ttft, c.TTFTBuckets[:]); err != nil {
		return fmt.Errorf("aggregate ttftBuckets: %w", err)
	}
	return nil
}
