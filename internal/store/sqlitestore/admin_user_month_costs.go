package sqlitestore

import (
	"context"
	"fmt"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
)

// llmmeter:userMonthCosts of packages/convex/src/adminUserMonthCosts.ts: each
// asked user's totals in one month of the reporting zone, read from the
// fold's monthly user rows (one index range per user, never a scan of all
// users). An id naming no user answers zeros, as on Convex.

const maxMonthCostUsers = 100

var userMonthCostsArgs = []field{req("month", vString), req("userIds", vArray(vString))}

type userMonthCost struct {
	UserID      string  `json:"userId"`
	Requests    int64   `json:"requests"`
	TotalTokens int64   `json:"totalTokens"`
	CostNanoUsd int64   `json:"costNanoUsd"`
	CostUsd     float64 `json:"costUsd"`
}

type userMonthCostsView struct {
	Month string          `json:"month"`
	From  int64           `json:"from"`
	To    int64           `json:"to"`
	Users []userMonthCost `json:"users"`
}

func userMonthCosts(ctx context.Context, s *Store, q querier, a args) (any, error) {
	month, _ := a.str("month")
	from, to, err := monthWindow(s.cal, month)
	if err != nil {
		return nil, err
	}
	raw, _ := a["userIds"].([]any)
	if len(raw) > maxMonthCostUsers {
		return nil, badRequest("userIds: at most %d", maxMonthCostUsers)
	}
	ids := make([]string, len(raw))
	for i, r := range raw {
		if ids[i], err = idOf("users", r.(string), fmt.Sprintf("userIds[%d]", i)); err != nil {
			return nil, err
		}
	}
	v := userMonthCostsView{Month: month, From: from, To: to, Users: make([]userMonthCost, 0, len(ids))}
	budget := &readBudget{}
	for _, id := range ids {
		rows, err := readAggregates(ctx, q, budget, aggSelection{scope: rollup.ScopeUser, period: periods.Monthly,
			from: float64(from), to: float64(to), userID: id, countersOnly: true})
		if err != nil {
			return nil, err
		}
		c, _ := mergeRows(rows)
		v.Users = append(v.Users, userMonthCost{UserID: id, Requests: c.TotalRequests, TotalTokens: c.TotalTokens,
			CostNanoUsd: c.TotalCostNanoUsd, CostUsd: nanosToUsd(c.TotalCostNanoUsd)})
	}
	return v, nil
}
