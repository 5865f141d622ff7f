package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"llmmeter/convexclient"
	"llmmeter/internal/app"
	"llmmeter/internal/convextest"
	"llmmeter/internal/store"
	"llmmeter/internal/store/convexstore"
	"llmmeter/internal/store/sqlitestore"
	"llmmeter/internal/testaddr"
	"llmmeter/jobs"
	"llmmeter/openrouter/openroutertest"
)

// binPath is the llmmeter binary, built once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "llmmeter-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "llmmeter")
	out, err := exec.Command("go", "build", "-o", binPath, "llmmeter/cmd/llmmeter").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "faults: go build ./cmd/llmmeter: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const simKey = "sk-or-v1-faults"

// waitUntil polls cond every 20ms until it holds or d passes.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// proc is a child process; it dies with the test binary (Pdeathsig).
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func startProc(t *testing.T, env []string, stdout, stderr io.Writer, args ...string) (*proc, error) {
	cmd := exec.Command(binPath, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.signal(syscall.SIGKILL); <-p.exited })
	return p, nil
}

func (p *proc) signal(s syscall.Signal) { _ = p.cmd.Process.Signal(s) }

func (p *proc) dead() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// sim is `llmmeter simulate` as its own process.
type sim struct {
	base string // http://127.0.0.1:port
}

func startSim(t *testing.T, faultRate float64, genDelay time.Duration) *sim {
	t.Helper()
	addr := testaddr.Reserve(t)
	logf, err := os.Create(filepath.Join(t.TempDir(), "simulator.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	_, err = startProc(t, os.Environ(), logf, logf, "simulate", "-listen", addr, "-ttft", "0", "-tps", "0",
		"-answer-tokens", "10", "-generation-delay", genDelay.String(), "-api-key", simKey,
		"-fault-rate", strconv.FormatFloat(faultRate, 'f', -1, 64))
	if err != nil {
		t.Fatal(err)
	}
	s := &sim{base: "http://" + addr}
	if !waitUntil(30*time.Second, func() bool { _, err := s.ledger(); return err == nil }) {
		t.Fatal("simulator did not answer GET /_ledger within 30s")
	}
	return s
}

func (s *sim) ledger() (openroutertest.LedgerJSON, error) {
	var l openroutertest.LedgerJSON
	res, err := http.Get(s.base + openroutertest.LedgerPath)
	if err != nil {
		return l, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return l, fmt.Errorf("GET /_ledger: %d", res.StatusCode)
	}
	return l, json.NewDecoder(res.Body).Decode(&l)
}

// settled waits until no generation is in flight and returns the ledger.
func (s *sim) settled(t *testing.T) []openroutertest.LedgerGeneration {
	t.Helper()
	var l openroutertest.LedgerJSON
	var err error
	if !waitUntil(60*time.Second, func() bool { l, err = s.ledger(); return err == nil && l.InFlight == 0 }) {
		t.Fatalf("simulator ledger not settled in 60s: %d in flight, %v", l.InFlight, err)
	}
	return l.Generations
}

// service is `llmmeter serve` as its own process, restartable on the same
// address and DATA_DIR.
type service struct {
	t       *testing.T
	addr    string
	env     []string
	logPath string

	mu     sync.Mutex
	p      *proc
	up     chan struct{} // closed while the service is up
	key    string        // the bootstrap admin key, from the first start
	starts int
	failed int // starts that exited or never answered /healthz
}

func newService(t *testing.T, env []string) *service {
	logDir := t.TempDir()
	if d := os.Getenv("FAULTS_LOGS"); d != "" { // keep the service logs for a look afterwards
		logDir = filepath.Join(d, strings.ReplaceAll(t.Name(), "/", "_"))
		os.MkdirAll(logDir, 0o755)
	}
	// The address stays reserved: the service restarts on it after each kill.
	s := &service{t: t, addr: testaddr.Reserve(t), logPath: filepath.Join(logDir, "service.log"), up: make(chan struct{})}
	s.env = append(os.Environ(), "LISTEN_ADDR="+s.addr, "APP_ENV=development", "LOG_LEVEL=info", "JOBS_ENABLED=false",
		"OPENROUTER_API_KEY="+simKey, "CLERK_ISSUER=", "PPROF_ADDR=", "PORTAL_DIR="+filepath.Join(t.TempDir(), "noportal"),
		// The Convex test backend, busy with a scenario's calls, may take more
		// than the default 2 s to look a key up; an outage is refused at once.
		"AUTH_CHECK_TIMEOUT=2m")
	s.env = append(s.env, env...)
	return s
}

func (s *service) base() string { return "http://" + s.addr }

// start runs the service and waits (60s at most) for /healthz; it returns
// an error if the process exits first or never answers.
func (s *service) start() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	p, err := startProc(s.t, s.env, pw, logf, "serve")
	if err != nil {
		logf.Close()
		return err
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if k := strings.TrimSpace(sc.Text()); strings.HasPrefix(k, "llm_") {
				s.mu.Lock()
				if s.key == "" {
					s.key = k
				}
				s.mu.Unlock()
			}
		}
	}()
	go func() { <-p.exited; pw.Close(); logf.Close() }()
	s.mu.Lock()
	s.p = p
	s.starts++
	s.mu.Unlock()
	ok := waitUntil(60*time.Second, func() bool {
		if p.dead() {
			return true
		}
		res, err := http.Get(s.base() + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	if !ok || p.dead() {
		p.signal(syscall.SIGKILL)
		<-p.exited
		s.mu.Lock()
		s.failed++
		s.mu.Unlock()
		return fmt.Errorf("service start %d failed (exit %v)", s.starts, p.cmd.ProcessState)
	}
	s.mu.Lock()
	close(s.up)
	s.mu.Unlock()
	return nil
}

// mustStart starts the service or fails the test.
func (s *service) mustStart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("%v\n%s", err, s.logTail())
	}
}

// down marks the service down for the drivers; they wait for the next start.
func (s *service) down() *proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.up:
		s.up = make(chan struct{})
	default:
	}
	return s.p
}

// kill sends SIGKILL and waits for the process to go.
func (s *service) kill() {
	p := s.down()
	p.signal(syscall.SIGKILL)
	<-p.exited
}

// terminate sends SIGTERM and waits up to d for the exit.
func (s *service) terminate(d time.Duration) bool {
	p := s.down()
	p.signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return true
	case <-time.After(d):
		p.signal(syscall.SIGKILL)
		<-p.exited
		return false
	}
}

func (s *service) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p != nil && !s.p.dead()
}

// waitUp blocks until the service is up or ctx ends.
func (s *service) waitUp(ctx context.Context) bool {
	s.mu.Lock()
	up := s.up
	s.mu.Unlock()
	select {
	case <-up:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *service) adminKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key
}

// outbox reads the outbox counts from /readyz.
func (s *service) outbox() (ready, pending int, ok bool) {
	res, err := http.Get(s.base() + "/readyz")
	if err != nil {
		return 0, 0, false
	}
	defer res.Body.Close()
	var v struct {
		Outbox *struct{ Ready, Pending, Stalled int } `json:"outbox"`
	}
	if json.NewDecoder(res.Body).Decode(&v) != nil || v.Outbox == nil {
		return 0, 0, false
	}
	// Stalled entries wait in memory for the disk: still to be written.
	return v.Outbox.Ready, v.Outbox.Pending + v.Outbox.Stalled, true
}

// settle waits up to d for an empty outbox; it reports whether it emptied.
func (s *service) settle(d time.Duration) bool {
	return waitUntil(d, func() bool { r, p, ok := s.outbox(); return ok && r == 0 && p == 0 })
}

func (s *service) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// panics counts "panic" lines in the service's log (all starts).
func (s *service) panics() int {
	b, _ := os.ReadFile(s.logPath)
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "panic:") || strings.Contains(l, `"panic"`) {
			n++
		}
	}
	return n
}

// spec is one call to make.
type spec struct {
	id     string
	shape  string
	stream bool
	text   string
	key    string // "" = the service's admin key
}

// shape is a kind of call: streaming or plain, fast or stalled.
type shape struct {
	name   string
	stream bool
	dir    string // simulator directives
}

var (
	fastStream    = shape{"stream-fast", true, "[sim:tokens n=8]"}
	fastPlain     = shape{"plain-fast", false, "[sim:tokens n=8]"}
	stalledStream = shape{"stream-stalled", true, "[sim:tokens n=8] [sim:stall after=3 ms=%d]"}
	stalledPlain  = shape{"plain-stalled", false, "[sim:tokens n=8] [sim:stall after=3 ms=%d]"}
	mixed         = []shape{fastStream, fastPlain, stalledStream, stalledPlain}
)

// specs makes n calls of the given shapes, drawn at random; stalls last
// stall.
func specs(prefix string, n int, shapes []shape, stall time.Duration) []spec {
	out := make([]spec, n)
	for i := range out {
		sh := shapes[rand.IntN(len(shapes))]
		dir := sh.dir
		if strings.Contains(dir, "%d") {
			dir = fmt.Sprintf(dir, stall.Milliseconds())
		}
		id := fmt.Sprintf("%s-%d", prefix, i)
		out[i] = spec{id: id, shape: sh.name, stream: sh.stream, text: "call " + id + " " + dir}
	}
	return out
}

// driver makes calls with bounded concurrency, waiting while the service
// is down; pace spaces the starts (0: as fast as the workers go).
type driver struct {
	svc     *service
	conc    int
	pace    time.Duration
	started atomic.Int64
	client  *http.Client
}

func newDriver(svc *service, conc int, pace time.Duration) *driver {
	return &driver{svc: svc, conc: conc, pace: pace,
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
}

// run makes every call in sp and returns what each client saw, in order.
func (d *driver) run(ctx context.Context, sp []spec) []Call {
	out := make([]Call, len(sp))
	next := make(chan int)
	var wg sync.WaitGroup
	for range d.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = d.call(ctx, sp[i])
			}
		}()
	}
	for i := range sp {
		if !d.svc.waitUp(ctx) {
			out[i] = Call{ID: sp[i].id, Shape: sp[i].shape, Stream: sp[i].stream}
			continue
		}
		d.started.Add(1)
		next <- i
		if d.pace > 0 {
			time.Sleep(d.pace)
		}
	}
	close(next)
	wg.Wait()
	return out
}

// call makes one chat completion and reads all of the answer.
func (d *driver) call(ctx context.Context, sp spec) Call {
	c := Call{ID: sp.id, Shape: sp.shape, Stream: sp.stream}
	body, _ := json.Marshal(map[string]any{
		"model": "openai/gpt-4o-mini", "stream": sp.stream, "message_id": sp.id,
		"messages": []any{map[string]any{"role": "user", "content": sp.text}},
	})
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.svc.base()+"/v1/chat/completions", bytes.NewReader(body))
	key := sp.key
	if key == "" {
		key = d.svc.adminKey()
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := d.client.Do(req)
	if err != nil {
		return c
	}
	defer res.Body.Close()
	c.Status, c.RequestID, c.GenerationID = res.StatusCode, res.Header.Get("X-Request-Id"), res.Header.Get("X-Generation-Id")
	if res.StatusCode != 200 {
		b, err := io.ReadAll(res.Body)
		var e struct {
			Error struct {
				Code json.RawMessage `json:"code"`
			} `json:"error"`
		}
		if err != nil {
			c.Cut = true
		} else if json.Unmarshal(b, &e) == nil {
			c.Complete, c.ErrorCode = true, codeText(e.Error.Code)
		}
		return c
	}
	if !sp.stream {
		b, err := io.ReadAll(res.Body)
		var v struct {
			ID      string `json:"id"`
			Choices []struct {
				FinishReason string `json:"finish_reason"`
				Error        *struct {
					Code json.RawMessage `json:"code"`
				} `json:"error"`
			} `json:"choices"`
		}
		if err != nil || json.Unmarshal(b, &v) != nil {
			c.Cut = true
			return c
		}
		c.Complete = true
		if c.GenerationID == "" {
			c.GenerationID = v.ID
		}
		if len(v.Choices) > 0 && (v.Choices[0].FinishReason == "error" || v.Choices[0].Error != nil) {
			c.InBodyError = "error"
			if v.Choices[0].Error != nil {
				c.InBodyError = codeText(v.Choices[0].Error.Code)
			}
		}
		return c
	}
	br := bufio.NewReader(res.Body)
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			if data == "[DONE]" {
				c.Complete = true
				return c
			}
			var ev struct {
				ID    string `json:"id"`
				Error *struct {
					Code json.RawMessage `json:"code"`
				} `json:"error"`
			}
			if json.Unmarshal([]byte(data), &ev) == nil {
				if c.GenerationID == "" {
					c.GenerationID = ev.ID
				}
				if ev.Error != nil {
					c.InBodyError = codeText(ev.Error.Code)
				}
			}
		}
		if err != nil {
			// A stream that ended on an error chunk ended as designed.
			c.Cut = c.InBodyError == "" || !errors.Is(err, io.EOF)
			return c
		}
	}
}

func codeText(raw json.RawMessage) string {
	s := strings.Trim(string(raw), `"`)
	if s == "null" {
		return ""
	}
	return s
}

// backend is a running Convex test backend.
type backend struct{ site, secret string }

func (b backend) client(t *testing.T) *convexclient.Client {
	cc, err := convexclient.New(convexclient.Config{URL: b.site, SiteURL: b.site, Secret: b.secret, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// rawRows reads every usage row and request log with jobs.Store.RawPage.
func rawRows(t *testing.T, st jobs.Store) ([]store.Usage, []store.RequestLog) {
	t.Helper()
	ctx := context.Background()
	to := time.Now().Add(48 * time.Hour).UnixMilli()
	var usage []store.Usage
	var logs []store.RequestLog
	for _, kind := range []jobs.RawKind{jobs.RawUsage, jobs.RawRequestLogs} {
		cursor := ""
		for {
			pg, err := st.RawPage(ctx, kind, 0, to, cursor, 200)
			if err != nil {
				t.Fatalf("read %s: %v", kind, err)
			}
			usage, logs = append(usage, pg.Usage...), append(logs, pg.RequestLogs...)
			if pg.Next == "" {
				break
			}
			cursor = pg.Next
		}
	}
	return usage, logs
}

// window is the llmmeter:overview window: the run, in whole hours.
func window(start time.Time) map[string]int64 {
	from := start.Add(-time.Hour).UnixMilli()
	return map[string]int64{"from": from - from%3600_000, "to": time.Now().Add(2 * time.Hour).UnixMilli()}
}

func totalsOf(t *testing.T, v any) Totals {
	t.Helper()
	b, _ := json.Marshal(v)
	var o struct {
		Requests, Failed, TotalTokens, CostNanoUsd int64
	}
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("llmmeter:overview: %v: %s", err, b)
	}
	return Totals(o)
}

// sqliteRows opens the embedded store in dataDir (the service stopped).
func sqliteRows(t *testing.T, dataDir string, start time.Time) ([]store.Usage, []store.RequestLog, Totals) {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(dataDir, app.StoreFile), time.UTC)
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	defer st.Close()
	usage, logs := rawRows(t, st)
	args, _ := json.Marshal(window(start))
	v, err := st.Call(context.Background(), "query", "llmmeter:overview", args, store.Caller{Authenticated: true, IsAdmin: true})
	if err != nil {
		t.Fatalf("llmmeter:overview: %v", err)
	}
	return usage, logs, totalsOf(t, v)
}

// convexRows reads the Convex test backend.
func convexRows(t *testing.T, be backend, start time.Time) ([]store.Usage, []store.RequestLog, Totals) {
	t.Helper()
	convextest.Fold(t, be.site, be.secret, nil) // what the fold job does within seconds
	cc := be.client(t)
	usage, logs := rawRows(t, convexstore.New(cc))
	var ov map[string]any
	admin := convexclient.WithAuth(convextest.Token(`{"sub":"faults","iss":"https://clerk.test","role":"admin"}`))
	if err := cc.Query(context.Background(), "llmmeter:overview", window(start), &ov, admin); err != nil {
		t.Fatalf("llmmeter:overview: %v", err)
	}
	return usage, logs, totalsOf(t, ov)
}
