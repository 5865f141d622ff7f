package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"llmmeter/internal/convextest"
)

// TestServiceKeys: `keys create -service -name chat-app` makes a service key
// owned by a user named after the service, and `keys list` shows the flag;
// a key cannot be both admin and service.
func TestServiceKeys(t *testing.T) { serviceKeys(t, map[string]string{"DATA_DIR": t.TempDir()}) }

// TestServiceKeysOnConvex: the same commands, with Convex configured, make
// and list the keys in the deployment (the local test backend), and never
// touch DATA_DIR.
func TestServiceKeysOnConvex(t *testing.T) {
	site, _, secret := convextest.Start(t)
	dir := filepath.Join(t.TempDir(), "unused")
	serviceKeys(t, map[string]string{"DATA_DIR": dir, "CONVEX_SITE_URL": site, "CONVEX_INGEST_SECRET": secret})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("DATA_DIR was touched: %v", err)
	}
}

func serviceKeys(t *testing.T, env map[string]string) {
	code, stdout, stderr := run(t, env, "keys", "create", "-service", "-name", "chat-app")
	if code != 0 || !strings.HasPrefix(stdout, "created service key ") || !strings.Contains(stdout, "for user chat-app") || !strings.Contains(stdout, "\nllm_") {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	if code, stdout, stderr = run(t, env, "keys", "create", "-user", "alice"); code != 0 {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	code, stdout, _ = run(t, env, "keys", "list")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) != 3 || !strings.Contains(lines[0], "SERVICE") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	// Columns: ID USER PREFIX NAME ADMIN SERVICE ...; Convex lists newest
	// first, the embedded store oldest first.
	byName := map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		byName[f[3]] = f
	}
	svc, user := byName["chat-app"], byName["alice"]
	if svc == nil || user == nil || svc[4] != "false" || svc[5] != "true" || user[4] != "false" || user[5] != "false" {
		t.Fatalf("keys list:\n%s", stdout)
	}
	for _, args := range [][]string{
		{"keys", "create", "-service"},                                       // nothing to name its user after
		{"keys", "create", "-service", "-admin", "-name", "x"},               // both
		{"keys", "create", "-service", "-admin", "-user", "a", "-name", "x"}, // both, with a user
	} {
		if code, stdout, stderr := run(t, env, args...); code != 1 || !strings.Contains(stderr, "keys create") {
			t.Errorf("%v: exit %d: %s%s", args, code, stdout, stderr)
		}
	}
}
