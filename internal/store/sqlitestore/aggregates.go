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
func applyAggregates(ctx context.Context, tx *sql.Tx, rows []*rollup.Row, now int64, replace bool) error {
	if len(rows) == 0 {
		return nil
	}
	get, err := tx.PrepareContext(ctx, `SELECT totalRequests, successfulRequests, failedRequests, promptTokens, completionTokens,
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
	for _, r := range rows {
		c, models := r.Counters, r.Models
		if !replace {
			var old rollup.Counters
			var oldModels, oldBuckets, oldFine, oldTTFT string
			err := get.QueryRowContext(ctx, r.Scope, r.UserID, r.Model, string(r.Period), r.PeriodStart).Scan(
				&old.TotalRequests, &old.SuccessfulRequests, &old.FailedRequests, &old.PromptTokens, &old.CompletionTokens,
				&old.TotalTokens, &old.CachedTokens, &old.ReasoningTokens, &old.TotalCostNanoUsd, &old.TotalProcessingTime,
				&old.ConversationsStarted, &old.FilesUploaded, &oldModels, &oldBuckets, &oldFine, &oldTTFT)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				models = rollup.MergeModels(nil, r.Models)
			case err != nil:
				return err
			default:
				var existing []string
				if err := json.Unmarshal([]byte(oldModels), &existing); err != nil {
					return fmt.Errorf("aggregate models: %w", err)
				}
				if err := json.Unmarshal([]byte(oldBuckets), &old.LatencyBuckets); err != nil {
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
		bj, _ := json.Marshal(c.LatencyBuckets)
		fj, _ := json.Marshal(c.LatencyFine)
		tj, _ := json.Marshal(c.TTFTBuckets)
		avg := 0.0
		if c.TotalRequests > 0 {
			avg = float64(c.TotalProcessingTime) / float64(c.TotalRequests)
		}
		if _, err := put.ExecContext(ctx, r.Scope, r.UserID, r.Model, string(r.Period), r.PeriodKey, r.PeriodStart,
			c.TotalRequests, c.SuccessfulRequests, c.FailedRequests, c.PromptTokens, c.CompletionTokens, c.TotalTokens,
			c.CachedTokens, c.ReasoningTokens, c.TotalCostNanoUsd, money.Nanos(c.TotalCostNanoUsd).USD(), c.TotalProcessingTime,
			avg, len(models), c.ConversationsStarted, c.FilesUploaded, string(mj), string(bj), string(fj), string(tj), now); err != nil {
			return err
		}
	}
	return nil
}

// decodeFine reads the latencyFine and ttftBuckets columns into c; '[]'
// (rows stored before migration 0016) leaves zeros.
func decodeFine(fine, ttft string, c *rollup.Counters) error {
	if err := json.Unmarshal([]byte(fine), &c.LatencyFine); err != nil {
		return fmt.Errorf("aggregate latencyFine: %w", err)
	}
	if err := json.Unmarshal([]byte(ttft), &c.TTFTBuckets); err != nil {
		return fmt.Errorf("aggregate ttftBuckets: %w", err)
	}
	return nil
}
