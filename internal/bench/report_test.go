package bench

import (
	"fmt"
	"strings"
	"testing"
)

// issue15Targets are the rows make bench must print, whatever the run
// measured (issue 15: every target with its value and a verdict).
var issue15Targets = []string{
	"| added latency p50 ≤ ¼ of Portkey's, sequential |",
	"| added latency p99 ≤ ¼ of Portkey's, sequential |",
	"| added latency p50 ≤ 150 µs at 1,000 req/s |",
	"| added latency p99 ≤ 1 ms at 1,000 req/s |",
	"| ≤ 150 µs service CPU per non-streaming call (at 1,000 req/s) |",
	"| added TTFT p50 ≤ 100 µs at 1,024 streams |",
	"| added TTFT p99 ≤ 1 ms at 1,024 streams |",
	"| ≤ 32 KiB resident memory per open stream (worst of ≥1,024) |",
	"| added TTFT unchanged (≤ 1 ms p50) with the store 20 ms away, warm lease |",
	"| ≥ 50,000 rows/s into the embedded store |",
}

// TestTargetsPrintsEveryIssue15Target: a run that measured nothing still
// lists every target, as not measured; the Go benchmarks' lines give the
// store-20-ms-away and ingest rows their values and verdicts.
func TestTargetsPrintsEveryIssue15Target(t *testing.T) {
	render := func(r *report) string {
		var b strings.Builder
		r.targets(func(format string, a ...any) { fmt.Fprintf(&b, format, a...) })
		return b.String()
	}
	empty := render(&report{env: &env{pkNote: "not run"}})
	for _, row := range issue15Targets {
		if n := strings.Count(empty, row); n != 1 {
			t.Errorf("empty run: %q appears %d times in\n%s", row, n, empty)
		}
	}
	if strings.Count(empty, "**not measured**") != len(issue15Targets) {
		t.Errorf("empty run: not every target is marked not measured:\n%s", empty)
	}
	gobench := parseGoBench(`BenchmarkWarmAdmitSlowStore-2   	    1000	   3303531 ns/op	         2.195 p50-µs	        86.04 p99-µs	         0 waited
BenchmarkOutboxToStore-2   	   20000	   1305502 ns/op	      52298 rows/s
`)
	got := render(&report{env: &env{pkNote: "not run"}, gobench: gobench})
	for _, want := range []string{"quota admission p50 2.2 µs, p99 86.0 µs, 0 calls waited", "| 52298 rows/s | met |"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Count(got, "**not measured**") != len(issue15Targets)-2 {
		t.Errorf("the two measured rows still say not measured:\n%s", got)
	}
}
