package convexstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"llmmeter/internal/fold"
	"llmmeter/internal/money"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
)

// The Convex engine implements jobs.Store through the signed /jobs/*
// routes. Lease expiry is kept on the deployment's clock (Convex
// functions read Date.now()); the jobs' own times (quota boundaries, run
// times, alert opening, escalation, resolution and notification times)
// are sent. jobstore_test.go asserts it (the engine does not import
// jobs).

// MaxUpsertRows is /jobs/aggregates/upsert's bound (packages/convex/src/lib/wire.ts).
const MaxUpsertRows = 500

// MaxForecastRows is /jobs/forecasts/store's bound; one run is one request
// (the route replaces the run with the same createdAt).
const MaxForecastRows = 200

func ttlMs(d time.Duration) int64 { return min(max(d.Milliseconds(), 1000), 3_600_000) }

// AcquireLease calls /jobs/lease/acquire.
func (s *Store) AcquireLease(ctx context.Context, l store.JobLease) (bool, error) {
	var out struct {
		Acquired bool `json:"acquired"`
	}
	err := s.call(ctx, "/jobs/lease/acquire", map[string]any{"job": l.Job, "holder": l.Holder, "ttlMs": ttlMs(l.TTL)}, &out)
	return out.Acquired, err
}

// RenewLease calls /jobs/lease/renew.
func (s *Store) RenewLease(ctx context.Context, l store.JobLease) (bool, error) {
	var out struct {
		Renewed bool `json:"renewed"`
	}
	err := s.call(ctx, "/jobs/lease/renew", map[string]any{"job": l.Job, "holder": l.Holder, "ttlMs": ttlMs(l.TTL)}, &out)
	return out.Renewed, err
}

// ReleaseLease calls /jobs/lease/release.
func (s *Store) ReleaseLease(ctx context.Context, l store.JobLease) error {
	return s.call(ctx, "/jobs/lease/release", map[string]any{"job": l.Job, "holder": l.Holder}, nil)
}

// RecordRun calls /jobs/runs/record.
func (s *Store) RecordRun(ctx context.Context, r store.Run) error {
	body := map[string]any{"job": r.Job, "startedAt": r.StartedAt, "endedAt": r.EndedAt, "outcome": r.Outcome, "counts": r.Counts}
	if body["counts"] == nil || len(r.Counts) == 0 {
		body["counts"] = map[string]any{}
	}
	if r.Error != "" {
		body["error"] = r.Error
	}
	if r.WindowFrom != 0 {
		body["windowFrom"] = r.WindowFrom
	}
	if r.WindowTo != 0 {
		body["windowTo"] = r.WindowTo
	}
	return s.call(ctx, "/jobs/runs/record", body, nil)
}

// Runs calls /jobs/runs/list.
func (s *Store) Runs(ctx context.Context, job string, outcome store.Outcome, limit int) ([]store.Run, error) {
	body := map[string]any{"limit": min(max(limit, 1), 200)}
	if job != "" {
		body["job"] = job
	}
	if outcome != "" {
		body["outcome"] = outcome
	}
	var out struct {
		Runs []store.Run `json:"runs"`
	}
	if err := s.call(ctx, "/jobs/runs/list", body, &out); err != nil {
		return nil, err
	}
	return out.Runs, nil
}

// RawPage calls /jobs/rows.
func (s *Store) RawPage(ctx context.Context, kind store.RawKind, from, to int64, cursor string, limit int) (store.RawPage, error) {
	body := map[string]any{"table": kind, "from": from, "to": to, "limit": min(limit, 1000)}
	if cursor != "" {
		body["cursor"] = cursor
	}
	var out struct {
		Page           json.RawMessage `json:"page"`
		IsDone         bool            `json:"isDone"`
		ContinueCursor string          `json:"continueCursor"`
	}
	var pg store.RawPage
	if err := s.call(ctx, "/jobs/rows", body, &out); err != nil {
		return pg, err
	}
	// Rows the fold has not counted carry unfolded: true.
	var marks []struct {
		GenerationID string `json:"generationId"`
		RequestID    string `json:"requestId"`
		ActivityKey  string `json:"activityKey"`
		Unfolded     bool   `json:"unfolded"`
	}
	if err := json.Unmarshal(out.Page, &marks); err != nil {
		return pg, fmt.Errorf("convexstore: decode %s page: %w", kind, err)
	}
	for _, m := range marks {
		if !m.Unfolded {
			continue
		}
		if pg.Pending == nil {
			pg.Pending = map[string]bool{}
		}
		switch kind {
		case store.RawUsage:
			pg.Pending[m.GenerationID] = true
		case store.RawRequestLogs:
			pg.Pending[m.RequestID] = true
		default:
			pg.Pending[m.ActivityKey] = true
		}
	}
	var err error
	switch kind {
	case store.RawUsage:
		err = json.Unmarshal(out.Page, &pg.Usage) // store.Usage reads costNanoUsd as integer nanos
	case store.RawRequestLogs:
		err = json.Unmarshal(out.Page, &pg.RequestLogs)
	case store.RawActivity:
		err = json.Unmarshal(out.Page, &pg.Activity)
	}
	if err != nil {
		return pg, fmt.Errorf("convexstore: decode %s page: %w", kind, err)
	}
	if !out.IsDone {
		pg.Next = out.ContinueCursor
	}
	return pg, nil
}

// ReplaceAggregates calls /jobs/aggregates/upsert in chunks of
// MaxUpsertRows, each refused (409, fold.ErrConflict) if a fold applied
// since foldVersion.
func (s *Store) ReplaceAggregates(ctx context.Context, rows []*rollup.Row, foldVersion int64) error {
	for i := 0; i < len(rows); i += MaxUpsertRows {
		part := rows[i:min(i+MaxUpsertRows, len(rows))]
		err := s.call(ctx, "/jobs/aggregates/upsert", map[string]any{"rows": part, "foldVersion": foldVersion}, nil)
		if err != nil {
			return conflictIs409(err)
		}
	}
	return nil
}

// MaxReplaceSummaries is /jobs/summaries/replace's bound per call (a
// summary is up to ~120 KB at 200 models).
const MaxReplaceSummaries = 8

// ReplaceSummaries calls /jobs/summaries/replace in chunks, each refused
// (409, fold.ErrConflict) if a fold applied since foldVersion.
func (s *Store) ReplaceSummaries(ctx context.Context, sums []*rollup.Summary, foldVersion int64) error {
	for i := 0; i < len(sums); i += MaxReplaceSummaries {
		part := sums[i:min(i+MaxReplaceSummaries, len(sums))]
		if err := s.call(ctx, "/jobs/summaries/replace", map[string]any{"summaries": part, "foldVersion": foldVersion}, nil); err != nil {
			return conflictIs409(err)
		}
	}
	return nil
}

// Aggregates pages through /jobs/aggregates/list.
func (s *Store) Aggregates(ctx context.Context, scope string, period periods.Period, from, to int64) ([]rollup.Row, error) {
	var all []rollup.Row
	cursor := ""
	for {
		body := map[string]any{"scope": scope, "period": period, "from": from, "to": to, "limit": 1000}
		if cursor != "" {
			body["cursor"] = cursor
		}
		var out struct {
			Page           []rollup.Row `json:"page"`
			IsDone         bool         `json:"isDone"`
			ContinueCursor string       `json:"continueCursor"`
		}
		if err := s.call(ctx, "/jobs/aggregates/list", body, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Page...)
		if out.IsDone {
			return all, nil
		}
		cursor = out.ContinueCursor
	}
}

type quotaView struct {
	ID           string  `json:"id"`
	UserID       *string `json:"userId"`
	QuotaType    string  `json:"quotaType"`
	Limit        float64 `json:"limit"`
	Used         float64 `json:"used"`
	LimitNanoUsd *int64  `json:"limitNanoUsd"`
	ResetDate    int64   `json:"resetDate"`
	IsActive     bool    `json:"isActive"`
}

// DueQuotas calls /jobs/quotas/due for one page (Convex's paginate cursor).
func (s *Store) DueQuotas(ctx context.Context, before int64, cursor string, limit int) (store.QuotaPage, error) {
	var out struct {
		Quotas []quotaView `json:"quotas"`
		Cursor *string     `json:"cursor"`
	}
	body := map[string]any{"before": before, "limit": min(max(limit, 1), 1000)}
	if cursor != "" {
		body["cursor"] = cursor
	}
	if err := s.call(ctx, "/jobs/quotas/due", body, &out); err != nil {
		return store.QuotaPage{}, err
	}
	qs := make([]store.Quota, len(out.Quotas))
	for i, v := range out.Quotas {
		q := store.Quota{ID: v.ID, QuotaType: v.QuotaType, Limit: v.Limit, Used: v.Used, ResetDate: v.ResetDate, IsActive: v.IsActive}
		if v.UserID != nil {
			q.UserID = *v.UserID
		}
		if v.LimitNanoUsd != nil {
			q.LimitNano = *v.LimitNanoUsd
		}
		qs[i] = q
	}
	page := store.QuotaPage{Quotas: qs}
	if out.Cursor != nil {
		page.Next = *out.Cursor
	}
	return page, nil
}

// ResetQuota calls /jobs/quotas/reset (compare-and-set on resetDate).
func (s *Store) ResetQuota(ctx context.Context, id string, expected, next int64, _ time.Time) (bool, error) {
	var out struct {
		Reset bool `json:"reset"`
	}
	err := s.call(ctx, "/jobs/quotas/reset", map[string]any{"quotaId": id, "expectedResetDate": expected, "nextResetDate": next}, &out)
	return out.Reset, err
}

func alertBody(a store.Alert) map[string]any {
	body := map[string]any{"alertType": a.AlertType, "severity": a.Severity, "message": a.Message, "at": a.CreatedAt}
	if len(a.Metadata) > 0 {
		body["metadata"] = a.Metadata
	}
	return body
}

// OpenAlert calls /jobs/alerts/open.
func (s *Store) OpenAlert(ctx context.Context, a store.Alert) (store.Alert, bool, error) {
	body := alertBody(a)
	body["conditionKey"] = a.ConditionKey
	if a.UserID != "" {
		body["userId"] = a.UserID
	}
	var out struct {
		Alert   store.Alert `json:"alert"`
		Created bool        `json:"created"`
	}
	err := s.call(ctx, "/jobs/alerts/open", body, &out)
	return out.Alert, out.Created, err
}

// EscalateAlert calls /jobs/alerts/escalate.
func (s *Store) EscalateAlert(ctx context.Context, id string, a store.Alert) (bool, error) {
	body := alertBody(a)
	body["alertId"] = id
	var out struct {
		Escalated bool `json:"escalated"`
	}
	err := s.call(ctx, "/jobs/alerts/escalate", body, &out)
	return out.Escalated, err
}

// ResolveAlert calls /jobs/alerts/resolve.
func (s *Store) ResolveAlert(ctx context.Context, conditionKey string, now time.Time) (int, error) {
	var out struct {
		Resolved int `json:"resolved"`
	}
	err := s.call(ctx, "/jobs/alerts/resolve", map[string]any{"conditionKey": conditionKey, "at": now.UnixMilli()}, &out)
	return out.Resolved, err
}

// OpenAlerts calls /jobs/alerts/list.
func (s *Store) OpenAlerts(ctx context.Context, limit int) ([]store.Alert, error) {
	var out struct {
		Alerts []store.Alert `json:"alerts"`
	}
	if err := s.call(ctx, "/jobs/alerts/list", map[string]any{"limit": min(max(limit, 1), 1000)}, &out); err != nil {
		return nil, err
	}
	return out.Alerts, nil
}

// AlertNotified calls /jobs/alerts/notified.
func (s *Store) AlertNotified(ctx context.Context, id string, at time.Time) error {
	return s.call(ctx, "/jobs/alerts/notified", map[string]any{"alertId": id, "at": at.UnixMilli()}, nil)
}

// StoreHealth calls /jobs/health/store.
func (s *Store) StoreHealth(ctx context.Context, h store.Health) error {
	if h.Details == nil {
		h.Details = map[string]any{}
	}
	return s.call(ctx, "/jobs/health/store", h, nil)
}

// StoreReport calls /jobs/reports/store.
func (s *Store) StoreReport(ctx context.Context, r store.Report) ([]store.ReportDelivery, error) {
	var out struct {
		Deliveries []store.ReportDelivery `json:"deliveries"`
	}
	err := s.call(ctx, "/jobs/reports/store", map[string]any{"kind": r.Kind, "periodKey": r.PeriodKey, "body": r.Body, "csv": r.CSV}, &out)
	return out.Deliveries, err
}

// StoreForecasts calls /jobs/forecasts/store; a run has at most
// MaxForecastRows rows.
func (s *Store) StoreForecasts(ctx context.Context, createdAt time.Time, rows []store.Forecast) error {
	if len(rows) > MaxForecastRows {
		return fmt.Errorf("%w: %d forecast rows (max %d per run)", store.ErrInvalid, len(rows), MaxForecastRows)
	}
	if rows == nil {
		rows = []store.Forecast{}
	}
	return s.call(ctx, "/jobs/forecasts/store", map[string]any{"createdAt": createdAt.UnixMilli(), "rows": rows}, nil)
}

// confirmAttempts bounds ConfirmUsage's re-reads after a lost
// compare-and-set (a fold or another confirmation in between).
const confirmAttempts = 5

// ConfirmUsage reads the row (/jobs/usage/get), computes the confirmation
// in Go (rollup.Confirm in the store's reporting time zone, the summaries
// of the row's periods from /jobs/fold/state adjusted) and sends it to
// /jobs/usage/confirm, which stores it if the row and the fold version are
// unchanged; a lost compare-and-set is read and computed again.
func (s *Store) ConfirmUsage(ctx context.Context, c store.UsageConfirmation) (bool, error) {
	var err error
	for range confirmAttempts {
		var ok bool
		ok, err = s.confirmOnce(ctx, c)
		if !errors.Is(err, fold.ErrConflict) {
			return ok, err
		}
	}
	return false, err
}

func (s *Store) confirmOnce(ctx context.Context, c store.UsageConfirmation) (bool, error) {
	var got struct {
		Usage  *store.Usage `json:"usage"`
		Folded bool         `json:"folded"`
	}
	if err := s.call(ctx, "/jobs/usage/get", map[string]string{"generationId": c.GenerationID}, &got); err != nil {
		return false, err
	}
	if got.Usage == nil || got.Usage.CostStatus != store.CostEstimated || !got.Folded {
		return false, nil // absent, confirmed already, or not counted by the fold yet
	}
	old := *got.Usage
	confirmed := store.Usage{PromptTokens: c.PromptTokens, CompletionTokens: c.CompletionTokens, TotalTokens: c.TotalTokens,
		CachedTokens: c.CachedTokens, ReasoningTokens: c.ReasoningTokens, Cost: money.Nanos(c.CostNanoUsd)}
	cf := rollup.Confirm(s.calendar(), old, confirmed)
	keys := rollup.KeysOf(cf.Aggregates)
	keys.Users = []rollup.UserPeriod{} // Adjust needs the summaries only
	st, err := s.SummaryState(ctx, keys)
	if err != nil {
		return false, err
	}
	quotas := cf.Quotas
	if quotas == nil {
		quotas = []rollup.QuotaWindow{}
	}
	// previous: the row's values the difference was computed from (the
	// route's compare-and-set), in the shape of a confirmation.
	previous := store.UsageConfirmation{GenerationID: old.GenerationID, PromptTokens: old.PromptTokens, CompletionTokens: old.CompletionTokens,
		TotalTokens: old.TotalTokens, CachedTokens: old.CachedTokens, ReasoningTokens: old.ReasoningTokens, CostNanoUsd: int64(old.Cost)}
	body := struct {
		store.UsageConfirmation
		Previous   store.UsageConfirmation `json:"previous"`
		Aggregates []*rollup.Row           `json:"aggregates"`
		Summaries  []*rollup.Summary       `json:"summaries"`
		Version    int64                   `json:"version"`
		Quotas     []rollup.QuotaWindow    `json:"quotas"`
	}{c, previous, cf.Aggregates, cf.AdjustAll(st.Summaries), st.Version, quotas}
	if body.Summaries == nil {
		body.Summaries = []*rollup.Summary{}
	}
	var out struct {
		Confirmed bool `json:"confirmed"`
	}
	err = conflictIs409(s.call(ctx, "/jobs/usage/confirm", body, &out))
	return out.Confirmed, err
}
