package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

type rateRow struct {
	rate            int
	direct, service rateResult
	cpu             time.Duration
}

type streamRow struct {
	n               int
	h2c             bool // clients spoke HTTP/2 without TLS, not HTTP/1.1
	direct, service streamResult
	cpu             time.Duration
	rss, idle       int64 // the service's RSS at the sample, and idle before the level
	open            int
}

// seqResult is the sequential, interleaved run: direct first, then the
// service, then Portkey when it ran.
type seqResult struct {
	calls  int
	gw     []seqGateway
	phases addedPhases // the service's own account of its share
}

type seqGateway struct {
	name string
	lat  []time.Duration // sorted
	errs int
	cpu  time.Duration // the process's CPU over the run; 0 for direct
}

// added is the gateway's added latency at percentile p: its latency minus
// direct's.
func (r seqResult) added(name string, p float64) (time.Duration, bool) {
	if len(r.gw) == 0 {
		return 0, false
	}
	for _, g := range r.gw[1:] {
		if g.name == name && len(g.lat) > 0 {
			return pct(g.lat, p) - pct(r.gw[0].lat, p), true
		}
	}
	return 0, false
}

type report struct {
	cfg                 Config
	env                 *env
	seq                 seqResult
	rates               []rateRow
	streams             []streamRow
	outbox              string
	logLines, logErrors int
	gobench             []goBench
	took                time.Duration
}

// goBench is one result line of `go test -bench`.
type goBench struct {
	name    string
	metrics map[string]float64
}

// parseGoBench reads the Benchmark lines of `go test -bench` output.
func parseGoBench(out string) []goBench {
	var res []goBench
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		g := goBench{name: f[0], metrics: map[string]float64{}}
		if i := strings.LastIndexByte(g.name, '-'); i > 0 {
			g.name = g.name[:i] // the GOMAXPROCS suffix
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				g.metrics[f[i+1]] = v
			}
		}
		res = append(res, g)
	}
	return res
}

func msf(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

func added(a, b time.Duration) string {
	return fmt.Sprintf("%+.3f", float64(b-a)/float64(time.Millisecond))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	host, _ := os.Hostname()
	_ = host
	w("## llmbench results\n\n")
	w("Run %s, %s, took %s. %s\n\n", time.Now().UTC().Format(time.RFC3339), machine(), r.took.Round(time.Second), runtime.Version())
	w("Service: separate process `llmmeter serve` (embedded SQLite store, outbox, LOG_LEVEL=info to a file), upstream `llmmeter simulate` (TTFT 0, no pacing, %d answer tokens). Quotas %s. RLIMIT_NOFILE %d.\n\n", r.cfg.AnswerToks, r.env.quotaMode, r.env.nofile)

	r.sequential(w)
	w("### Non-streaming, open loop (latency in ms; added = service − direct, per percentile)\n\n")
	w("| offered req/s | direct p50 | direct p99 | service p50 | service p99 | **added p50** | **added p99** | achieved req/s direct / service | errors direct / service | service CPU per request |\n")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range r.rates {
		cpu := "-"
		if x.service.ok > 0 {
			cpu = fmt.Sprintf("%.0f µs", float64(x.cpu.Microseconds())/float64(x.service.ok))
		}
		w("| %d | %s | %s | %s | %s | %s | %s | %.0f / %.0f | %d / %d | %s |\n", x.rate,
			msf(pct(x.direct.lat, 50)), msf(pct(x.direct.lat, 99)), msf(pct(x.service.lat, 50)), msf(pct(x.service.lat, 99)),
			added(pct(x.direct.lat, 50), pct(x.service.lat, 50)), added(pct(x.direct.lat, 99), pct(x.service.lat, 99)),
			x.direct.throughput(), x.service.throughput(), x.direct.errs, x.service.errs, cpu)
	}
	w("\n### Streaming, N streams held open together (time to first token in ms; opened at %d new streams/s)\n\n", r.cfg.RampRate)
	w("| open streams | clients | direct TTFT p50 | direct p99 | service TTFT p50 | service p99 | **added p50** | **added p99** | streams opened/s direct / service | errors direct / service | service CPU per stream | service RSS per open stream |\n")
	w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range r.streams {
		cpu, mem := "-", "-"
		if x.n > 0 {
			cpu = fmt.Sprintf("%.0f µs", float64(x.cpu.Microseconds())/float64(x.n))
		}
		if x.open > 0 {
			mem = fmt.Sprintf("%.1f KiB (%d open, RSS %.1f MiB)", x.kibPerStream(), x.open, float64(x.rss)/(1<<20))
		}
		w("| %d | %s | %s | %s | %s | %s | %s | %s | %.0f / %.0f | %d / %d | %s | %s |\n", x.n, x.clients(),
			msf(pct(x.direct.ttft, 50)), msf(pct(x.direct.ttft, 99)), msf(pct(x.service.ttft, 50)), msf(pct(x.service.ttft, 99)),
			added(pct(x.direct.ttft, 50), pct(x.service.ttft, 50)), added(pct(x.direct.ttft, 99), pct(x.service.ttft, 99)),
			x.direct.openRate(), x.service.openRate(), x.direct.errs, x.service.errs, cpu, mem)
	}
	w("\nIdle service VmRSS (after the last warm-up): %.1f MiB. Outbox after the run: %s. Service log: %d lines, %d at error level.\n\n",
		float64(r.env.idleRSS)/(1<<20), r.outbox, r.logLines, r.logErrors)

	if len(r.gobench) > 0 {
		w("### Data-path benchmarks (go test -bench)\n\n| benchmark | metrics |\n|---|---|\n")
		for _, g := range r.gobench {
			var parts []string
			for _, k := range []string{"rows/s", "rows/cpu-s", "puts/s", "ns/op", "s", "raw-rows", "p50-ms", "p95-ms", "p50-µs", "p99-µs", "waited", "errors"} {
				if v, ok := g.metrics[k]; ok {
					parts = append(parts, fmt.Sprintf("%s %s", strconv.FormatFloat(v, 'f', -1, 64), k))
				}
			}
			w("| %s | %s |\n", strings.TrimPrefix(g.name, "Benchmark"), strings.Join(parts, ", "))
		}
		w("\n")
	}
	r.targets(w)
	return b.String()
}

// sequential writes the side-by-side table of the sequential run.
func (r *report) sequential(w func(string, ...any)) {
	if len(r.seq.gw) == 0 {
		return
	}
	w("### Sequential, interleaved (%d non-streaming calls to each, one at a time; latency in ms)\n\n", r.seq.calls)
	w("Portkey: @portkey-ai/gateway@%s from npm on Node %s, provider openai with the simulator as custom host. %s\n\n", PortkeyVersion, nodeVersion(), portkeyLine(r.env))
	w("| target | p50 | p99 | **added p50** | **added p99** | errors | process CPU per call |\n|---|---:|---:|---:|---:|---:|---:|\n")
	d := r.seq.gw[0]
	for _, g := range r.seq.gw {
		add50, add99, cpu := "-", "-", "-"
		if g.name != d.name && len(g.lat) > 0 {
			add50, add99 = added(pct(d.lat, 50), pct(g.lat, 50)), added(pct(d.lat, 99), pct(g.lat, 99))
		}
		if g.cpu > 0 && len(g.lat) > 0 {
			cpu = fmt.Sprintf("%.0f µs", float64(g.cpu.Microseconds())/float64(len(g.lat)))
		}
		w("| %s | %s | %s | %s | %s | %d | %s |\n", g.name, msf(pct(g.lat, 50)), msf(pct(g.lat, 99)), add50, add99, g.errs, cpu)
	}
	w("\n%s\n\n", r.seq.phases.line())
}

// portkeyLine says how Portkey took part.
func portkeyLine(e *env) string {
	if e.pkTarget.name == "" {
		return "Portkey " + e.pkNote + "."
	}
	return "Its streaming path: " + e.pkNote + "; streams are therefore compared against direct only."
}

func (r *report) targets(w func(string, ...any)) {
	w("### Targets (issue 15)\n\n| target | measured | verdict |\n|---|---|---|\n")
	for _, p := range []float64{50, 99} {
		ours, ok1 := r.seq.added("service", p)
		theirs, ok2 := r.seq.added("portkey", p)
		if !ok1 || !ok2 {
			w("| added latency p%.0f ≤ ¼ of Portkey's, sequential | Portkey %s | **not measured** |\n", p, r.env.pkNote)
			continue
		}
		ratio := "-"
		if theirs > 0 {
			ratio = fmt.Sprintf("%.2f×", float64(ours)/float64(theirs))
		}
		w("| added latency p%.0f ≤ ¼ of Portkey's, sequential | %s ms vs Portkey %s ms (%s) | %s |\n", p, added(0, ours), added(0, theirs), ratio,
			verdict(theirs > 0 && 4*ours <= theirs))
	}
	// Every target gets a row, "not measured" when this run lacked the
	// level it is read at.
	const unmeasured = "not measured in this run | **not measured** |\n"
	sawRate, sawCPU := false, false
	for _, x := range r.rates {
		if x.rate != 1000 {
			continue
		}
		sawRate = true
		a50 := pct(x.service.lat, 50) - pct(x.direct.lat, 50)
		a99 := pct(x.service.lat, 99) - pct(x.direct.lat, 99)
		w("| added latency p50 ≤ 150 µs at 1,000 req/s | %s ms | %s |\n", added(0, a50), verdict(a50 <= 150*time.Microsecond && x.service.errs == 0))
		w("| added latency p99 ≤ 1 ms at 1,000 req/s | %s ms | %s |\n", added(0, a99), verdict(a99 <= time.Millisecond && x.service.errs == 0))
		if x.service.ok > 0 {
			sawCPU = true
			cpu := x.cpu / time.Duration(x.service.ok)
			w("| ≤ 150 µs service CPU per non-streaming call (at 1,000 req/s) | %.0f µs | %s |\n", float64(cpu.Nanoseconds())/1e3, verdict(cpu <= 150*time.Microsecond))
		}
	}
	if !sawRate {
		w("| added latency p50 ≤ 150 µs at 1,000 req/s | " + unmeasured)
		w("| added latency p99 ≤ 1 ms at 1,000 req/s | " + unmeasured)
	}
	if !sawCPU {
		w("| ≤ 150 µs service CPU per non-streaming call (at 1,000 req/s) | " + unmeasured)
	}
	var worst, worstH2C float64
	sawStreams := false
	for _, x := range r.streams {
		if x.open > 0 && x.n >= 1024 {
			if x.h2c {
				worstH2C = max(worstH2C, x.kibPerStream())
			} else {
				worst = max(worst, x.kibPerStream())
			}
		}
		if x.h2c {
			continue
		}
		if x.n >= 1000 && x.n <= 1024 {
			sawStreams = true
			a50 := pct(x.service.ttft, 50) - pct(x.direct.ttft, 50)
			a := pct(x.service.ttft, 99) - pct(x.direct.ttft, 99)
			w("| added TTFT p50 ≤ 100 µs at 1,024 streams | %s ms | %s |\n", added(0, a50), verdict(a50 <= 100*time.Microsecond && x.service.errs == 0))
			w("| added TTFT p99 ≤ 1 ms at 1,024 streams | %s ms | %s |\n", added(0, a), verdict(a <= time.Millisecond && x.service.errs == 0))
		}
	}
	if !sawStreams {
		w("| added TTFT p50 ≤ 100 µs at 1,024 streams | " + unmeasured)
		w("| added TTFT p99 ≤ 1 ms at 1,024 streams | " + unmeasured)
	}
	if worst > 0 {
		w("| ≤ 32 KiB resident memory per open stream (worst of ≥1,024) | %.1f KiB | %s |\n", worst, verdict(worst <= 32))
	} else {
		w("| ≤ 32 KiB resident memory per open stream (worst of ≥1,024) | " + unmeasured)
	}
	if worstH2C > 0 {
		w("| the same with HTTP/2 (h2c) clients | %.1f KiB | %s |\n", worstH2C, verdict(worstH2C <= 32))
	} else {
		w("| the same with HTTP/2 (h2c) clients | " + unmeasured)
	}
	sawWarm, sawIngest := false, false
	for _, g := range r.gobench {
		switch {
		case strings.HasPrefix(g.name, "BenchmarkWarmAdmitSlowStore"):
			sawWarm = true
			p50, p99 := g.metrics["p50-µs"], g.metrics["p99-µs"]
			w("| added TTFT unchanged (≤ 1 ms p50) with the store 20 ms away, warm lease | quota admission p50 %.1f µs, p99 %.1f µs, %.0f calls waited (embedded store behind a 20 ms link; the same lease Manager serves Convex mode) | %s |\n",
				p50, p99, g.metrics["waited"], verdict(p50 <= 1000))
		case strings.HasPrefix(g.name, "BenchmarkOutboxToStore"):
			sawIngest = true
			v := g.metrics["rows/s"]
			w("| ≥ 50,000 rows/s into the embedded store | %.0f rows/s | %s |\n", v, verdict(v >= 50000))
		case strings.HasPrefix(g.name, "BenchmarkRollupRecompute/rows=10M"):
			v := g.metrics["s"]
			w("| 10 million usage rows rolled up in ≤ 10 s | %.1f s | %s |\n", v, verdict(v <= 10))
		}
	}
	if !sawWarm {
		w("| added TTFT unchanged (≤ 1 ms p50) with the store 20 ms away, warm lease | " + unmeasured)
	}
	if !sawIngest {
		w("| ≥ 50,000 rows/s into the embedded store | " + unmeasured)
	}
	worstFn, worstP95 := "", 0.0
	for _, g := range r.gobench {
		if strings.HasPrefix(g.name, "BenchmarkAdminFunctions/") && g.metrics["p95-ms"] >= worstP95 {
			worstFn, worstP95 = strings.TrimPrefix(g.name, "BenchmarkAdminFunctions/"), g.metrics["p95-ms"]
		}
	}
	if worstFn != "" {
		w("| every admin function p95 ≤ 50 ms at 10 million rows | worst: %s %.1f ms | %s |\n", worstFn, worstP95, verdict(worstP95 <= 50))
	}
	w("\n")
}

// nodeVersion is `node --version`, or "?".
func nodeVersion() string {
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

// machine describes the CPU count, model and memory.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0]); len(f) >= 2 {
			if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
				mem = fmt.Sprintf(", %.1f GiB RAM", kb/(1<<20))
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s)%s", runtime.NumCPU(), model, mem)
}

// clients names the protocol the row's clients spoke.
func (x streamRow) clients() string {
	if x.h2c {
		return "h2c"
	}
	return "HTTP/1.1"
}

// kibPerStream is the service's RSS per open stream at the sample, above
// its idle RSS before the level (x.open > 0).
func (x streamRow) kibPerStream() float64 {
	return float64(x.rss-x.idle) / 1024 / float64(x.open)
}
