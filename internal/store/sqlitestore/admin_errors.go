package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"

	"llmmeter/internal/rollup"
)

// llmmeter:errorSummary of packages/convex/src/adminErrors.ts: the error
// rate per period from the fold's system rows, and breakdowns of at most
// maxErrorRows error request logs of the window, newest first. The provider
// of a failed request is its generation's usage row's (NULL when it has
// none).

const (
	maxErrorRows = 2_000
	topMessages  = 10
)

type errorBucket struct {
	Key   *string `json:"key"`
	Count int     `json:"count"`
}

type codeBucket struct {
	Key   int64 `json:"key"`
	Count int   `json:"count"`
}

type errorMessage struct {
	ErrorType *string `json:"errorType"`
	Message   string  `json:"message"`
	Count     int     `json:"count"`
}

type errorPoint struct {
	PeriodKey   string  `json:"periodKey"`
	PeriodStart int64   `json:"periodStart"`
	Requests    int64   `json:"requests"`
	Failed      int64   `json:"failed"`
	ErrorRate   float64 `json:"errorRate"`
}

type errorSummaryView struct {
	Period      string         `json:"period"`
	Requests    int64          `json:"requests"`
	Failed      int64          `json:"failed"`
	ErrorRate   float64        `json:"errorRate"`
	Series      []errorPoint   `json:"series"`
	RowsRead    int            `json:"rowsRead"`
	Complete    bool           `json:"complete"`
	ByType      []errorBucket  `json:"byType"`
	ByCode      []codeBucket   `json:"byCode"`
	ByModel     []errorBucket  `json:"byModel"`
	ByProvider  []errorBucket  `json:"byProvider"`
	TopMessages []errorMessage `json:"topMessages"`
}

// errorRate is failed / requests rounded to 4 decimals, 0 without requests.
func errorRate(failed, requests int64) float64 {
	if requests == 0 {
		return 0
	}
	return jsRound(float64(failed)/float64(requests)*10_000) / 10_000
}

// keyOrder: nil after every string, else byte order.
func keyOrder(a, b *string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return cmp.Compare(*a, *b)
}

func nullable(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

// stringBuckets counts keys, by count descending then key.
func stringBuckets(keys []*string) []errorBucket {
	counts := map[string]int{}
	nulls := 0
	var order []*string
	for _, k := range keys {
		if k == nil {
			if nulls == 0 {
				order = append(order, nil)
			}
			nulls++
			continue
		}
		if counts[*k] == 0 {
			order = append(order, k)
		}
		counts[*k]++
	}
	out := make([]errorBucket, 0, len(order))
	for _, k := range order {
		n := nulls
		if k != nil {
			n = counts[*k]
		}
		out = append(out, errorBucket{Key: k, Count: n})
	}
	slices.SortFunc(out, func(a, b errorBucket) int { return cmp.Or(cmp.Compare(b.Count, a.Count), keyOrder(a.Key, b.Key)) })
	return out
}

func errorSummary(ctx context.Context, s *Store, q querier, a args) (any, error) {
	from, to, err := checkWindow(a)
	if err != nil {
		return nil, err
	}
	p := granularityFor(from, to)
	system, err := readAggregates(ctx, q, &readBudget{}, aggSelection{scope: rollup.ScopeSystem, period: p, from: from, to: to, countersOnly: true})
	if err != nil {
		return nil, err
	}
	all, _ := mergeRows(system)
	v := errorSummaryView{Period: string(p), Requests: all.TotalRequests, Failed: all.FailedRequests,
		ErrorRate: errorRate(all.FailedRequests, all.TotalRequests), Series: []errorPoint{}}
	starts, groups := groupBy(system, func(r *aggRow) int64 { return r.periodStart })
	slices.Sort(starts)
	for _, start := range starts {
		c, _ := mergeRows(groups[start])
		v.Series = append(v.Series, errorPoint{PeriodKey: groups[start][0].periodKey, PeriodStart: start,
			Requests: c.TotalRequests, Failed: c.FailedRequests, ErrorRate: errorRate(c.FailedRequests, c.TotalRequests)})
	}
	if err := errorBreakdowns(ctx, q, int64(from), int64(to), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// errorBreakdowns reads the window's newest error rows (one index range on
// status, timestamp; the provider by the usage table's primary key) and
// fills the buckets of v.
func errorBreakdowns(ctx context.Context, q querier, from, to int64, v *errorSummaryView) error {
	rows, err := q.QueryContext(ctx, `SELECT r.errorType, r.statusCode, r.model, r.errorMessage, u.provider
		FROM (SELECT errorType, statusCode, model, errorMessage, generationId, timestamp FROM requestLogs
			WHERE status = 'error' AND timestamp >= ? AND timestamp < ? ORDER BY timestamp DESC LIMIT ?) r
		LEFT JOIN usageTracking u ON u.generationId = r.generationId
		ORDER BY r.timestamp DESC`, from, to, maxErrorRows+1)
	if err != nil {
		return fmt.Errorf("sqlitestore: error rows: %w", err)
	}
	defer rows.Close()
	var types, models, providers []*string
	codes := map[int64]int{}
	messages := map[[2]string]*errorMessage{}
	v.Complete = true
	for rows.Next() {
		if v.RowsRead == maxErrorRows {
			v.Complete = false
			break
		}
		var (
			typ, model, msg, provider sql.NullString
			code                      int64
		)
		if err := rows.Scan(&typ, &code, &model, &msg, &provider); err != nil {
			return err
		}
		v.RowsRead++
		types, models, providers = append(types, nullable(typ)), append(models, nullable(model)), append(providers, nullable(provider))
		codes[code]++
		if msg.Valid {
			// typ.Valid distinguishes a NULL type from "" in the key.
			k := [2]string{fmt.Sprintf("%t:%s", typ.Valid, typ.String), msg.String}
			if m := messages[k]; m != nil {
				m.Count++
			} else {
				messages[k] = &errorMessage{ErrorType: nullable(typ), Message: msg.String, Count: 1}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	v.ByType, v.ByModel, v.ByProvider = stringBuckets(types), stringBuckets(models), stringBuckets(providers)
	v.ByCode = make([]codeBucket, 0, len(codes))
	for code, n := range codes {
		v.ByCode = append(v.ByCode, codeBucket{Key: code, Count: n})
	}
	slices.SortFunc(v.ByCode, func(a, b codeBucket) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key)) })
	v.TopMessages = make([]errorMessage, 0, len(messages))
	for _, m := range messages {
		v.TopMessages = append(v.TopMessages, *m)
	}
	slices.SortFunc(v.TopMessages, func(a, b errorMessage) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Message, b.Message), keyOrder(a.ErrorType, b.ErrorType))
	})
	if len(v.TopMessages) > topMessages {
		v.TopMessages = v.TopMessages[:topMessages]
	}
	return nil
}
