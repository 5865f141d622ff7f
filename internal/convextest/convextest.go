// Package convextest starts the project's local Convex test backend
// (backend/server.ts: the real Convex functions of convex/ loaded into
// convex-test, served on 127.0.0.1) for Go tests, and stops it when the
// test ends.
//
// It needs node and `npm ci` done at the repository root; without node_modules the test
// fails with a message saying so (set LLMMETER_SKIP_CONVEX=1 to skip such
// tests instead). The backend serves the signed HTTP action routes and
// Convex's /api/query|mutation|action on the same address, one request at
// a time; Reset wipes its data.
//
// It is a test helper: it imports testing and must not be used by
// production code.
package convextest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options tune StartWith.
type Options struct {
	// TZ is the backend's REPORTING_TZ; default "UTC".
	TZ string
	// Secret is its INGEST_SECRET; default a random one.
	Secret string
	// StartTimeout bounds the wait for the ready line; default 5 minutes.
	StartTimeout time.Duration
	// FunctionsDir is the Convex app to serve, relative to the repository
	// root; default "convex" (this repository's app).
	FunctionsDir string
}

// readyPrefix is what server.ts prints once it listens.
const readyPrefix = "testbackend listening on "

// Start starts a backend with the default options and returns its site
// URL (HTTP actions), its API URL (/api/query …; the same address) and the
// ingest secret.
func Start(t testing.TB) (siteURL, apiURL, secret string) {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a backend with opt.
func StartWith(t testing.TB, opt Options) (siteURL, apiURL, secret string) {
	t.Helper()
	if os.Getenv("LLMMETER_SKIP_CONVEX") != "" {
		t.Skip("LLMMETER_SKIP_CONVEX is set")
	}
	if opt.TZ == "" {
		opt.TZ = "UTC"
	}
	if opt.Secret == "" {
		var b [16]byte
		rand.Read(b[:])
		opt.Secret = "test-" + hex.EncodeToString(b[:])
	}
	if opt.StartTimeout <= 0 {
		// Only a bound on a hang: node compiles the functions with tsx
		// before it listens, which took over 60 s beside two CPU burners
		// on a shared 2-core machine (load 50).
		opt.StartTimeout = 5 * time.Minute
	}
	dir, err := RootDir()
	if err != nil {
		t.Fatalf("convextest: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "convex-test")); err != nil {
		t.Fatalf("convextest: %s has no node_modules/convex-test: run `npm ci` there first (or set LLMMETER_SKIP_CONVEX=1 to skip)", dir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("convextest: node is not on PATH (Node >= 20.19 is needed to run the Convex test backend)")
	}
	args := []string{"--import", "tsx", serverPath, "--port", "0"}
	if opt.FunctionsDir != "" {
		args = append(args, "--functions", opt.FunctionsDir)
	}
	cmd := exec.Command(node, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "INGEST_SECRET="+opt.Secret, "REPORTING_TZ="+opt.TZ, "PORT=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // one group: tsx may fork
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("convextest: %v", err)
	}
	var stderr tail
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("convextest: start node: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { stop(cmd, exited) })

	ready := make(chan string, 1)
	var out tail
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() { // keep draining so the backend never blocks on stdout
			line := sc.Text()
			out.Write([]byte(line + "\n"))
			if !sent && strings.HasPrefix(line, readyPrefix) {
				ready <- strings.TrimSpace(strings.TrimPrefix(line, readyPrefix))
				sent = true
			}
		}
	}()
	select {
	case base := <-ready:
		if !strings.HasPrefix(base, "http://127.0.0.1:") {
			t.Fatalf("convextest: unexpected address %q", base)
		}
		return base, base, opt.Secret
	case <-exited:
		t.Fatalf("convextest: backend exited before it was ready\nstdout:\n%s\nstderr:\n%s", out.String(), stderr.String())
	case <-time.After(opt.StartTimeout):
		t.Fatalf("convextest: backend not ready after %s\nstdout:\n%s\nstderr:\n%s", opt.StartTimeout, out.String(), stderr.String())
	}
	return "", "", ""
}

// stop sends SIGTERM to the process group, then SIGKILL after 5s.
func stop(cmd *exec.Cmd, exited <-chan struct{}) {
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // stragglers of the group, if any
}

// Reset wipes the backend's data (POST /_harness/reset).
func Reset(t testing.TB, siteURL string) {
	t.Helper()
	harnessPost(t, siteURL+"/_harness/reset", nil)
}

func harnessPost(t testing.TB, url string, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("convextest: %s: %v", url, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("convextest: %s: HTTP %d", url, res.StatusCode)
	}
}

// SetClock pins the backend's clock (what Date.now answers to its
// functions) at ms (POST /_harness/clock); Reset returns it to real time.
// A client signing requests to it must sign at the same time
// (convexclient.Config.Now): the routes refuse a skewed signature.
func SetClock(t testing.TB, siteURL string, ms int64) {
	t.Helper()
	body, _ := json.Marshal(map[string]int64{"now": ms})
	harnessPost(t, siteURL+"/_harness/clock", body)
}

// SetEnv sets environment variables of the backend's functions (POST
// /_harness/env), as `npx convex env set` does on a deployment.
func SetEnv(t testing.TB, siteURL string, vars map[string]string) {
	t.Helper()
	body, _ := json.Marshal(vars)
	harnessPost(t, siteURL+"/_harness/env", body)
}

// serverPath is the test backend's entry, relative to the repository root
// (the backend runs with the root as its working directory, where
// node_modules and package.json are).
const serverPath = "internal/convextest/backend/server.ts"

// RootDir finds the repository root: the directory of go.mod above the
// working directory, which holds package.json, node_modules and convex/.
func RootDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, serverPath)); err != nil {
				return "", fmt.Errorf("no %s next to %s", serverPath, filepath.Join(dir, "go.mod"))
			}
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// tail keeps the last 8 KiB written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > 8<<10 {
		w.buf = w.buf[len(w.buf)-8<<10:]
	}
	return len(p), nil
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
