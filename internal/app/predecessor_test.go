package app

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"llmmeter/internal/quotalease"
	"llmmeter/openrouter/openroutertest"
)

// TestKilledRunsLeasesAreReleasedAtRestart: a run killed with SIGKILL
// leaves its quota leases, held minutes past their TTL; the next run on
// the same data directory releases them once the killed run's calls are
// delivered, within seconds rather than at the end of the hold. Before,
// the system budget's lease stayed held until it lapsed (2.5 minutes).
func TestKilledRunsLeasesAreReleasedAtRestart(t *testing.T) {
	sim := openroutertest.NewServer(openroutertest.Options{APIKey: "sk-or-v1-test", AnswerTokens: 10})
	defer sim.Close()
	dataDir := t.TempDir()
	env := []string{"JOBS_ENABLED=false", "DATA_DIR=" + dataDir, "OPENROUTER_API_KEY=sk-or-v1-test", "OPENROUTER_BASE_URL=" + sim.URL}
	bin := buildBinary(t)
	svc := runService(t, bin, env)
	var key string
	select {
	case key = <-svc.key:
	case <-time.After(60 * time.Second):
		t.Fatal("no admin key printed in 60s")
	}
	post := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest("POST", svc.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || strings.Contains(string(b), `"status":"error"`) {
			t.Fatalf("%s: %d %s", path, res.StatusCode, b)
		}
	}
	// Every call leases the system budget.
	post("/api/mutation", `{"path":"llmmeter:setQuota","args":{"quotaType":"system_monthly_cost_usd","limit":1000},"format":"json"}`)
	for i := range 5 {
		post("/v1/chat/completions", chatBody(i%2 == 0, fmt.Sprint("call ", i)))
	}
	b, err := os.ReadFile(filepath.Join(dataDir, quotalease.HolderFile))
	if err != nil {
		t.Fatal(err)
	}
	killed := strings.TrimSpace(string(b))
	db, err := sql.Open("sqlite", filepath.Join(dataDir, StoreFile)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	leases := func() int {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM quotaLeases WHERE holder = ?`, killed).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if leases() != 1 {
		t.Fatalf("the run to kill holds %d leases of the system budget, want 1", leases())
	}
	svc.kill()

	runService(t, bin, env)
	deadline := time.Now().Add(60 * time.Second) // the hold ends 2.5 minutes after the last renewal
	for leases() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the killed run's lease is still held 60 s after the restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
