package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

// Config bounds a Run. Zero values take the defaults noted.
type Config struct {
	RepoDir     string        // module root to build from; default "."
	Rates       []int         // offered non-streaming rates (req/s); default 100, 500, 1000
	RateFor     time.Duration // each rate's duration; default 4s
	Streams     []int         // concurrent open streams; default 1, 64, 1024, 10000
	H2CStreams  []int         // the levels again with h2c clients (HTTP/2 without TLS, as a proxy can speak); default 1024, 10000; empty (not nil) skips
	RampRate    int           // new streams per second while opening; default 2000
	AnswerToks  int           // simulator answer length; default 16
	SeqCalls    int           // sequential calls per target, interleaved; default 2000
	NoPortkey   bool          // skip installing and running Portkey
	Out         io.Writer     // progress; default os.Stderr
	ResultsFile string        // the Markdown table is also written here; "" skips
	GoBenchFile string        // output of the Go data-path benchmarks to fold in; "" skips
}

func (c *Config) defaults() {
	if c.RepoDir == "" {
		c.RepoDir = "."
	}
	if len(c.Rates) == 0 {
		c.Rates = []int{100, 500, 1000}
	}
	if c.RateFor <= 0 {
		c.RateFor = 4 * time.Second
	}
	if len(c.Streams) == 0 {
		c.Streams = []int{1, 64, 1024, 10000}
	}
	if c.H2CStreams == nil {
		c.H2CStreams = []int{1024, 10000}
	}
	if c.RampRate <= 0 {
		c.RampRate = 2000
	}
	if c.AnswerToks <= 0 {
		c.AnswerToks = 16
	}
	if c.SeqCalls <= 0 {
		c.SeqCalls = 2000
	}
	if c.Out == nil {
		c.Out = os.Stderr
	}
}

const simKey = "sk-or-v1-bench"

// env is the running pair of processes and what the bench learned.
type env struct {
	work      string
	sim, svc  *child
	simURL    string
	svcURL    string
	userKey   string
	adminKey  string
	userID    string
	quotaMode string
	nofile    uint64
	idleRSS   int64
	logPath   string
	bin, data string // the built binaries, the service's DATA_DIR
	svcPort   int
	svcOut    *lockedWriter // the service's stdout, across restarts
	direct    target
	service   target
	portkey   *child
	pkTarget  target // name "" when Portkey is not running
	pkNote    string // why Portkey is missing, or what its streaming answered
}

// Run builds and starts the simulator and the service, drives both, and
// returns the Markdown report (also written to cfg.ResultsFile).
func Run(ctx context.Context, cfg Config) (string, error) {
	cfg.defaults()
	logf := func(format string, a ...any) { fmt.Fprintf(cfg.Out, "llmbench: "+format+"\n", a...) }
	total := time.Now()
	e := &env{}
	var err error
	if e.nofile, err = raiseNoFile(65536); err != nil {
		return "", fmt.Errorf("bench: RLIMIT_NOFILE: %w", err)
	}
	if e.work, err = os.MkdirTemp("", "llmbench-"); err != nil {
		return "", err
	}
	defer os.RemoveAll(e.work)
	defer func() {
		e.portkey.stop(10 * time.Second)
		e.svc.stop(20 * time.Second)
		e.sim.stop(10 * time.Second)
	}()
	if err := e.startAll(ctx, cfg, logf); err != nil {
		return "", err
	}
	if cfg.NoPortkey {
		e.pkNote = "not run (-portkey=false)"
	} else if e.pkTarget, err = e.startPortkey(ctx, logf); err != nil {
		e.pkTarget, e.pkNote = target{}, "not run: "+err.Error()
		logf("Portkey: %v", err)
	}

	rep := &report{cfg: cfg, env: e}
	body := func(stream bool, content string) []byte {
		b, _ := json.Marshal(map[string]any{"model": "openai/gpt-4o-mini", "stream": stream, "max_tokens": cfg.AnswerToks,
			"messages": []map[string]string{{"role": "user", "content": content}}})
		return b
	}
	plain := body(false, "Say hello.")
	client := newClient(4096, false)
	defer client.CloseIdleConnections()

	// Warm-up, then the idle baseline of the service's memory.
	warm := func() error {
		for _, tg := range e.targets() {
			openLoop(ctx, client, tg, plain, 200, time.Second, 10*time.Second, 4096)
		}
		time.Sleep(2 * time.Second) // let the outbox deliver the warm-up
		e.idleRSS, err = rssBytes(e.svc.pid())
		logf("service idle VmRSS %.1f MiB; RLIMIT_NOFILE %d", float64(e.idleRSS)/(1<<20), e.nofile)
		return err
	}
	if err := warm(); err != nil {
		return "", err
	}

	// Streams first, so the idle baseline is not inflated by earlier load.
	for _, n := range cfg.Streams {
		rep.streams = append(rep.streams, e.streamLevel(ctx, cfg, n, false, body, logf))
	}
	if len(cfg.H2CStreams) > 0 {
		// A fresh service process, for the same reason: the Go runtime
		// keeps the memory of the levels before for minutes.
		logf("restarting the service for the h2c levels")
		e.svc.stop(20 * time.Second)
		client.CloseIdleConnections() // to the process gone
		if err := e.startService(ctx); err != nil {
			return "", err
		}
		if err := warm(); err != nil {
			return "", err
		}
		for _, n := range cfg.H2CStreams {
			rep.streams = append(rep.streams, e.streamLevel(ctx, cfg, n, true, body, logf))
		}
	}

	if e.pkTarget.name != "" {
		e.pkNote = portkeyStreamNote(ctx, client, e.pkTarget, body(true, "Say hello."))
		logf("Portkey streaming: %s", e.pkNote)
	}
	logf("sequential: %d calls to each of %d targets, interleaved", cfg.SeqCalls, len(e.targets()))
	rep.seq = e.runSequential(ctx, client, plain, cfg.SeqCalls)

	for _, rate := range cfg.Rates {
		row := rateRow{rate: rate}
		logf("non-streaming: %d req/s for %s, direct", rate, cfg.RateFor)
		row.direct = openLoop(ctx, client, e.direct, plain, rate, cfg.RateFor, 10*time.Second, 4096)
		time.Sleep(500 * time.Millisecond)
		logf("non-streaming: %d req/s for %s, through the service", rate, cfg.RateFor)
		cpu0, _ := cpuTime(e.svc.pid())
		row.service = openLoop(ctx, client, e.service, plain, rate, cfg.RateFor, 10*time.Second, 4096)
		cpu1, _ := cpuTime(e.svc.pid())
		row.cpu = cpu1 - cpu0
		rep.rates = append(rep.rates, row)
		logf("  p50 %s/%s p99 %s/%s, ok %d/%d", pct(row.direct.lat, 50), pct(row.service.lat, 50), pct(row.direct.lat, 99), pct(row.service.lat, 99), row.direct.ok, row.service.ok)
		time.Sleep(time.Second)
	}

	rep.outbox = e.readyz(ctx)
	rep.logLines, rep.logErrors = countLog(e.logPath)
	if cfg.GoBenchFile != "" {
		if b, err := os.ReadFile(cfg.GoBenchFile); err == nil {
			rep.gobench = parseGoBench(string(b))
		} else {
			logf("no Go benchmark results: %v", err)
		}
	}
	rep.took = time.Since(total)
	md := rep.markdown()
	if cfg.ResultsFile != "" {
		if err := os.WriteFile(cfg.ResultsFile, []byte(md), 0o644); err != nil {
			return md, err
		}
	}
	return md, nil
}

// streamLevel holds want streams open together, first straight to the
// simulator, then through the service, with clients speaking HTTP/1.1 or
// h2c.
func (e *env) streamLevel(ctx context.Context, cfg Config, want int, h2c bool, body func(bool, string) []byte, logf func(string, ...any)) streamRow {
	n := want
	if !h2c {
		// The service holds two descriptors per HTTP/1.1 stream (client
		// and upstream); stay under the limit it inherited. Over h2c the
		// streams share connections.
		if n = min(want, (int(e.nofile)-512)/2); n != want {
			logf("streams: %d asked, %d run: RLIMIT_NOFILE is %d (hard limit; raising it needs CAP_SYS_RESOURCE)", want, n, e.nofile)
		}
	}
	row := streamRow{n: n, h2c: h2c, idle: e.idleRSS}
	ramp := time.Duration(float64(n) / float64(cfg.RampRate) * float64(time.Second))
	hold := ramp + 3*time.Second
	sb := body(true, fmt.Sprintf("Tell a story. [sim:stall after=1 ms=%d]", hold.Milliseconds()))
	sc := newClient(min(n, 4096), h2c)
	logf("streams: %d open over %s (ramp %s, hold %s), direct", n, row.clients(), ramp.Round(time.Millisecond), hold)
	row.direct = streams(ctx, sc, e.direct, sb, n, cfg.RampRate, hold+ramp+60*time.Second, ramp+2*time.Second, nil)
	sc.CloseIdleConnections()
	time.Sleep(time.Second)
	logf("streams: %d open over %s, through the service", n, row.clients())
	cpu0, _ := cpuTime(e.svc.pid())
	row.service = streams(ctx, sc, e.service, sb, n, cfg.RampRate, hold+ramp+60*time.Second, ramp+2*time.Second, func(open int) {
		rss, _ := rssBytes(e.svc.pid())
		row.rss, row.open = rss, open
	})
	cpu1, _ := cpuTime(e.svc.pid())
	row.cpu = cpu1 - cpu0
	sc.CloseIdleConnections()
	logf("  TTFT p50 %s/%s p99 %s/%s (direct/service), errors %d/%d, open at sample %d",
		pct(row.direct.ttft, 50), pct(row.service.ttft, 50), pct(row.direct.ttft, 99), pct(row.service.ttft, 99), row.direct.errs, row.service.errs, row.open)
	time.Sleep(2 * time.Second)
	return row
}

func (e *env) startAll(ctx context.Context, cfg Config, logf func(string, ...any)) error {
	bin := filepath.Join(e.work, "bin")
	logf("building llmmeter and llmmeterctl")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin+"/", "./cmd/llmmeter", "./cmd/llmmeterctl")
	build.Dir, build.Stdout, build.Stderr = cfg.RepoDir, cfg.Out, cfg.Out
	if err := build.Run(); err != nil {
		return fmt.Errorf("bench: go build: %w", err)
	}
	simPort, err := freePort()
	if err != nil {
		return err
	}
	simLog, err := os.Create(filepath.Join(e.work, "simulator.log"))
	if err != nil {
		return err
	}
	sim := exec.Command(filepath.Join(bin, "llmmeter"), "simulate", "-listen", fmt.Sprintf("127.0.0.1:%d", simPort),
		"-ttft", "0", "-tps", "0", "-answer-tokens", strconv.Itoa(cfg.AnswerToks), "-generation-delay", "0", "-api-key", simKey)
	sim.Stdout, sim.Stderr = simLog, simLog
	if e.sim, err = start("simulator", sim); err != nil {
		return err
	}
	e.simURL = fmt.Sprintf("http://127.0.0.1:%d/api/v1", simPort)
	if err := waitHTTP(ctx, e.sim, e.simURL+"/models", 15*time.Second); err != nil {
		return err
	}

	if e.svcPort, err = freePort(); err != nil {
		return err
	}
	e.bin, e.data = bin, filepath.Join(e.work, "data")
	e.logPath = filepath.Join(e.work, "service.log")
	// The service's log is kept beside the results for inspection.
	if cfg.ResultsFile != "" {
		e.logPath = strings.TrimSuffix(cfg.ResultsFile, filepath.Ext(cfg.ResultsFile)) + "-service.log"
	}
	os.Remove(e.logPath)
	if err := e.startService(ctx); err != nil {
		return err
	}
	// The service prints its first admin key before it serves, but a
	// goroutine of ours copies the pipe from its stdout: wait for the line
	// rather than read what arrived by now (a race that once set the
	// quotas through the store file instead).
	keyRE := regexp.MustCompile(`llm_[A-Za-z0-9_-]+`)
	for deadline := time.Now().Add(10 * time.Second); e.adminKey == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		e.adminKey = keyRE.FindString(e.svcOut.String())
	}

	ctl := exec.CommandContext(ctx, filepath.Join(bin, "llmmeterctl"), "-data-dir", e.data, "keys", "create", "-user", "llmbench", "-name", "llmbench")
	out, err := ctl.CombinedOutput()
	if err != nil {
		return fmt.Errorf("bench: llmmeterctl keys create: %v: %s", err, out)
	}
	e.userKey = regexp.MustCompile(`llm_[A-Za-z0-9_-]+`).FindString(string(out))
	if m := regexp.MustCompile(`\((u_[0-9a-f]+)\)`).FindStringSubmatch(string(out)); m != nil {
		e.userID = m[1]
	}
	if e.userKey == "" || e.userID == "" {
		return fmt.Errorf("bench: could not read the key llmmeterctl created: %s", out)
	}
	e.quotaMode = e.setQuotas(ctx, filepath.Join(e.data, "llmmeter.db"))
	logf("quotas: %s", e.quotaMode)
	e.direct = target{name: "direct", url: e.simURL + "/chat/completions", key: simKey}
	e.service = target{name: "service", url: e.svcURL + "/v1/chat/completions", key: e.userKey}
	return nil
}

// startService starts `llmmeter serve` on e's port and data directory,
// its log appended to e.logPath, and waits until it answers.
func (e *env) startService(ctx context.Context) error {
	svcLog, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if e.svcOut == nil {
		e.svcOut = &lockedWriter{w: &bytes.Buffer{}}
	}
	svc := exec.Command(filepath.Join(e.bin, "llmmeter"), "serve")
	svc.Env = append(os.Environ(), "LISTEN_ADDR="+fmt.Sprintf("127.0.0.1:%d", e.svcPort), "DATA_DIR="+e.data, "LOG_LEVEL=info",
		"OPENROUTER_API_KEY="+simKey, "OPENROUTER_BASE_URL="+e.simURL, "OPENROUTER_H2C=true", "APP_ENV=development", "CONVEX_URL=", "CLERK_ISSUER=")
	svc.Stdout, svc.Stderr = e.svcOut, svcLog
	if e.svc, err = start("service", svc); err != nil {
		return err
	}
	e.svcURL = fmt.Sprintf("http://127.0.0.1:%d", e.svcPort)
	return waitHTTP(ctx, e.svc, e.svcURL+"/healthz", 30*time.Second)
}

// setQuotas gives the bench user generous quotas: through POST
// /api/mutation llmmeter:setQuota when the service mounts it, otherwise with
// the same admin function on the store file (as llmmeterctl works beside
// the running service).
func (e *env) setQuotas(ctx context.Context, storeFile string) string {
	quotas := []map[string]any{
		{"userId": e.userID, "quotaType": store.QuotaDailyRequests, "limit": 1e9},
		{"userId": e.userID, "quotaType": store.QuotaMonthlyCostUSD, "limit": 1e6},
	}
	viaHTTP := e.adminKey != ""
	for _, q := range quotas {
		if !viaHTTP {
			break
		}
		b, _ := json.Marshal(map[string]any{"path": "llmmeter:setQuota", "args": q, "format": "json"})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.svcURL+"/api/mutation", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+e.adminKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			viaHTTP = false
			break
		}
		var out struct{ Status string }
		json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || out.Status != "success" {
			viaHTTP = false
		}
	}
	if viaHTTP {
		return "on: daily_requests 1e9 and monthly_cost_usd 1e6 for the bench user, set with POST /api/mutation llmmeter:setQuota"
	}
	st, err := sqlitestore.Open(ctx, storeFile, time.UTC)
	if err != nil {
		return "OFF (could not open the store to set them: " + err.Error() + ")"
	}
	defer st.Close()
	for _, q := range quotas {
		b, _ := json.Marshal(q)
		if _, err := st.Call(ctx, "mutation", "llmmeter:setQuota", b, store.Caller{Authenticated: true, UserID: "llmbench", IsAdmin: true}); err != nil {
			return "OFF (llmmeter:setQuota failed: " + err.Error() + ")"
		}
	}
	return "on: daily_requests 1e9 and monthly_cost_usd 1e6 for the bench user; /api/mutation is not mounted, so set with llmmeter:setQuota on the store file"
}

// targets are the endpoints compared: direct, the service and, when it
// runs, Portkey.
func (e *env) targets() []target {
	tgs := []target{e.direct, e.service}
	if e.pkTarget.name != "" {
		tgs = append(tgs, e.pkTarget)
	}
	return tgs
}

// runSequential sends calls one at a time to every target in turn and
// measures each gateway process's CPU over the run (interleaved, each
// process's CPU is its own calls').
func (e *env) runSequential(ctx context.Context, c *http.Client, body []byte, n int) seqResult {
	tgs := e.targets()
	procs := []*child{nil, e.svc, e.portkey}
	cpu0 := make([]time.Duration, len(tgs))
	for j := range tgs {
		if procs[j] != nil {
			cpu0[j], _ = cpuTime(procs[j].pid())
		}
	}
	ph0 := scrapeAdded(ctx, e.svcURL)
	lat, errs := sequential(ctx, c, tgs, body, n, 30*time.Second)
	r := seqResult{calls: n, phases: scrapeAdded(ctx, e.svcURL).since(ph0)}
	for j, tg := range tgs {
		g := seqGateway{name: tg.name, lat: lat[j], errs: errs[j]}
		if procs[j] != nil {
			cpu1, _ := cpuTime(procs[j].pid())
			g.cpu = cpu1 - cpu0[j]
		}
		r.gw = append(r.gw, g)
	}
	return r
}

// portkeyStreamNote asks Portkey for one stream and says what came back:
// on Node 20 its streaming path fails (TypeError: immutable), so streams
// are compared against direct only.
func portkeyStreamNote(ctx context.Context, c *http.Client, tg target, body []byte) string {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := c.Do(newRequest(rctx, tg, body))
	if err != nil {
		return "streaming request failed: " + err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode == http.StatusOK && bytes.Contains(b, []byte("data: [DONE]")) {
		return "streaming works"
	}
	return fmt.Sprintf("streaming answers HTTP %d %s", res.StatusCode, strings.TrimSpace(string(b)))
}

// readyz returns the service's outbox detail after the load.
func (e *env) readyz(ctx context.Context) string {
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.svcURL+"/readyz", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return "unreachable: " + err.Error()
		}
		var out struct {
			Outbox struct{ Ready, Pending, Dead int } `json:"outbox"`
		}
		json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		last = fmt.Sprintf("ready %d, pending %d, dead %d", out.Outbox.Ready, out.Outbox.Pending, out.Outbox.Dead)
		if out.Outbox.Ready == 0 && out.Outbox.Pending == 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	return last
}

// countLog counts the service's log lines and those at error level.
func countLog(path string) (lines, errs int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		lines++
		if bytes.Contains(l, []byte(`"level":"error"`)) {
			errs++
		}
	}
	return lines, errs
}
