package sqlitestore

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
)

// llmmeter:userStatement of packages/convex/src/adminStatement.ts: a user's
// monthly statement. Totals and byDay come from the fold's daily user rows;
// byModel from at most maxStatementRows usage rows of the month, oldest
// first (the fold keeps no user × model rows), with byModelComplete false
// when there were more.

const maxStatementRows = 10_000

var monthPattern = regexp.MustCompile(`^(\d{4})-(0[1-9]|1[0-2])$`)

var userStatementArgs = []field{req("userId", vString), req("month", vString)}

// monthWindow is [from, to) of the month "YYYY-MM" in the calendar's zone;
// noon of the 1st is never in a DST gap.
func monthWindow(cal *periods.Calendar, month string) (from, to int64, err error) {
	m := monthPattern.FindStringSubmatch(month)
	if m == nil {
		return 0, 0, badRequest("month: expected YYYY-MM")
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	noon := time.Date(y, time.Month(mo), 1, 12, 0, 0, 0, cal.Location()).UnixMilli()
	return cal.Of(periods.Monthly, noon).Start, cal.Next(periods.Monthly, noon), nil
}

type statementTokens struct {
	PromptTokens     int64 `json:"promptTokens"`
	CompletionTokens int64 `json:"completionTokens"`
	TotalTokens      int64 `json:"totalTokens"`
	CachedTokens     int64 `json:"cachedTokens"`
	ReasoningTokens  int64 `json:"reasoningTokens"`
}

type statementCounts struct {
	Requests   int64 `json:"requests"`
	Successful int64 `json:"successful"`
	Failed     int64 `json:"failed"`
	statementTokens
	CostNanoUsd int64   `json:"costNanoUsd"`
	CostUsd     float64 `json:"costUsd"`
}

func countsOf(c rollup.Counters) statementCounts {
	return statementCounts{
		Requests: c.TotalRequests, Successful: c.SuccessfulRequests, Failed: c.FailedRequests,
		statementTokens: statementTokens{PromptTokens: c.PromptTokens, CompletionTokens: c.CompletionTokens,
			TotalTokens: c.TotalTokens, CachedTokens: c.CachedTokens, ReasoningTokens: c.ReasoningTokens},
		CostNanoUsd: c.TotalCostNanoUsd, CostUsd: nanosToUsd(c.TotalCostNanoUsd),
	}
}

type statementDay struct {
	PeriodKey   string `json:"periodKey"`
	PeriodStart int64  `json:"periodStart"`
	statementCounts
}

type statementModel struct {
	Model       string `json:"model"`
	Generations int64  `json:"generations"`
	statementTokens
	CostNanoUsd int64   `json:"costNanoUsd"`
	CostUsd     float64 `json:"costUsd"`
}

type userStatementView struct {
	UserID          string           `json:"userId"`
	Name            any              `json:"name"`
	Email           any              `json:"email"`
	Month           string           `json:"month"`
	From            int64            `json:"from"`
	To              int64            `json:"to"`
	Totals          statementCounts  `json:"totals"`
	ByDay           []statementDay   `json:"byDay"`
	ByModel         []statementModel `json:"byModel"`
	UsageRows       int              `json:"usageRows"`
	ByModelComplete bool             `json:"byModelComplete"`
}

func userStatement(ctx context.Context, s *Store, q querier, a args) (any, error) {
	raw, _ := a.str("userId")
	id, err := idOf("users", raw, "userId")
	if err != nil {
		return nil, err
	}
	month, _ := a.str("month")
	from, to, err := monthWindow(s.cal, month)
	if err != nil {
		return nil, err
	}
	u, ok, err := getUser(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("userId: no such user")
	}
	days, err := readAggregates(ctx, q, &readBudget{}, aggSelection{scope: rollup.ScopeUser, period: periods.Daily,
		from: float64(from), to: float64(to), userID: id, countersOnly: true})
	if err != nil {
		return nil, err
	}
	v := userStatementView{UserID: id, Name: u.Name, Email: u.Email, Month: month, From: from, To: to, ByDay: []statementDay{}}
	all, _ := mergeRows(days)
	v.Totals = countsOf(all)
	starts, groups := groupBy(days, func(r *aggRow) int64 { return r.periodStart })
	slices.Sort(starts)
	for _, start := range starts {
		c, _ := mergeRows(groups[start])
		v.ByDay = append(v.ByDay, statementDay{PeriodKey: groups[start][0].periodKey, PeriodStart: start, statementCounts: countsOf(c)})
	}
	if v.ByModel, v.UsageRows, v.ByModelComplete, err = statementByModel(ctx, q, id, from, to); err != nil {
		return nil, err
	}
	return v, nil
}

// statementByModel sums the user's first maxStatementRows usage rows in
// [from, to) (one index range, oldest first) per model.
func statementByModel(ctx context.Context, q querier, userID string, from, to int64) ([]statementModel, int, bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT model, promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, costNanoUsd
		FROM usageTracking WHERE userId = ? AND timestamp >= ? AND timestamp < ? ORDER BY timestamp LIMIT ?`,
		userID, from, to, maxStatementRows+1)
	if err != nil {
		return nil, 0, false, fmt.Errorf("sqlitestore: statement rows: %w", err)
	}
	defer rows.Close()
	byModel := map[string]*statementModel{}
	n, complete := 0, true
	for rows.Next() {
		if n == maxStatementRows {
			complete = false
			break
		}
		var (
			model string
			t     statementTokens
			cost  int64
		)
		if err := rows.Scan(&model, &t.PromptTokens, &t.CompletionTokens, &t.TotalTokens, &t.CachedTokens, &t.ReasoningTokens, &cost); err != nil {
			return nil, 0, false, err
		}
		n++
		m := byModel[model]
		if m == nil {
			m = &statementModel{Model: model}
			byModel[model] = m
		}
		m.Generations++
		m.PromptTokens += t.PromptTokens
		m.CompletionTokens += t.CompletionTokens
		m.TotalTokens += t.TotalTokens
		m.CachedTokens += t.CachedTokens
		m.ReasoningTokens += t.ReasoningTokens
		m.CostNanoUsd += cost
	}
	if err := rows.Err(); err != nil {
		return nil, 0, false, err
	}
	out := make([]statementModel, 0, len(byModel))
	for _, m := range byModel {
		m.CostUsd = nanosToUsd(m.CostNanoUsd)
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b statementModel) int {
		return cmp.Or(cmp.Compare(b.CostNanoUsd, a.CostNanoUsd), cmp.Compare(a.Model, b.Model))
	})
	return out, n, complete, nil
}
