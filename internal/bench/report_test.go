package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"
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
	"| the same with HTTP/2 (h2c) clients |",
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

// TestStreamTargetsKeepTheClientsApart: the TTFT targets and the memory
// target read the HTTP/1.1 levels; the h2c levels have a memory row of
// their own, each per stream above the idle RSS its process had.
func TestStreamTargetsKeepTheClientsApart(t *testing.T) {
	ms := func(v float64) []time.Duration { return []time.Duration{time.Duration(v * float64(time.Millisecond))} }
	const kib = 1024
	r := &report{env: &env{pkNote: "not run"}, streams: []streamRow{
		{n: 1024, direct: streamResult{ttft: ms(1)}, service: streamResult{ttft: ms(3)}, idle: 10 << 20, rss: 10<<20 + 1024*40*kib, open: 1024},
		{n: 10000, idle: 10 << 20, rss: 10<<20 + 10000*50*kib, open: 10000},
		{n: 1024, h2c: true, direct: streamResult{ttft: ms(1)}, service: streamResult{ttft: ms(1.05)}, idle: 20 << 20, rss: 20<<20 + 1024*30*kib, open: 1024},
		{n: 10000, h2c: true, idle: 20 << 20, rss: 20<<20 + 10000*31*kib, open: 10000},
	}}
	var b strings.Builder
	r.targets(func(format string, a ...any) { fmt.Fprintf(&b, format, a...) })
	got := b.String()
	for _, want := range []string{
		"| added TTFT p50 ≤ 100 µs at 1,024 streams | +2.000 ms | **missed** |",
		"| ≤ 32 KiB resident memory per open stream (worst of ≥1,024) | 50.0 KiB | **missed** |",
		"| the same with HTTP/2 (h2c) clients | 31.0 KiB | met |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if n := strings.Count(got, "at 1,024 streams"); n != 2 {
		t.Errorf("%d TTFT rows, want the HTTP/1.1 level's two:\n%s", n, got)
	}
}
