package sqlitestore

import (
	"context"
	"encoding/json"
	"fmt"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
)

// Window semantics of the admin functions (packages/convex/src/lib/window.ts): a window
// {from, to} takes the aggregate periods of its granularity whose
// periodStart is in [from, to), whole; derived values as in Convex.

const (
	hourMs       = 3_600_000
	dayMs        = 24 * hourMs
	maxAggDocs   = 8_000
	maxAggBytes  = 8 * 1024 * 1024
	aggRowBytes  = 400 // a row's size besides its models list (approximate)
	maxSeriesPts = 1000
)

func checkWindow(a args) (from, to float64, err error) {
	from, _ = a.num("from")
	to, _ = a.num("to")
	if !isSafeInt(from) || from < 0 {
		return 0, 0, badRequest("from: expected non-negative integer (ms)")
	}
	if !isSafeInt(to) || to < 0 {
		return 0, 0, badRequest("to: expected non-negative integer (ms)")
	}
	if from >= to {
		return 0, 0, badRequest("to: must be after from")
	}
	return from, to, nil
}

// dstSlack is the most a DST change adds to a span of local days (2 h, in
// Antarctica/Troll; 1 h in most zones).
const dstSlack = 2 * hourMs

// granularityFor: hourly ≤ 48 h < daily ≤ 92 days < monthly, where 92 days
// may be 2 h longer: 92 whole local days over a fall-back are 92 days and
// an hour, and were read by month, dropping the days before the first
// month that starts in the window.
func granularityFor(from, to float64) periods.Period {
	span := to - from
	switch {
	case span <= 48*hourMs:
		return periods.Hourly
	case span <= 92*dayMs+dstSlack:
		return periods.Daily
	}
	return periods.Monthly
}

// aggRow is one usageAggregates row as the admin functions read it.
type aggRow struct {
	userID, model string
	periodKey     string
	periodStart   int64
	c             rollup.Counters
	models        []string
}

// aggSelection picks rows of one scope and period with periodStart in
// [from, to), of one user or model when set.
type aggSelection struct {
	scope         string
	period        periods.Period
	from, to      float64
	userID, model string
	// countersOnly skips decoding models and latency buckets, for callers
	// that need neither (the rows still count against the read budget).
	countersOnly bool
}

// readBudget bounds what one call reads, as Convex's ReadBudget does.
type readBudget struct{ docs, bytes int }

func (b *readBudget) consume(r *aggRow, modelsJSON int) error {
	b.docs++
	b.bytes += aggRowBytes + modelsJSON
	if b.docs > maxAggDocs || b.bytes > maxAggBytes {
		return badRequest("window too large: more than %d aggregate rows or %d bytes; narrow from/to", maxAggDocs, maxAggBytes)
	}
	return nil
}

const aggCols = `userId, model, periodKey, periodStart, totalRequests, successfulRequests, failedRequests, promptTokens,
	completionTokens, totalTokens, cachedTokens, reasoningTokens, totalCostNanoUsd, totalProcessingTime, conversationsStarted,
	filesUploaded, models, latencyBuckets`

// readAggregates returns the selected rows ascending by periodStart, each
// through one index range (by scope, by user or by model, then period and
// periodStart).
func readAggregates(ctx context.Context, q querier, b *readBudget, s aggSelection) ([]aggRow, error) {
	var (
		where string
		arg   any
	)
	switch {
	case s.userID != "":
		where, arg = "userId = ?", s.userID
	case s.model != "":
		where, arg = "model = ?", s.model
	default:
		where, arg = "scope = ?", s.scope
	}
	rows, err := q.QueryContext(ctx, `SELECT scope, `+aggCols+` FROM usageAggregates WHERE `+where+
		` AND period = ? AND periodStart >= ? AND periodStart < ? ORDER BY periodStart`, arg, string(s.period), s.from, s.to)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: read aggregates: %w", err)
	}
	defer rows.Close()
	var out []aggRow
	for rows.Next() {
		var (
			r                  aggRow
			scope, models, lat string
		)
		c := &r.c
		if err := rows.Scan(&scope, &r.userID, &r.model, &r.periodKey, &r.periodStart, &c.TotalRequests, &c.SuccessfulRequests,
			&c.FailedRequests, &c.PromptTokens, &c.CompletionTokens, &c.TotalTokens, &c.CachedTokens, &c.ReasoningTokens,
			&c.TotalCostNanoUsd, &c.TotalProcessingTime, &c.ConversationsStarted, &c.FilesUploaded, &models, &lat); err != nil {
			return nil, err
		}
		if err := b.consume(&r, len(models)); err != nil {
			return nil, err
		}
		if scope != s.scope {
			continue
		}
		if s.countersOnly {
			out = append(out, r)
			continue
		}
		if err := json.Unmarshal([]byte(models), &r.models); err != nil {
			return nil, fmt.Errorf("sqlitestore: aggregate models: %w", err)
		}
		var buckets []int64
		if err := json.Unmarshal([]byte(lat), &buckets); err != nil {
			return nil, fmt.Errorf("sqlitestore: aggregate buckets: %w", err)
		}
		copy(c.LatencyBuckets[:], buckets)
		out = append(out, r)
	}
	return out, rows.Err()
}

// mergeRows sums counters and unions models.
func mergeRows(rows []aggRow) (rollup.Counters, map[string]bool) {
	var c rollup.Counters
	models := map[string]bool{}
	for i := range rows {
		c.Add(rows[i].c)
		for _, m := range rows[i].models {
			models[m] = true
		}
	}
	return c, models
}

// groupBy groups rows by key, keeping first-seen order of the keys.
func groupBy[K comparable](rows []aggRow, key func(*aggRow) K) ([]K, map[K][]aggRow) {
	var order []K
	groups := map[K][]aggRow{}
	for i := range rows {
		k := key(&rows[i])
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], rows[i])
	}
	return order, groups
}

func avgMs(c rollup.Counters) int64 {
	if c.TotalRequests == 0 {
		return 0
	}
	return int64(jsRound(float64(c.TotalProcessingTime) / float64(c.TotalRequests)))
}

// p95FromBuckets: the upper bound of the first bucket whose cumulative count
// reaches ceil(0.95·n); 0 without requests; nil for the +inf bucket.
func p95FromBuckets(b [rollup.NumBuckets]int64) *int64 {
	var total int64
	for _, n := range b {
		total += n
	}
	if total == 0 {
		zero := int64(0)
		return &zero
	}
	rank := (95*total + 99) / 100
	var cum int64
	for i, n := range b {
		cum += n
		if cum >= rank {
			if i < len(rollup.LatencyBounds) {
				v := rollup.LatencyBounds[i]
				return &v
			}
			return nil
		}
	}
	return nil
}

// totals is the totals object of llmmeter:overview and llmmeter:userDetail.
type totals struct {
	Requests         int64   `json:"requests"`
	Successful       int64   `json:"successful"`
	Failed           int64   `json:"failed"`
	PromptTokens     int64   `json:"promptTokens"`
	CompletionTokens int64   `json:"completionTokens"`
	TotalTokens      int64   `json:"totalTokens"`
	CachedTokens     int64   `json:"cachedTokens"`
	ReasoningTokens  int64   `json:"reasoningTokens"`
	CostNanoUsd      int64   `json:"costNanoUsd"`
	CostUsd          float64 `json:"costUsd"`
	AvgProcessingMs  int64   `json:"avgProcessingMs"`
	P95ProcessingMs  *int64  `json:"p95ProcessingMs"`
	ModelsUsed       int     `json:"modelsUsed"`
}

func totalsOf(rows []aggRow) totals {
	c, models := mergeRows(rows)
	return totals{
		Requests: c.TotalRequests, Successful: c.SuccessfulRequests, Failed: c.FailedRequests,
		PromptTokens: c.PromptTokens, CompletionTokens: c.CompletionTokens, TotalTokens: c.TotalTokens,
		CachedTokens: c.CachedTokens, ReasoningTokens: c.ReasoningTokens,
		CostNanoUsd: c.TotalCostNanoUsd, CostUsd: nanosToUsd(c.TotalCostNanoUsd),
		AvgProcessingMs: avgMs(c), P95ProcessingMs: p95FromBuckets(c.LatencyBuckets), ModelsUsed: len(models),
	}
}
