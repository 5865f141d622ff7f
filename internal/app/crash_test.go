package app

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"llmmeter/internal/convextest"
	"llmmeter/internal/money"
	"llmmeter/internal/testaddr"
	"llmmeter/openrouter/openroutertest"
)

// service is the llmmeter binary running as its own process.
type service struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	key  chan string
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "llmmeter")
	out, err := exec.Command("go", "build", "-o", bin, "llmmeter/cmd/llmmeter").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runService(t *testing.T, bin string, env []string) *service {
	t.Helper()
	addr := testaddr.Reserve(t)
	cmd := exec.Command(bin, "serve", "-listen", addr)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = io.Discard
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &service{t: t, cmd: cmd, base: "http://" + addr, key: make(chan string, 1)}
	t.Cleanup(func() { s.kill() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if k := strings.TrimSpace(sc.Text()); strings.HasPrefix(k, "llm_") {
				s.key <- k
			}
		}
	}()
	waitFor(t, func() bool {
		res, err := http.Get(s.base + "/readyz")
		if err == nil {
			res.Body.Close()
		}
		return err == nil && res.StatusCode == 200
	})
	return s
}

func (s *service) kill() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.cmd.Wait()
	}
}

func (s *service) outbox() (ready, pending int) {
	res, err := http.Get(s.base + "/readyz")
	if err != nil {
		return -1, -1
	}
	defer res.Body.Close()
	var v struct {
		Outbox struct{ Ready, Pending int } `json:"outbox"`
	}
	json.NewDecoder(res.Body).Decode(&v)
	return v.Outbox.Ready, v.Outbox.Pending
}

// TestCrashRecoveryAfterSIGKILL kills the service with SIGKILL while streams
// and plain calls are open, restarts it on the same data directory, and
// finds in Convex exactly the simulator's ledger: the cut calls are
// completed from OpenRouter's generation records. Plain calls used to be
// lost here: their generation id came only with the finished body; now the
// gateway streams them upstream and leaves an in-flight entry at once.
func TestCrashRecoveryAfterSIGKILL(t *testing.T) {
	site, _, secret := convextest.Start(t)
	be := backend{URL: site, Secret: secret}
	crashAndRecover(t, []string{"CONVEX_URL=" + be.URL, "CONVEX_SITE_URL=" + be.URL, "CONVEX_INGEST_SECRET=" + be.Secret},
		func(string) (int64, int64, int64, money.Nanos) { return convexTotals(t, be) })
}

// TestCrashRecoveryAfterSIGKILLEmbedded is the same on the embedded store.
func TestCrashRecoveryAfterSIGKILLEmbedded(t *testing.T) {
	crashAndRecover(t, nil, func(dataDir string) (requests, failed, tokens int64, cost money.Nanos) {
		db, err := sql.Open("sqlite", filepath.Join(dataDir, StoreFile)+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRow(`SELECT count(*), coalesce(sum(status = 'error'), 0) FROM requestLogs`).Scan(&requests, &failed); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT coalesce(sum(promptTokens + completionTokens), 0), coalesce(sum(costNanoUsd), 0) FROM usageTracking`).Scan(&tokens, &cost); err != nil {
			t.Fatal(err)
		}
		return
	})
}

// crashAndRecover runs the service as a process on storeEnv, finishes some
// calls, kills it with calls open (half streamed, half plain), restarts it
// on the same data directory and compares totals(dataDir) with the ledger.
func crashAndRecover(t *testing.T, storeEnv []string, totals func(dataDir string) (requests, failed, tokens int64, cost money.Nanos)) {
	sim := openroutertest.NewServer(openroutertest.Options{APIKey: "sk-or-v1-test", AnswerTokens: 10, GenerationDelay: 100 * time.Millisecond})
	defer sim.Close()
	dataDir := t.TempDir()
	// A generous key look-up (see testConfig): the test backend may be slow.
	env := append([]string{"JOBS_ENABLED=false", "DATA_DIR=" + dataDir, "OPENROUTER_API_KEY=sk-or-v1-test", "OPENROUTER_BASE_URL=" + sim.URL,
		"AUTH_CHECK_TIMEOUT=2m"}, storeEnv...)
	bin := buildBinary(t)
	svc := runService(t, bin, env)
	var key string
	select {
	case key = <-svc.key: // the bootstrap runs in the background on Convex
	case <-time.After(60 * time.Second):
		t.Fatal("no admin key printed in 60s")
	}

	post := func(base, text string, stream bool) (int, error) {
		req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(chatBody(stream, text)))
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		_, err = io.ReadAll(res.Body)
		return res.StatusCode, err
	}
	const done, cut = 20, 10 // each half streamed, half plain
	for i := range done {
		if code, err := post(svc.base, fmt.Sprint("finished ", i), i%2 == 0); err != nil || code != 200 {
			t.Fatalf("request %d: %d %v", i, code, err)
		}
	}
	var wg sync.WaitGroup
	for i := range cut {
		wg.Add(1)
		go func() {
			defer wg.Done()
			post(svc.base, fmt.Sprintf("cut %d [sim:stall after=3]", i), i%2 == 0) // fails when the service dies
		}()
	}
	// Every cut call is open and has left its in-flight entry.
	waitFor(t, func() bool { _, p := svc.outbox(); return p == cut })
	svc.kill()
	wg.Wait()

	svc = runService(t, bin, env)
	waitFor(t, func() bool { r, p := svc.outbox(); return r == 0 && p == 0 })

	gens, tokens, cost := ledgerTotals(sim.Simulator)
	reqs, failed, gotTokens, gotCost := totals(dataDir)
	t.Logf("SIGKILL with %d open calls: ledger %d generations $%s %d tokens; store %d requests (%d failed) $%s %d tokens",
		cut, gens, cost, tokens, reqs, failed, gotCost, gotTokens)
	if gens != done+cut || reqs != done+cut || failed != cut || gotCost != cost || gotTokens != tokens {
		t.Fatal("the store does not hold exactly the ledger after the crash")
	}
}
