package main

import (
	"context"
	"llmmeter/internal/logtest"
	"llmmeter/internal/testaddr"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStartFailuresAreOneLine: each of these used to end in a Go panic
// (Start's cleanup dereferenced a nil *App). Now serve exits 1 with exactly
// one line on stderr that names the setting and the cause.
func TestStartFailuresAreOneLine(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		name string
		env  map[string]string
		want []string // in the line
	}{
		// A data directory that cannot be created.
		{"data dir", map[string]string{"DATA_DIR": "/proc/nope"}, []string{"DATA_DIR", "/proc/nope"}},
		// The gateway's port is taken.
		{"listen addr in use", map[string]string{"LISTEN_ADDR": busy.Addr().String()}, []string{"LISTEN_ADDR", busy.Addr().String(), "in use"}},
		// A CONVEX_URL that names no deployment at all.
		{"convex url not a url", map[string]string{"CONVEX_URL": "nothing", "CONVEX_SITE_URL": "https://x.convex.site", "CONVEX_INGEST_SECRET": "0123456789abcdef0123456789abcdef"}, []string{"CONVEX_URL", `"nothing"`}},
		// A guessable ingest secret: the service does not start on Convex.
		{"convex ingest secret too short", map[string]string{"CONVEX_URL": "https://x.convex.cloud", "CONVEX_SITE_URL": "https://x.convex.site", "CONVEX_INGEST_SECRET": "0123456789abcdef"}, []string{"CONVEX_INGEST_SECRET", "at least 32 bytes"}},
		// The profiler on every interface, not allowed.
		{"pprof remote", map[string]string{"PPROF_ADDR": "0.0.0.0:0"}, []string{"PPROF_ADDR", "PPROF_ALLOW_REMOTE"}},
		// The profiler's port is taken: this fails late in the start, after
		// the stores, the simulator and the delivery loop are up.
		{"pprof addr in use", map[string]string{"PPROF_ADDR": busy.Addr().String()}, []string{"PPROF_ADDR", "in use"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"DATA_DIR": t.TempDir(), "LISTEN_ADDR": "127.0.0.1:0", "JOBS_ENABLED": "false", "LOG_LEVEL": "error"}
			for k, v := range c.env {
				env[k] = v
			}
			var stdout, stderr logtest.Buffer
			code := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, &stdout, &stderr)
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if code != 1 || len(lines) != 1 {
				t.Fatalf("exit %d, stderr %q: want exit 1 and one line", code, stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("line %q does not say %q", lines[0], w)
				}
			}
			if strings.Contains(lines[0], "goroutine") || strings.Contains(lines[0], "panic") {
				t.Errorf("a stack trace: %q", lines[0])
			}
		})
	}
}

// TestServesWhileConvexUnreachable: a CONVEX_URL where nothing answers
// (yet) used to panic at start; now the service serves, /readyz says 503,
// and it shuts down cleanly.
func TestServesWhileConvexUnreachable(t *testing.T) {
	nothing := "http://" + testaddr.Reserve(t) // refuses connections for the whole test
	addr := testaddr.Reserve(t)                // the service listens there
	env := map[string]string{"DATA_DIR": t.TempDir(), "LISTEN_ADDR": addr, "JOBS_ENABLED": "false",
		"CONVEX_URL": nothing, "CONVEX_SITE_URL": nothing, "CONVEX_INGEST_SECRET": "0123456789abcdef0123456789abcdef"}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr logtest.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, &stdout, &stderr) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("/readyz %d while Convex is unreachable, want 503", res.StatusCode)
			}
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("never served: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after shutdown: %s", code, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no shutdown")
	}
}
