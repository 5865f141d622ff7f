package jobs

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"llmmeter/internal/csvsafe"
	"llmmeter/internal/money"
)

// ReportCSVColumns is the header of a report's CSV.
var ReportCSVColumns = []string{
	"section", "id", "name", "email", "periodKey", "requests", "successful", "failed", "totalTokens", "costUsd",
	"previousRequests", "previousTotalTokens", "previousCostUsd", "requestsChange", "costChange", "note",
}

// ExportCSV writes the report as CSV, one row per entity: the whole system
// (id "all", with the previous period's figures and the change beside its
// own, not on a row of its own), each user (by id, with the name and email
// the report recorded; empty on other rows), each model (past the top
// 100 users or models, one "user_rest" or "model_rest" row, id "<n> more",
// sums the others, so each section adds up to the system row), and each
// top error (id "<errorType> <statusCode>", requests = its count, note = a
// sample message). Money is exact USD; a change is a ratio, empty when the
// previous period had none. Text cells (names, emails, models, error types
// and messages come from callers) go through csvsafe.Text, so a spreadsheet
// opening the file does not run them as formulas; numbers stay raw.
func ExportCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	cw.Write(ReportCSVColumns)
	num := func(t map[string]any, k string) string {
		if t == nil || t[k] == nil {
			return ""
		}
		return fmt.Sprint(t[k])
	}
	usd := func(t map[string]any) string {
		if t == nil {
			return ""
		}
		return money.Nanos(toInt(t["costNanoUsd"])).String()
	}
	ratio := func(v any) string {
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
		return ""
	}
	txt := csvsafe.Text
	line := func(section, id, name, email string, t, prev, chg map[string]any, note string) {
		prevCost := ""
		if prev != nil {
			prevCost = usd(prev)
		}
		cw.Write([]string{txt(section), txt(id), txt(name), txt(email), txt(r.PeriodKey), num(t, "requests"), num(t, "successful"), num(t, "failed"), num(t, "totalTokens"), usd(t),
			num(prev, "requests"), num(prev, "totalTokens"), prevCost, ratio(chg["requests"]), ratio(chg["costNanoUsd"]), txt(note)})
	}
	totals, _ := r.Body["totals"].(map[string]any)
	prev, _ := r.Body["previous"].(map[string]any)
	chg, _ := r.Body["change"].(map[string]any)
	if totals != nil {
		line("system", "all", "", "", totals, prev, chg, "")
	}
	for _, u := range asRows(r.Body["byUser"]) {
		name, _ := u["userName"].(string)
		email, _ := u["userEmail"].(string)
		line("user", fmt.Sprint(u["userId"]), name, email, u, nil, nil, "")
	}
	rest := func(section, key string) {
		if t, ok := r.Body[key].(map[string]any); ok {
			line(section, fmt.Sprintf("%v more", t["count"]), "", "", t, nil, nil, "")
		}
	}
	rest("user_rest", "byUserRest")
	for _, m := range asRows(r.Body["byModel"]) {
		line("model", fmt.Sprint(m["model"]), "", "", m, nil, nil, "")
	}
	rest("model_rest", "byModelRest")
	for _, e := range asRows(r.Body["topErrors"]) {
		count := fmt.Sprint(e["count"])
		cw.Write([]string{"error", txt(fmt.Sprintf("%v %v", e["errorType"], e["statusCode"])), "", "", txt(r.PeriodKey), count, "", count, "", "",
			"", "", "", "", "", txt(fmt.Sprint(e["sample"]))})
	}
	cw.Flush()
	return cw.Error()
}
