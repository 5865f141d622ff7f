package cli

import (
	"strings"
	"testing"
)

// TestServiceKeys: `keys create -service -name chat-app` makes a service key
// owned by a user named after the service, and `keys list` shows the flag;
// a key cannot be both admin and service.
func TestServiceKeys(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir()}
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
	// Columns: ID USER PREFIX NAME ADMIN SERVICE ...; alice's key has no name.
	svc, user := strings.Fields(lines[1]), strings.Fields(lines[2])
	if svc[3] != "chat-app" || svc[4] != "false" || svc[5] != "true" || user[3] != "false" || user[4] != "false" {
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
