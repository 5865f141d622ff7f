package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
)

const (
	maxPageSize    = 200
	recentActivity = 50
)

var windowArgs = []field{req("from", vNumber), req("to", vNumber)}

func withWindow(f ...field) []field { return append(slices.Clone(windowArgs), f...) }

// adminFns are the public functions of packages/convex/src/admin.ts.
var adminFns = map[string]adminFn{
	"llmmeter:overview":         {"query", windowArgs, overview},
	"llmmeter:usageSeries":      {"query", withWindow(req("period", vPeriod), opt("userId", vString), opt("modelSlug", vString)), usageSeries},
	"llmmeter:topUsers":         {"query", withWindow(req("by", vLiteral("cost", "tokens", "requests")), req("limit", vNumber)), topUsers},
	"llmmeter:userDetail":       {"query", withWindow(req("userId", vString)), userDetail},
	"llmmeter:userModels":       {"query", withWindow(req("userId", vString)), userModels},
	"llmmeter:modelStats":       {"query", windowArgs, modelStats},
	"llmmeter:requestLogs":      {"query", requestLogsArgs, requestLogs},
	"llmmeter:alerts":           {"query", []field{opt("status", vLiteral("open", "resolved")), opt("severity", vSeverity), opt("limit", vNumber)}, alerts},
	"llmmeter:quotas":           {"query", []field{opt("userId", vString), opt("system", vBool)}, quotas},
	"llmmeter:reports":          {"query", []field{opt("limit", vNumber)}, reports},
	"llmmeter:report":           {"query", []field{req("reportId", vString)}, report},
	"llmmeter:forecast":         {"query", nil, forecast},
	"llmmeter:settings":         {"query", nil, settings},
	"llmmeter:jobRuns":          {"query", []field{opt("job", vString), opt("limit", vNumber)}, jobRuns},
	"llmmeter:setQuota":         {"mutation", []field{opt("userId", vString), req("quotaType", vQuotaType), req("limit", vNumber), opt("isActive", vBool)}, setQuota},
	"llmmeter:deleteQuota":      {"mutation", []field{opt("userId", vString), req("quotaType", vQuotaType)}, deleteQuota},
	"llmmeter:markAlertRead":    {"mutation", []field{req("alertId", vString)}, markAlertRead},
	"llmmeter:resolveAlert":     {"mutation", []field{req("alertId", vString)}, resolveAlert},
	"llmmeter:openAlertCount":   {"query", nil, openAlertCount},
	"llmmeter:acknowledgeAlert": {"mutation", []field{req("alertId", vString)}, acknowledgeAlert},
	"llmmeter:silenceAlert":     {"mutation", []field{req("alertId", vString), opt("until", vNumber), opt("forMs", vNumber)}, silenceAlert},
	"llmmeter:errorSummary":     {"query", windowArgs, errorSummary},
	"llmmeter:userStatement":    {"query", userStatementArgs, userStatement},
	"llmmeter:periodOverPeriod": {"query", periodOverPeriodArgs, periodOverPeriod},
	"llmmeter:userMonthCosts":   {"query", userMonthCostsArgs, userMonthCosts},
	"llmmeter:searchUsers":      {"query", []field{req("query", vString), opt("limit", vNumber)}, searchUsers},
}

type health struct {
	CheckedAt           int64 `json:"checkedAt"`
	OpenrouterOk        bool  `json:"openrouterOk"`
	KeyRemainingNanoUsd any   `json:"keyRemainingNanoUsd"`
	StoreOk             bool  `json:"storeOk"`
	OutboxDepth         int64 `json:"outboxDepth"`
	JobLagMs            int64 `json:"jobLagMs"`
	Details             any   `json:"details"`
}

func overview(ctx context.Context, s *Store, q querier, a args) (any, error) {
	from, to, err := checkWindow(a)
	if err != nil {
		return nil, err
	}
	pieces := s.pieces(from, to)
	system, err := systemRowsOf(ctx, q, pieces)
	if err != nil {
		return nil, err
	}
	sums, err := summariesOf(ctx, q, pieces)
	if err != nil {
		return nil, err
	}
	active, exact := activeUsersOf(sums)
	var h *health
	var (
		hh      health
		key     sql.NullInt64
		details sql.NullString
	)
	err = q.QueryRowContext(ctx, `SELECT checkedAt, openrouterOk, keyRemainingNanoUsd, storeOk, outboxDepth, jobLagMs, details
		FROM systemHealth ORDER BY checkedAt DESC, rowid DESC LIMIT 1`).Scan(&hh.CheckedAt, &hh.OpenrouterOk, &key, &hh.StoreOk,
		&hh.OutboxDepth, &hh.JobLagMs, &details)
	switch {
	case err == nil:
		hh.KeyRemainingNanoUsd, hh.Details = intOrNull(key), jsonOrNull(details)
		h = &hh
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}
	return struct {
		totals
		ActiveUsers      int64   `json:"activeUsers"`
		ActiveUsersExact bool    `json:"activeUsersExact"`
		Health           *health `json:"health"`
	}{totalsOf(system), active, exact, h}, nil
}

type seriesPoint struct {
	PeriodKey        string  `json:"periodKey"`
	PeriodStart      int64   `json:"periodStart"`
	Requests         int64   `json:"requests"`
	Successful       int64   `json:"successful"`
	Failed           int64   `json:"failed"`
	PromptTokens     int64   `json:"promptTokens"`
	CompletionTokens int64   `json:"completionTokens"`
	TotalTokens      int64   `json:"totalTokens"`
	CostNanoUsd      int64   `json:"costNanoUsd"`
	CostUsd          float64 `json:"costUsd"`
	AvgProcessingMs  int64   `json:"avgProcessingMs"`
}

func usageSeries(ctx context.Context, s *Store, q querier, a args) (any, error) {
	from, to, err := checkWindow(a)
	if err != nil {
		return nil, err
	}
	ps, _ := a.str("period")
	p := periods.Period(ps)
	if to-from > maxSeriesPts*float64(p.Nominal().Milliseconds()) {
		return nil, badRequest("to: window too wide for %s points (max %d points)", p, maxSeriesPts)
	}
	userRaw, hasUser := a.str("userId")
	model, hasModel := a.str("modelSlug")
	if hasUser && hasModel {
		return nil, badRequest("modelSlug: cannot be combined with userId")
	}
	sel := aggSelection{scope: rollup.ScopeSystem, period: p, from: from, to: to}
	switch {
	case hasUser:
		id, err := idOf("users", userRaw, "userId")
		if err != nil {
			return nil, err
		}
		sel.scope, sel.userID = rollup.ScopeUser, id
	case hasModel:
		sel.scope, sel.model = rollup.ScopeModel, model
		if model == "" {
			// Rows without a model have model '' here; Convex has none with "".
			return []seriesPoint{}, nil
		}
	}
	rows, err := readAggregates(ctx, q, &readBudget{}, sel)
	if err != nil {
		return nil, err
	}
	starts, groups := groupBy(rows, func(r *aggRow) int64 { return r.periodStart })
	slices.Sort(starts)
	out := make([]seriesPoint, 0, len(starts))
	for _, st := range starts {
		g := groups[st]
		c, _ := mergeRows(g)
		out = append(out, seriesPoint{
			PeriodKey: g[0].periodKey, PeriodStart: st, Requests: c.TotalRequests, Successful: c.SuccessfulRequests,
			Failed: c.FailedRequests, PromptTokens: c.PromptTokens, CompletionTokens: c.CompletionTokens, TotalTokens: c.TotalTokens,
			CostNanoUsd: c.TotalCostNanoUsd, CostUsd: nanosToUsd(c.TotalCostNanoUsd), AvgProcessingMs: avgMs(c),
		})
	}
	return out, nil
}

type topUser struct {
	UserID      string  `json:"userId"`
	Name        any     `json:"name"`
	Email       any     `json:"email"`
	Requests    int64   `json:"requests"`
	TotalTokens int64   `json:"totalTokens"`
	CostNanoUsd int64   `json:"costNanoUsd"`
	CostUsd     float64 `json:"costUsd"`
}

func topUsers(ctx context.Context, s *Store, q querier, a args) (any, error) {
	from, to, err := checkWindow(a)
	if err != nil {
		return nil, err
	}
	limit, err := limitOf(a, 10, 100)
	if err != nil {
		return nil, err
	}
	by, _ := a.str("by")
	top, err := topUsersOf(ctx, q, s.pieces(from, to), by, limit)
	if err != nil {
		return nil, err
	}
	out := make([]topUser, 0, len(top))
	for _, t := range top {
		out = append(out, topUser{UserID: t.UserID, Requests: t.Requests, TotalTokens: t.TotalTokens, CostNanoUsd: t.CostNanoUsd})
	}
	for i := range out {
		var name, email sql.NullString
		err := q.QueryRowContext(ctx, `SELECT name, email FROM users WHERE id = ?`, out[i].UserID).Scan(&name, &email)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		out[i].Name, out[i].Email = strOrNull(name), strOrNull(email)
		out[i].CostUsd = nanosToUsd(out[i].CostNanoUsd)
	}
	return out, nil
}

type userView struct {
	ID          string `json:"id"`
	ClerkUserID any    `json:"clerkUserId"`
	ExternalID  any    `json:"externalId"`
	Email       any    `json:"email"`
	Name        any    `json:"name"`
	Role        any    `json:"role"`
	CreatedAt   int64  `json:"createdAt"`
}

// userViewCols are the columns scanUserView reads, in its order.
const userViewCols = `id, clerkUserId, externalId, email, name, role, createdAt`

// scanUserView scans userViewCols, then the extra destinations.
func scanUserView(row interface{ Scan(...any) error }, extra ...any) (userView, error) {
	var (
		u                             userView
		clerk, ext, email, name, role sql.NullString
	)
	if err := row.Scan(append([]any{&u.ID, &clerk, &ext, &email, &name, &role, &u.CreatedAt}, extra...)...); err != nil {
		return u, err
	}
	u.ClerkUserID, u.ExternalID, u.Email, u.Name, u.Role = strOrNull(clerk), strOrNull(ext), strOrNull(email), strOrNull(name), strOrNull(role)
	return u, nil
}

// getUser reads a user; ok is false when there is none.
func getUser(ctx context.Context, q querier, id string) (userView, bool, error) {
	u, err := scanUserView(q.QueryRowContext(ctx, `SELECT `+userViewCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, false, nil
	}
	return u, err == nil, err
}

type activityView struct {
	ID           string `json:"id"`
	ActivityKey  string `json:"activityKey"`
	ActivityType string `json:"activityType"`
	Metadata     any    `json:"metadata"`
	Timestamp    int64  `json:"timestamp"`
}

// argUser is the user named by the argument userId: bad_request for a
// malformed id, not_found for one no user has.
func argUser(ctx context.Context, q querier, a args) (string, userView, error) {
	raw, _ := a.str("userId")
	id, err := idOf("users", raw, "userId")
	if err != nil {
		return "", userView{}, err
	}
	u, ok, err := getUser(ctx, q, id)
	if err != nil {
		return "", userView{}, err
	}
	if !ok {
		return "", userView{}, notFound("userId: no such user")
	}
	return id, u, nil
}

func userDetail(ctx context.Context, s *Store, q querier, a args) (any, error) {
	from, to, err := checkWindow(a)
	if err != nil {
		return nil, err
	}
	id, u, err := argUser(ctx, q, a)
	if err != nil {
		return nil, err
	}
	rows, err := readAggregates(ctx, q, &readBudget{}, aggSelection{scope: rollup.ScopeUser, period: granularityFor(from, to), from: from, to: to, userID: id})
	if err != nil {
		return nil, err
	}
	qs, err := listQuotas(ctx, q, `WHERE userId = ? ORDER BY rowid LIMIT 16`, id)
	if err != nil {
		return nil, err
	}
	rs, err := q.QueryContext(ctx, `SELECT activityKey, activityType, metadata, timestamp FROM userActivity
		WHERE userId = ? ORDER BY timestamp DESC, rowid DESC LIMIT ?`, id, recentActivity)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	acts := []activityView{}
	for rs.Next() {
		var (
			v    activityView
			meta sql.NullString
		)
		if err := rs.Scan(&v.ActivityKey, &v.ActivityType, &meta, &v.Timestamp); err != nil {
			return nil, err
		}
		v.ID, v.Metadata = v.ActivityKey, jsonOrNull(meta)
		acts = append(acts, v)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return struct {
		User           userView       `json:"user"`
		Totals         totals         `json:"totals"`
		Quotas         []quotaView    `json:"quotas"`
		RecentActivity []activityView `json:"recentActivity"`
	}{u, totalsOf(rows), qs, acts}, nil
}

type modelStat struct {
	Model           string  `json:"model"`
	Requests        int64   `json:"requests"`
	Successful      int64   `json:"successful"`
	Failed          int64   `json:"failed"`
	TotalTokens     int64   `json:"totalTokens"`
	CostNanoUsd     int64   `json:"costNanoUsd"`
	CostUsd         float64 `json:"costUsd"`
	AvgProcessingMs int64   `json:"avgProcessingMs"`
	P95ProcessingMs *int64  `json:"p95ProcessingMs"`
	ErrorRate       float64 `json:"errorRate"`
	fineStats
}

// fineStats are modelStats' percentiles from the fine buckets
// (rollup.FinePercentile).
type fineStats struct {
	P50LatencyMs *int64 `json:"p50LatencyMs"`
	P95LatencyMs *int64 `json:"p95LatencyMs"`
	P99LatencyMs *int64 `json:"p99LatencyMs"`
	P50TtftMs    *int64 `json:"p50TtftMs"`
	P95TtftMs    *int64 `json:"p95TtftMs"`
	P99TtftMs    *int64 `json:"p99TtftMs"`
}

func fineStatsOf(c rollup.Counters) fineStats {
	return fineStats{
		P50LatencyMs: rollup.FinePercentile(c.LatencyFine, 50), P95LatencyMs: rollup.FinePercentile(c.LatencyFine, 95),
		P99LatencyMs: rollup.FinePercentile(c.LatencyFine, 99), P50TtftMs: rollup.FinePercentile(c.TTFTBuckets, 50),
		P95TtftMs: rollup.FinePercentile(c.TTFTBuckets, 95), P99TtftMs: rollup.FinePercentile(c.TTFTBuckets, 99),
	}
}

func modelStats(ctx context.Context, s *Store, q querier, a args) (any, error) {
	from, to, err := checkWindow(a)
	if err != nil {
		return nil, err
	}
	byModel, err := modelTotalsOf(ctx, q, s.pieces(from, to))
	if err != nil {
		return nil, err
	}
	out := make([]modelStat, 0, len(byModel))
	for m, c := range byModel {
		rate := 0.0
		if c.TotalRequests > 0 {
			rate = jsRound(float64(c.FailedRequests)/float64(c.TotalRequests)*10_000) / 10_000
		}
		out = append(out, modelStat{
			Model: m, Requests: c.TotalRequests, Successful: c.SuccessfulRequests, Failed: c.FailedRequests,
			TotalTokens: c.TotalTokens, CostNanoUsd: c.TotalCostNanoUsd, CostUsd: nanosToUsd(c.TotalCostNanoUsd),
			AvgProcessingMs: avgMs(c), P95ProcessingMs: p95FromBuckets(c.LatencyBuckets), ErrorRate: rate,
			fineStats: fineStatsOf(c),
		})
	}
	slices.SortStableFunc(out, func(x, y modelStat) int {
		return cmp.Or(cmp.Compare(y.CostNanoUsd, x.CostNanoUsd), strings.Compare(x.Model, y.Model))
	})
	return out, nil
}

// quotaView is the quota as admin:quotas answers it (convex/lib/quotas.ts).
type quotaView struct {
	ID           string  `json:"id"`
	UserID       any     `json:"userId"`
	QuotaType    string  `json:"quotaType"`
	Limit        float64 `json:"limit"`
	Used         float64 `json:"used"`
	LimitNanoUsd any     `json:"limitNanoUsd"`
	UsedNanoUsd  any     `json:"usedNanoUsd"`
	ResetDate    int64   `json:"resetDate"`
	IsActive     bool    `json:"isActive"`
	UpdatedAt    int64   `json:"updatedAt"`
}

func listQuotas(ctx context.Context, q querier, tail string, vals ...any) ([]quotaView, error) {
	rs, err := q.QueryContext(ctx, `SELECT id, userId, quotaType, "limit", used, limitNanoUsd, usedNanoUsd, resetDate, isActive, updatedAt
		FROM userQuotas `+tail, vals...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []quotaView{}
	for rs.Next() {
		var (
			v          quotaView
			user       string
			lim, usedN sql.NullInt64
		)
		if err := rs.Scan(&v.ID, &user, &v.QuotaType, &v.Limit, &v.Used, &lim, &usedN, &v.ResetDate, &v.IsActive, &v.UpdatedAt); err != nil {
			return nil, err
		}
		v.LimitNanoUsd, v.UsedNanoUsd = intOrNull(lim), intOrNull(usedN)
		if user != "" {
			v.UserID = user
		}
		out = append(out, v)
	}
	return out, rs.Err()
}

// quotas lists a user's quotas, all quotas (the system budget first), or
// with system: true the system budget alone.
func quotas(ctx context.Context, s *Store, q querier, a args) (any, error) {
	if system, _ := a.boolean("system"); system {
		if _, ok := a.str("userId"); ok {
			return nil, badRequest("userId: not allowed with system")
		}
		return listQuotas(ctx, q, `WHERE userId = '' AND quotaType = 'system_monthly_cost_usd' LIMIT 1`)
	}
	if raw, ok := a.str("userId"); ok {
		id, err := idOf("users", raw, "userId")
		if err != nil {
			return nil, err
		}
		return listQuotas(ctx, q, `WHERE userId = ? ORDER BY rowid LIMIT 16`, id)
	}
	// Convex's by_user_id order: the system budget (no user) first.
	return listQuotas(ctx, q, `ORDER BY userId, rowid LIMIT 1000`)
}

type reportItem struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	PeriodKey string `json:"periodKey"`
	CreatedAt int64  `json:"createdAt"`
	Body      any    `json:"body"`
	CSVBytes  int    `json:"csvBytes"`
	// Deliveries: the JSON array RecordReportDelivery stores.
	Deliveries json.RawMessage `json:"deliveries"`
}

func reports(ctx context.Context, s *Store, q querier, a args) (any, error) {
	limit, err := limitOf(a, 20, 100)
	if err != nil {
		return nil, err
	}
	rs, err := q.QueryContext(ctx, `SELECT id, kind, periodKey, createdAt, body, length(CAST(csv AS BLOB)), deliveries FROM reports
		ORDER BY createdAt DESC, rowid DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []reportItem{}
	for rs.Next() {
		var (
			r    reportItem
			body sql.NullString
		)
		var deliveries string
		if err := rs.Scan(&r.ID, &r.Kind, &r.PeriodKey, &r.CreatedAt, &body, &r.CSVBytes, &deliveries); err != nil {
			return nil, err
		}
		r.Body, r.Deliveries = jsonOrNull(body), json.RawMessage(deliveries)
		out = append(out, r)
	}
	return out, rs.Err()
}

func report(ctx context.Context, s *Store, q querier, a args) (any, error) {
	raw, _ := a.str("reportId")
	id, err := idOf("reports", raw, "reportId")
	if err != nil {
		return nil, err
	}
	var (
		r struct {
			ID         string          `json:"id"`
			Kind       string          `json:"kind"`
			PeriodKey  string          `json:"periodKey"`
			CreatedAt  int64           `json:"createdAt"`
			Body       any             `json:"body"`
			CSV        string          `json:"csv"`
			Deliveries json.RawMessage `json:"deliveries"`
		}
		body       sql.NullString
		deliveries string
	)
	err = q.QueryRowContext(ctx, `SELECT id, kind, periodKey, createdAt, body, csv, deliveries FROM reports WHERE id = ?`, id).
		Scan(&r.ID, &r.Kind, &r.PeriodKey, &r.CreatedAt, &body, &r.CSV, &deliveries)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("reportId: no such report")
	}
	if err != nil {
		return nil, err
	}
	r.Body, r.Deliveries = jsonOrNull(body), json.RawMessage(deliveries)
	return r, nil
}

type forecastRow struct {
	Scope           string  `json:"scope"`
	UserID          any     `json:"userId"`
	UserName        any     `json:"userName"` // name, else email, as alerts name theirs
	Month           string  `json:"month"`
	Method          string  `json:"method"`
	CostNanoUsd     int64   `json:"costNanoUsd"`
	CostUsd         float64 `json:"costUsd"`
	CostLowNanoUsd  int64   `json:"costLowNanoUsd"`
	CostHighNanoUsd int64   `json:"costHighNanoUsd"`
	Tokens          int64   `json:"tokens"`
	TokensLow       int64   `json:"tokensLow"`
	TokensHigh      int64   `json:"tokensHigh"`
	BacktestMape    any     `json:"backtestMape"`
	HistoryDays     any     `json:"historyDays"` // null for rows stored before it was kept
}

// settings tells the portal the reporting time zone, the zone of every
// periodKey, so it labels and picks periods as the reports do.
func settings(ctx context.Context, s *Store, q querier, a args) (any, error) {
	return map[string]string{"reportingTz": s.cal.Location().String()}, nil
}

func forecast(ctx context.Context, s *Store, q querier, a args) (any, error) {
	type result struct {
		CreatedAt any           `json:"createdAt"`
		Rows      []forecastRow `json:"rows"`
	}
	var latest int64
	err := q.QueryRowContext(ctx, `SELECT createdAt FROM forecasts ORDER BY createdAt DESC, rowid DESC LIMIT 1`).Scan(&latest)
	if errors.Is(err, sql.ErrNoRows) {
		return result{nil, []forecastRow{}}, nil
	}
	if err != nil {
		return nil, err
	}
	rs, err := q.QueryContext(ctx, `SELECT f.scope, f.userId, COALESCE(u.name, u.email), f.month, f.method, f.costNanoUsd, f.costLowNanoUsd,
		f.costHighNanoUsd, f.tokens, f.tokensLow, f.tokensHigh, f.backtestMape, f.historyDays FROM forecasts f LEFT JOIN users u ON u.id = f.userId
		WHERE f.createdAt = ? ORDER BY f.rowid LIMIT 200`, latest)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	res := result{latest, []forecastRow{}}
	for rs.Next() {
		var (
			f          forecastRow
			user, name sql.NullString
			mape       sql.NullFloat64
			days       sql.NullInt64
		)
		if err := rs.Scan(&f.Scope, &user, &name, &f.Month, &f.Method, &f.CostNanoUsd, &f.CostLowNanoUsd, &f.CostHighNanoUsd, &f.Tokens,
			&f.TokensLow, &f.TokensHigh, &mape, &days); err != nil {
			return nil, err
		}
		f.UserID, f.UserName, f.CostUsd = strOrNull(user), strOrNull(name), nanosToUsd(f.CostNanoUsd)
		if mape.Valid {
			f.BacktestMape = mape.Float64
		}
		if days.Valid {
			f.HistoryDays = days.Int64
		}
		res.Rows = append(res.Rows, f)
	}
	return res, rs.Err()
}

type jobRun struct {
	ID         string `json:"id"`
	Job        string `json:"job"`
	StartedAt  int64  `json:"startedAt"`
	EndedAt    int64  `json:"endedAt"`
	Outcome    string `json:"outcome"`
	WindowFrom any    `json:"windowFrom"`
	WindowTo   any    `json:"windowTo"`
	Counts     any    `json:"counts"`
	Error      any    `json:"error"`
}

func jobRuns(ctx context.Context, s *Store, q querier, a args) (any, error) {
	limit, err := limitOf(a, 50, 200)
	if err != nil {
		return nil, err
	}
	where, vals := "", []any{}
	if job, ok := a.str("job"); ok {
		where, vals = "WHERE job = ?", append(vals, job)
	}
	rs, err := q.QueryContext(ctx, `SELECT id, job, startedAt, endedAt, outcome, windowFrom, windowTo, counts, error FROM jobRuns `+where+
		` ORDER BY startedAt DESC, rowid DESC LIMIT ?`, append(vals, limit)...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []jobRun{}
	for rs.Next() {
		var (
			r           jobRun
			from, to    sql.NullInt64
			counts, msg sql.NullString
		)
		if err := rs.Scan(&r.ID, &r.Job, &r.StartedAt, &r.EndedAt, &r.Outcome, &from, &to, &counts, &msg); err != nil {
			return nil, err
		}
		r.WindowFrom, r.WindowTo = intOrNull(from), intOrNull(to)
		r.Counts, r.Error = jsonOrNull(counts), strOrNull(msg)
		out = append(out, r)
	}
	return out, rs.Err()
}
