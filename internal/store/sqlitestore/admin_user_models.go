package sqlitestore

import (
	"context"
	"database/sql"
)

// maxUserRows is how many usage rows llmmeter:userModels reads at most, as
// MAX_USER_ROWS in adminUserModels.ts.
const maxUserRows = 4000

type userModel struct {
	Model            string  `json:"model"`
	Generations      int64   `json:"generations"`
	PromptTokens     int64   `json:"promptTokens"`
	CompletionTokens int64   `json:"completionTokens"`
	TotalTokens      int64   `json:"totalTokens"`
	CachedTokens     int64   `json:"cachedTokens"`
	ReasoningTokens  int64   `json:"reasoningTokens"`
	CostNanoUsd      int64   `json:"costNanoUsd"`
	CostUsd          float64 `json:"costUsd"`
}

// userModels: per-model sums of the user's newest usage rows in the window
// (at most maxUserRows, `truncated` when there were more) and the first time
// the user was seen; see adminUserModels.ts.
func userModels(ctx context.Context, s *Store, q querier, a args) (any, error) {
	from, to, err := checkWindow(a)
	if err != nil {
		return nil, err
	}
	id, _, err := argUser(ctx, q, a)
	if err != nil {
		return nil, err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM usageTracking
		WHERE userId = ? AND timestamp >= ? AND timestamp < ? LIMIT ?)`, id, from, to, maxUserRows+1).Scan(&n); err != nil {
		return nil, err
	}
	rs, err := q.QueryContext(ctx, `SELECT model, count(*), SUM(promptTokens), SUM(completionTokens), SUM(totalTokens),
		SUM(cachedTokens), SUM(reasoningTokens), SUM(costNanoUsd) FROM (
			SELECT * FROM usageTracking WHERE userId = ? AND timestamp >= ? AND timestamp < ?
			ORDER BY timestamp DESC, rowid DESC LIMIT ?)
		GROUP BY model ORDER BY SUM(costNanoUsd) DESC, model ASC`, id, from, to, maxUserRows)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	models := []userModel{}
	for rs.Next() {
		var m userModel
		if err := rs.Scan(&m.Model, &m.Generations, &m.PromptTokens, &m.CompletionTokens, &m.TotalTokens,
			&m.CachedTokens, &m.ReasoningTokens, &m.CostNanoUsd); err != nil {
			return nil, err
		}
		m.CostUsd = nanosToUsd(m.CostNanoUsd)
		models = append(models, m)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	var first sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MIN(t) FROM (
		SELECT MIN(timestamp) AS t FROM usageTracking WHERE userId = ?1
		UNION ALL SELECT MIN(timestamp) FROM requestLogs WHERE userId = ?1
		UNION ALL SELECT MIN(timestamp) FROM userActivity WHERE userId = ?1)`, id).Scan(&first); err != nil {
		return nil, err
	}
	var firstSeen any
	if first.Valid {
		firstSeen = first.Int64
	}
	return map[string]any{"models": models, "truncated": n > maxUserRows, "firstSeenAt": firstSeen}, nil
}
