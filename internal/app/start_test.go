package app

import (
	"context"
	"io"
	"llmmeter/internal/logtest"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/convextest"
)

// openFDs counts this process's open file descriptors (Linux).
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(ents)
}

// TestFailedStartClosesEverything: Start's deferred cleanup called closeAll
// on the nil *App its `return nil, err` had just set, so every start error
// panicked. Now a start that fails early (LISTEN_ADDR taken) or late
// (PPROF_ADDR taken, after the stores, the simulator, the delivery loop and
// the jobs are up) returns an error naming the setting, and leaves no
// goroutine or file open: the same data directory starts again at once.
func TestFailedStartClosesEverything(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		name, flag, setting string
	}{
		{"early: gateway port taken", "-listen", "LISTEN_ADDR"},
		{"late: profiler port taken", "-pprof-addr", "PPROF_ADDR"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			vars := map[string]string{"JOBS_ENABLED": "true"}
			cfg := testConfig(t, vars)
			cfg.DataDir = dir
			// Warm up once so lazily started process-wide goroutines do not
			// count against the failed start.
			a, err := Start(context.Background(), cfg, zerolog.Nop(), Options{Stdout: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			a.Shutdown(context.Background())
			goroutines, fds := runtime.NumGoroutine(), openFDs(t)

			bad := cfg
			switch c.flag {
			case "-listen":
				bad.ListenAddr = busy.Addr().String()
			case "-pprof-addr":
				bad.PprofAddr = busy.Addr().String()
			}
			a, err = Start(context.Background(), bad, zerolog.Nop(), Options{Stdout: io.Discard})
			if err == nil || a != nil {
				t.Fatalf("start with %s taken: app %v, err %v", c.setting, a, err)
			}
			if !strings.HasPrefix(err.Error(), c.setting) {
				t.Errorf("error %q does not name %s", err, c.setting)
			}
			waitFor(t, func() bool { return runtime.NumGoroutine() <= goroutines && openFDs(t) <= fds })

			a, err = Start(context.Background(), cfg, zerolog.Nop(), Options{Stdout: io.Discard})
			if err != nil {
				t.Fatalf("the data directory does not start again: %v", err)
			}
			a.Shutdown(context.Background())
		})
	}
}

// TestStartsWhileConvexDown: Convex unreachable at start used to fail the
// start (and panic). Now the service serves, /readyz answers 503 until the
// store answers, and the admin-key bootstrap is retried in the background
// until it succeeds, printing the one-time key then.
func TestStartsWhileConvexDown(t *testing.T) {
	site, _, secret := convextest.Start(t)
	link := newFlakyLink(t, site)
	link.mode.Store(linkDown)
	cfg := testConfig(t, map[string]string{"CONVEX_URL": link.srv.URL, "CONVEX_SITE_URL": link.srv.URL, "CONVEX_INGEST_SECRET": secret})
	var out logtest.Buffer
	a, err := Start(context.Background(), cfg, zerolog.Nop(), Options{Stdout: &out, BootstrapMaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("start with Convex down: %v", err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	base := "http://" + a.Addr()
	if code, _ := readyz(t, base); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d while Convex is down, want 503", code)
	}
	if a.Bootstrapped() {
		t.Fatal("bootstrapped while Convex is down")
	}
	waitFor(t, func() bool { return link.faults.Load() >= 2 }) // the bootstrap is retried

	link.mode.Store(linkUp)
	waitFor(t, func() bool { code, _ := readyz(t, base); return code == http.StatusOK })
	waitFor(t, a.Bootstrapped)
	if !strings.Contains(out.String(), "llm_") {
		t.Fatalf("the one-time admin key was not printed: %q", out.String())
	}
}

// TestReadyzBoundedWhenStoreHangs: a store that does not answer at all gives
// a prompt 503, not a probe that hangs for the client's whole timeout.
func TestReadyzBoundedWhenStoreHangs(t *testing.T) {
	site, _, secret := convextest.Start(t)
	link := newFlakyLink(t, site)
	cfg := testConfig(t, map[string]string{"CONVEX_URL": link.srv.URL, "CONVEX_SITE_URL": link.srv.URL, "CONVEX_INGEST_SECRET": secret})
	a, err := Start(context.Background(), cfg, zerolog.Nop(), Options{Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	base := "http://" + a.Addr()
	waitFor(t, func() bool { code, _ := readyz(t, base); return code == http.StatusOK })
	link.mode.Store(linkSlow) // holds each request until the client gives up (15s)
	began := time.Now()
	if code, _ := readyz(t, base); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d while the store hangs, want 503", code)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("/readyz took %v while the store hangs", took)
	}
	link.mode.Store(linkUp) // let the shutdown drain
}

// TestPprofNeverServesCmdline: the profiler's command line printed secrets
// given as flags (-openrouter-api-key sk-or-…); it is 404 even on loopback,
// while the profiles stay.
func TestPprofNeverServesCmdline(t *testing.T) {
	cfg := testConfig(t, map[string]string{"PPROF_ADDR": "127.0.0.1:0"})
	a, err := Start(context.Background(), cfg, zerolog.Nop(), Options{Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	for _, c := range []struct {
		path string
		want int
	}{
		{"/debug/pprof/cmdline", 404},           // the reported leak
		{"/debug/pprof/cmdline?debug=1", 404},   // with a query
		{"/debug/pprof/", 200},                  // the index stays
		{"/debug/pprof/goroutine?debug=1", 200}, // and the profiles
	} {
		res, err := http.Get("http://" + a.PprofAddr() + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.path, res.StatusCode, c.want)
		}
		if strings.Contains(string(body), os.Args[0]) && c.want == 404 {
			t.Errorf("%s prints the command line", c.path)
		}
	}
}
