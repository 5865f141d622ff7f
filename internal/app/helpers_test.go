package app

import (
	"context"
	"testing"

	"llmmeter/internal/auth"
	"llmmeter/internal/config"
	"llmmeter/internal/store"
)

func userInput(name string) store.EnsureUserInput { return store.EnsureUserInput{ExternalID: name} }

func issueKey(t *testing.T, a *App, userID string) string {
	t.Helper()
	key, _, err := auth.IssueKey(context.Background(), a.Store, userID, "test", false)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// backend is a running Convex test backend: one URL serves the HTTP actions
// and the HTTP API.
type backend struct{ URL, Secret string }

// testConfig is the config of a service under test: loopback on a free
// port, a fresh data directory, the scheduler off (the jobs have tests of
// their own, and would share the single-threaded Convex test backend), and
// env on top.
func testConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	// A generous quota check: on a busy machine a 2 s check times out and
	// the call is served unchecked, which quota tests would count as a leak.
	// Likewise a generous key look-up: the one-request-at-a-time Convex test
	// backend, queued behind a burst, can take longer than 2 s to answer a
	// key's first look-up, which would be a 503.
	vars := map[string]string{"JOBS_ENABLED": "false", "QUOTA_CHECK_TIMEOUT": "30s", "AUTH_CHECK_TIMEOUT": "2m"}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load([]string{"-listen", "127.0.0.1:0", "-data-dir", t.TempDir()}, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
