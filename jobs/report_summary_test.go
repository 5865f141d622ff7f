package jobs_test

import (
	"encoding/json"
	"strings"
	"testing"

	"llmmeter/jobs"
)

// TestReportSummary pins the summary's wording on bodies as a store
// returns them (JSON numbers) and as BuildReport makes them (int64).
func TestReportSummary(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		// want: substrings of text, then of the blocks' JSON
		text, blocks []string
		// absent from the whole message
		absent []string
	}{
		{
			// no previous period: no percentage invented
			name:   "first period",
			body:   `{"totals":{"requests":3,"failed":0,"totalTokens":30,"costNanoUsd":1500000000},"change":{"requests":null,"costNanoUsd":null,"totalTokens":null},"timeZone":"UTC"}`,
			text:   []string{"llmmeter daily report 2026-11-29: 3 requests (no previous data), $1.50 (no previous data), 0 failed"},
			blocks: []string{`*Top users*\nnone`, `*Top errors*\nnone`, "Period 2026-11-29 (UTC); change against the day before."},
		},
		{
			// a fall shows its sign; only five of each list
			name: "fall and lists",
			body: `{"totals":{"requests":1000,"failed":12,"totalTokens":5,"costNanoUsd":5},"change":{"requests":-0.25,"costNanoUsd":0.5,"totalTokens":0},
				"byUser":[{"userId":"u_1","costNanoUsd":3,"requests":1},{"userId":"u_2"},{"userId":"u_3"},{"userId":"u_4"},{"userId":"u_5"},{"userId":"u_6"}],
				"byModel":[{"model":"a/b","costNanoUsd":2000000,"requests":7}],
				"topErrors":[{"errorType":"rate_limited","statusCode":429,"count":9,"sample":"the provider's words"}]}`,
			text:   []string{"1,000 requests (-25.0% vs previous)", "(+50.0% vs previous)", "12 failed"},
			blocks: []string{`1. u_1: $0.0000, 1 requests`, `5. u_5`, `1. a/b: $0.0020, 7 requests`, `1. rate_limited (HTTP 429): 9`, `+0.0% vs previous`},
			absent: []string{"u_6", "the provider's words"},
		},
		{
			// a user's name and email beside the id, an id alone when the
			// report recorded neither, and Slack's reserved characters escaped
			name: "names escaped",
			body: `{"totals":{},"change":{},"byModel":[{"model":"x<y"}],"byUser":[{"userId":"u_1","userName":"<Ann & Co>","userEmail":"ann@example.com"},
				{"userId":"u_2","userName":"","userEmail":"bo@example.com"},{"userId":"u_3","userName":"","userEmail":""},{"userId":"u_4"}]}`,
			blocks: []string{"1. &lt;Ann &amp; Co&gt; (ann@example.com, u_1): ", "2. bo@example.com (u_2): ", "3. u_3: ", "4. u_4: ", "1. x&lt;y: "},
			absent: []string{"<Ann"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body map[string]any
			if err := json.Unmarshal([]byte(tc.body), &body); err != nil {
				t.Fatal(err)
			}
			msg := jobs.ReportSummary(jobs.Report{Kind: "daily", PeriodKey: "2026-11-29", Body: body})
			raw, _ := json.Marshal(msg["blocks"])
			var blocks string
			// Compare against the decoded JSON strings (newlines as \n).
			blocks = strings.ReplaceAll(string(raw), `\u0026`, "&")
			blocks = strings.ReplaceAll(strings.ReplaceAll(blocks, `\u003c`, "<"), `\u003e`, ">")
			text := msg["text"].(string)
			for _, s := range tc.text {
				if !strings.Contains(text, s) {
					t.Errorf("text %q lacks %q", text, s)
				}
			}
			for _, s := range tc.blocks {
				if !strings.Contains(blocks, s) {
					t.Errorf("blocks lack %q:\n%s", s, blocks)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(text+blocks, s) {
					t.Errorf("message contains %q:\n%s\n%s", s, text, blocks)
				}
			}
		})
	}
}
