package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"llmmeter/internal/money"
	"llmmeter/internal/periods"
	"llmmeter/internal/rollup"
	"llmmeter/internal/store"
)

// Reports builds the daily or weekly report of every period that ended in
// the window (w.From, w.To], and always of the period before the one
// containing w.To (yesterday, last ISO week, in the reporting time zone),
// and stores each (one per kind and period key; a rerun replaces it).
type Reports struct {
	Store  Store
	Cal    *periods.Calendar
	Period periods.Period // periods.Daily or periods.Weekly
	Send   *ReportSender  // nil: stored, not delivered (reportdelivery.go)
}

// maxReportsPerRun bounds the reports of one run (a window merged after a
// long outage): the newest are built.
const maxReportsPerRun = 62

// Name implements Job.
func (r *Reports) Name() string {
	if r.Period == periods.Weekly {
		return JobReportWeekly
	}
	return JobReportDaily
}

// Run implements Job. Every period that ended in the window is reported,
// not only the one before w.To: a schedule time some day lacks (02:30 on a
// spring-forward day; robfig/cron also skips Lord_Howe's 00:15 after its
// half-hour shift) gives a window of two days, and a window merged after
// an outage (MaxCatchUp) one of many; the days before were never reported.
func (r *Reports) Run(ctx context.Context, w Window) (Counts, error) {
	cur := r.Cal.Of(r.Period, w.To.UnixMilli()).Start
	starts := []int64{r.Cal.Of(r.Period, cur-1).Start} // newest first
	if !w.From.IsZero() {
		for at := starts[0]; len(starts) < maxReportsPerRun; {
			prev := r.Cal.Of(r.Period, at-1).Start
			if at <= w.From.UnixMilli() { // prev ended at or before From
				break
			}
			starts, at = append(starts, prev), prev
		}
	}
	counts := Counts{}
	var errs, undelivered []error
	for _, start := range slices.Backward(starts) {
		c, err := r.report(ctx, start, w.To.UnixMilli())
		for k, v := range c {
			counts[k] += v
		}
		if _, ok := errors.AsType[*windowDoneError](err); ok {
			undelivered = append(undelivered, err)
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	counts["reports"] = int64(len(starts))
	if len(errs) > 0 { // a report not stored: the window runs again
		return counts, errors.Join(append(errs, undelivered...)...)
	}
	return counts, WindowDone(errors.Join(undelivered...))
}

// report builds, stores and sends the report of the period at start. It
// stores and sends under the report's delivery lease (withReport), so that
// report_retry is not sending the same report at the same time; when it
// is, the report is stored all the same and sent nowhere by this run.
func (r *Reports) report(ctx context.Context, start, createdAt int64) (Counts, error) {
	rep, err := BuildReport(ctx, r.Store, r.Cal, r.Period, start)
	if err != nil {
		return nil, err
	}
	rep.CreatedAt = createdAt
	counts := Counts{"users": int64(len(rep.Body["byUser"].([]map[string]any))), "models": int64(len(rep.Body["byModel"].([]map[string]any)))}
	if r.Send == nil {
		if _, err := r.Store.StoreReport(ctx, rep); err != nil {
			return nil, fmt.Errorf("store report: %w", err)
		}
		return counts, nil
	}
	stored := false
	err = r.Send.withReport(ctx, rep.Kind, rep.PeriodKey, func(ctx context.Context) error {
		// Stored under the lease: the deliveries it returns are current.
		taken, err := r.Store.StoreReport(ctx, rep)
		if err != nil {
			return fmt.Errorf("store report: %w", err)
		}
		stored = true
		sent, err := r.Send.Send(ctx, rep, taken)
		for k, v := range sent {
			counts[k] = v
		}
		// The report is stored and went to every webhook that took it: a
		// rerun of the window would not send it to those again, but would
		// hold up the later windows (see WindowDone). The report_retry job
		// sends it to the others (reportretry.go).
		return WindowDone(err)
	})
	if errors.Is(err, ErrDeliveryBusy) {
		// StoreReport leaves the deliveries alone: storing it beside the
		// other run is safe.
		if _, err := r.Store.StoreReport(ctx, rep); err != nil {
			return nil, fmt.Errorf("store report: %w", err)
		}
		counts["busy"] = 1
		return counts, WindowDone(fmt.Errorf("report %s %s: stored but not sent: %w (report_retry sends it again to the webhooks that refused it)", rep.Kind, rep.PeriodKey, err))
	}
	if err != nil && !stored {
		return nil, err // not stored: the window runs again
	}
	return counts, err
}

// Totals are a report's sums.
type Totals struct {
	Requests, Successful, Failed             int64
	PromptTokens, CompletionTokens, Tokens   int64
	CostNanoUsd, ProcessingMs, Conversations int64
}

func totalsOf(c rollup.Counters) Totals {
	return Totals{c.TotalRequests, c.SuccessfulRequests, c.FailedRequests, c.PromptTokens, c.CompletionTokens, c.TotalTokens,
		c.TotalCostNanoUsd, c.TotalProcessingTime, c.ConversationsStarted}
}

func (t Totals) json() map[string]any {
	avg, rate := int64(0), 0.0
	if t.Requests > 0 {
		avg = (t.ProcessingMs + t.Requests/2) / t.Requests
		rate = float64(t.Failed) / float64(t.Requests)
	}
	return map[string]any{"requests": t.Requests, "successful": t.Successful, "failed": t.Failed, "promptTokens": t.PromptTokens,
		"completionTokens": t.CompletionTokens, "totalTokens": t.Tokens, "costNanoUsd": t.CostNanoUsd, "costUsd": money.Nanos(t.CostNanoUsd).USD(),
		"avgProcessingMs": avg, "errorRate": rate, "conversationsStarted": t.Conversations}
}

// change is (cur-prev)/prev, nil when prev is 0.
func change(cur, prev int64) any {
	if prev == 0 {
		return nil
	}
	return float64(cur-prev) / float64(prev)
}

// BuildReport builds the report of the period of kind p starting at start,
// from aggregates (totals, by user, by model, change vs the period before)
// and the raw request logs (top errors).
func BuildReport(ctx context.Context, st Store, cal *periods.Calendar, p periods.Period, start int64) (Report, error) {
	info := cal.Of(p, start)
	end := cal.Next(p, start)
	prevStart := cal.Of(p, start-1).Start
	sum := func(scope string, at int64) (map[string]rollup.Counters, error) {
		rows, err := st.Aggregates(ctx, scope, p, at, at+1)
		if err != nil {
			return nil, err
		}
		out := map[string]rollup.Counters{}
		for _, r := range rows {
			c := out[r.UserID+r.Model]
			c.Add(r.Counters)
			out[r.UserID+r.Model] = c
		}
		return out, nil
	}
	sys, err := sum(rollup.ScopeSystem, start)
	if err != nil {
		return Report{}, err
	}
	prevSys, err := sum(rollup.ScopeSystem, prevStart)
	if err != nil {
		return Report{}, err
	}
	users, err := sum(rollup.ScopeUser, start)
	if err != nil {
		return Report{}, err
	}
	models, err := sum(rollup.ScopeModel, start)
	if err != nil {
		return Report{}, err
	}
	cur, prev := totalsOf(sys[""]), totalsOf(prevSys[""])
	byUser, userRest := ranked(users, "userId", reportTop)
	if err := nameUsers(ctx, st, byUser); err != nil {
		return Report{}, err
	}
	byModel, modelRest := ranked(models, "model", reportTop)
	errs, err := topErrors(ctx, st, start, end, 10)
	if err != nil {
		return Report{}, err
	}
	kind := "daily"
	if p == periods.Weekly {
		kind = "weekly"
	}
	body := map[string]any{
		"kind": kind, "periodKey": info.Key, "periodStart": start, "periodEnd": end, "timeZone": cal.Location().String(),
		"totals": cur.json(), "previous": prev.json(),
		"change":  map[string]any{"requests": change(cur.Requests, prev.Requests), "totalTokens": change(cur.Tokens, prev.Tokens), "costNanoUsd": change(cur.CostNanoUsd, prev.CostNanoUsd)},
		"byUser":  byUser,
		"byModel": byModel, "topErrors": errs,
	}
	// Past the top rows, the rest as one row each, so that the rows of
	// a section add up to the totals.
	if userRest != nil {
		body["byUserRest"] = userRest
	}
	if modelRest != nil {
		body["byModelRest"] = modelRest
	}
	rep := Report{Kind: kind, PeriodKey: info.Key, Body: body}
	var buf bytes.Buffer
	if err := ExportCSV(&buf, rep); err != nil {
		return Report{}, err
	}
	rep.CSV = buf.String()
	return rep, nil
}

// reportTop is how many users and models a report lists by name.
const reportTop = 100

// ranked lists the top limit keys of m by cost (then requests, then key),
// and the sums of the others with their count, or nil when none is left
// out.
func ranked(m map[string]rollup.Counters, field string, limit int) (top []map[string]any, rest map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a].TotalCostNanoUsd != m[b].TotalCostNanoUsd {
			return -cmpInt(m[a].TotalCostNanoUsd, m[b].TotalCostNanoUsd)
		}
		if m[a].TotalRequests != m[b].TotalRequests {
			return -cmpInt(m[a].TotalRequests, m[b].TotalRequests)
		}
		return cmpStr(a, b)
	})
	top = []map[string]any{}
	for _, k := range keys[:min(limit, len(keys))] {
		row := totalsOf(m[k]).json()
		row[field] = k
		top = append(top, row)
	}
	if len(keys) <= limit {
		return top, nil
	}
	var sum rollup.Counters
	for _, k := range keys[limit:] {
		sum.Add(m[k])
	}
	rest = totalsOf(sum).json()
	rest["count"] = len(keys) - limit
	return top, rest
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func topErrors(ctx context.Context, st Store, from, to int64, limit int) ([]map[string]any, error) {
	type agg struct {
		errorType  string
		statusCode int
		count      int64
		sample     string
	}
	m := map[string]*agg{}
	err := EachRequestLog(ctx, st, from, to, PageSize, func(l store.RequestLog) {
		if l.Status == store.StatusSuccess {
			return
		}
		k := l.ErrorType + "|" + strconv.Itoa(l.StatusCode)
		a := m[k]
		if a == nil {
			a = &agg{errorType: l.ErrorType, statusCode: l.StatusCode, sample: truncate(l.ErrorMessage, 200)}
			m[k] = a
		}
		a.count++
	})
	if err != nil {
		return nil, err
	}
	list := make([]*agg, 0, len(m))
	for _, a := range m {
		list = append(list, a)
	}
	slices.SortFunc(list, func(a, b *agg) int {
		if a.count != b.count {
			return -cmpInt(a.count, b.count)
		}
		return cmpStr(a.errorType+strconv.Itoa(a.statusCode), b.errorType+strconv.Itoa(b.statusCode))
	})
	out := []map[string]any{}
	for _, a := range list[:min(limit, len(list))] {
		out = append(out, map[string]any{"errorType": a.errorType, "statusCode": a.statusCode, "count": a.count, "sample": a.sample})
	}
	return out, nil
}

// ExportJSON writes the report as indented JSON.
func ExportJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func asRows(v any) []map[string]any {
	switch x := v.(type) {
	case []map[string]any:
		return x
	case []any:
		out := make([]map[string]any, 0, len(x))
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	case json.Number:
		n, _ := x.Int64()
		return n
	}
	return 0
}
