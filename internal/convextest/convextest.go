// Package convextest starts the project's local Convex test backend
// (convex/testbackend, a convex-test harness running the real functions)
// for Go tests, the way net/http/httptest starts a server.
//
// It needs Node.js and `npm ci` done in convex/; when node_modules is
// missing the test fails with a clear message instead of hanging.
package convextest

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Backend is a running test backend. Its one URL serves both the HTTP
// actions (as a deployment's .convex.site) and the HTTP API (.convex.cloud).
type Backend struct {
	URL    string
	Secret string // INGEST_SECRET the backend checks signatures with
	cmd    *exec.Cmd
}

// Dir is the convex/ folder of the repository.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "convex")
}

// Start runs a backend with a fresh random secret in the reporting time
// zone tz ("" means UTC) and stops it when the test ends.
func Start(t testing.TB, tz string) *Backend {
	t.Helper()
	dir := Dir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "convex-test")); err != nil {
		t.Fatalf("convextest: %s/node_modules is missing: run `npm ci` in convex/ (make test does)", dir)
	}
	var b [16]byte
	rand.Read(b[:])
	secret := hex.EncodeToString(b[:])
	if tz == "" {
		tz = "UTC"
	}
	cmd := exec.Command("node", "--import", "tsx", "testbackend/server.ts", "--port", "0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "INGEST_SECRET="+secret, "REPORTING_TZ="+tz)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = testWriter{t}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("convextest: start node: %v", err)
	}
	be := &Backend{Secret: secret, cmd: cmd}
	t.Cleanup(be.Stop)
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "testbackend listening on "); ok {
				ready <- u
			}
		}
	}()
	select {
	case be.URL = <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("convextest: the test backend did not report ready within 60s")
	}
	return be
}

// Stop kills the backend's process group; safe to call twice.
func (b *Backend) Stop() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	b.cmd.Wait()
	b.cmd = nil
}

// Reset wipes every table.
func (b *Backend) Reset(t testing.TB) {
	t.Helper()
	res, err := http.Post(b.URL+"/_harness/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("reset: %d", res.StatusCode)
	}
}

// Token is an identity for the harness: base64url JSON claims in a
// JWT-shaped string. The harness does not verify it (it is a test harness).
func Token(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + "."
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
