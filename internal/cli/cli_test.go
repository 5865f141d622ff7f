package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"llmmeter/internal/app"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
	"llmmeter/openrouter/openroutertest"
)

// run runs the CLI with env as its whole environment.
func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestFreshDataDirIsCreated: demo and keys create failed with "unable to
// open database file (14)" while DATA_DIR did not exist yet; the CLI now
// creates it (0750), as the service does.
func TestFreshDataDirIsCreated(t *testing.T) {
	for _, args := range [][]string{
		{"keys", "create", "-user", "alice"},                                   // the first key on a fresh machine
		{"demo", "-users", "3", "-requests", "30", "-days", "2", "-seed", "7"}, // the demo data
	} {
		t.Run(args[0], func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "not", "yet")
			code, stdout, stderr := run(t, map[string]string{"DATA_DIR": dir}, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s%s", code, stdout, stderr)
			}
			st, err := os.Stat(dir)
			if err != nil || st.Mode().Perm() != 0o750 {
				t.Fatalf("DATA_DIR %v, %v: want a 0750 directory", st, err)
			}
		})
	}
}

// TestJobsListAndRunBackfill: `jobs run backfill` printed a 1970 row and
// then `unknown job: "backfill"` (the CLI built the jobs without OpenRouter,
// so the backfill was never registered, and the zero Run was printed before
// the error). Now every job is listed, the backfill runs when
// OPENROUTER_API_KEY is set, and says plainly what it needs when not.
func TestJobsListAndRunBackfill(t *testing.T) {
	sim := openroutertest.NewServer(openroutertest.Options{APIKey: "sk-or-v1-test"})
	defer sim.Close()
	dir := t.TempDir()
	noKey := map[string]string{"DATA_DIR": dir}
	if code, _, stderr := run(t, noKey, "keys", "create", "-user", "ops"); code != 0 { // the store, as the service's first start makes it
		t.Fatal(stderr)
	}
	withKey := map[string]string{"DATA_DIR": dir, "OPENROUTER_API_KEY": "sk-or-v1-test", "OPENROUTER_BASE_URL": sim.URL}
	every := []string{"alerts", "backfill", "fold", "forecast", "health", "quota_reset", "report_daily", "report_retry", "report_weekly"}

	for _, c := range []struct {
		name      string
		env       map[string]string
		args      []string
		code      int
		stdoutHas []string
		stderrHas []string
	}{
		// Without a key every job is still listed; the backfill says why it is off.
		{"list without key", noKey, []string{"jobs", "list"}, 0, append([]string{"off: needs OPENROUTER_API_KEY"}, every...), nil},
		// With a key the backfill has its schedule.
		{"list with key", withKey, []string{"jobs", "list"}, 0, append([]string{"*/10 * * * *"}, every...), nil},
		// Without a key: a plain reason, no row.
		{"run backfill without key", noKey, []string{"jobs", "run", "backfill"}, 1, nil, []string{"backfill", "OPENROUTER_API_KEY"}},
		// With a key it runs and records its run.
		{"run backfill with key", withKey, []string{"jobs", "run", "backfill"}, 0, []string{"backfill", "success"}, nil},
		// A name no job has: the error lists the jobs, no row.
		{"run unknown", noKey, []string{"jobs", "run", "nope"}, 1, nil, []string{`"nope"`, "fold"}},
		// The service's settings are loaded and checked in one place
		// (config.Load): a value the service refuses, the CLI refuses too.
		{"a setting the service refuses", map[string]string{"DATA_DIR": dir, "OPENROUTER_API_KEY": "sk-or-v1-test", "OPENROUTER_BASE_URL": sim.URL, "OPENROUTER_H2C": "maybe"},
			[]string{"jobs", "list"}, 1, nil, []string{"OPENROUTER_H2C"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := run(t, c.env, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d: %s%s", code, c.code, stdout, stderr)
			}
			if strings.Contains(stdout, "1970") {
				t.Errorf("a zero run printed: %s", stdout)
			}
			if c.code != 0 && stdout != "" {
				t.Errorf("output on error: %q", stdout)
			}
			for _, w := range c.stdoutHas {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range c.stderrHas {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q: %s", w, stderr)
				}
			}
		})
	}
}

// TestMistakesAreRefused: commands an outsider got wrong exited 0 and did
// something else than asked; each is now an error naming the mistake, and
// nothing is stored.
func TestMistakesAreRefused(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir}
	if code, _, stderr := run(t, env, "keys", "create", "-user", "alice"); code != 0 {
		t.Fatal(stderr)
	}
	for _, c := range []struct {
		name      string
		args      []string
		stderrHas string
	}{
		// The flag package stops at "laptop": -admin went unread and a plain key was made.
		{"a value with a space, unquoted", []string{"keys", "create", "-user", "ops", "-name", "ops", "laptop", "-admin"}, `keys create: unexpected argument "laptop"`},
		{"a stray word before the user", []string{"keys", "create", "-service", "-name", "svc2", "oops", "-user", "other"}, `unexpected argument "oops"`},
		{"a stray word after a quota", []string{"quotas", "set", "-type", "daily_requests", "-limit", "5", "-user", "alice", "extra"}, `quotas set: unexpected argument "extra"`},
		{"a blank user", []string{"keys", "create", "-user", "   "}, "blank"},
		{"a user name over two lines", []string{"keys", "create", "-user", "a\nb"}, "control characters"},
		{"a limit that is not a number", []string{"quotas", "set", "-type", "daily_requests", "-limit", "NaN", "-user", "alice"}, "-limit must be a number"},
		{"a quota for a user no one has", []string{"quotas", "set", "-type", "daily_requests", "-limit", "5", "-user", "nobody_such"}, `no user "nobody_such"`},
		{"quotas of a user no one has", []string{"quotas", "list", "-user", "nobody_such"}, `no user "nobody_such"`},
		{"a stray word after a report's flags", []string{"jobs", "report", "daily", "-format", "csv", "extra"}, `jobs report: unexpected argument "extra"`},
		{"a key revoked without its id", []string{"keys", "revoke"}, "keys revoke: want 1 argument(s), got 0: give exactly one key id"},
		{"a report format there is none of", []string{"jobs", "report", "daily", "-format", "xml"}, "-format must be csv or json"},
		{"runs without a sane limit", []string{"jobs", "runs", "-limit", "-1"}, "-limit must be 1 to 200"},
		{"runs of a job no one has", []string{"jobs", "runs", "-job", "fold_hourly"}, "unknown job \"fold_hourly\""},
		{"a rebuild that ends before it starts", []string{"jobs", "rebuild", "daily", "-from", "2026-11-02T00:00:00Z", "-to", "2026-11-01T00:00:00Z"}, "is not before"},
		{"a rebuild without -from", []string{"jobs", "rebuild", "daily"}, "-from is required"},
		// A typo in a year: 20 years of hours, which stored an empty summary for each.
		{"a rebuild of too many periods", []string{"jobs", "rebuild", "hourly", "-from", "2000-01-01T00:00:00Z", "-to", "2020-01-01T00:00:00Z"}, "rebuild in smaller ranges"},
		{"a user search without a query", []string{"users", "search"}, "want 1 argument(s), got 0"},
		{"a user search over the limit", []string{"users", "search", "-limit", "51", "al"}, "limit: expected integer in [1, 50]"},
		{"a user search for nothing", []string{"users", "search", ""}, "query: must not be empty"},
		{"keys of a store that is not there", []string{"-data-dir", filepath.Join(dir, "typo"), "keys", "list"}, "no store at"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := run(t, env, c.args...)
			if code == 0 || !strings.Contains(stderr, c.stderrHas) {
				t.Fatalf("exit %d, stderr %q, want an error with %q (stdout %q)", code, stderr, c.stderrHas, stdout)
			}
		})
	}
	// Nothing was made: alice's one key and user, no quota, no store at the typo.
	if _, err := os.Stat(filepath.Join(dir, "typo")); !os.IsNotExist(err) {
		t.Errorf("the mistyped data dir was created: %v", err)
	}
	_, keys, _ := run(t, env, "keys", "list")
	if n := strings.Count(keys, "\n"); n != 2 {
		t.Errorf("keys after the mistakes (want the header and alice's):\n%s", keys)
	}
	if _, quotas, _ := run(t, env, "quotas", "list"); strings.Contains(quotas, "daily_requests") {
		t.Errorf("a quota was stored: %s", quotas)
	}
}

// TestHelpTouchesNothing: "demo -h" and "keys create -h" created a store
// before they read their flags, then failed with "flag: help requested";
// the other subcommands said "no store". Every subcommand's -h now prints
// the usage on stdout, exits 0 and creates nothing.
func TestHelpTouchesNothing(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"demo", "-h"}, {"demo", "-users", "3", "-help"}, {"keys", "-h"}, {"keys", "create", "-user", "x", "-h"}, {"keys", "list", "--help"},
		{"keys", "revoke", "-h"}, {"quotas", "set", "-h"}, {"quotas", "list", "-h"}, {"jobs", "-h"}, {"jobs", "list", "-h"},
		{"jobs", "run", "-h"}, {"jobs", "runs", "-h"}, {"jobs", "report", "daily", "-h"}, {"jobs", "rebuild", "daily", "-h"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			code, stdout, stderr := run(t, map[string]string{"DATA_DIR": dir}, args...)
			if code != 0 || !strings.HasPrefix(stdout, "usage: llmmeterctl") || stderr != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q: want the usage on stdout, exit 0", code, stdout, stderr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("DATA_DIR was created: %v", err)
			}
		})
	}
}

// TestUnreadableStoreSaysWhy: a DATA_DIR the CLI could not read was
// reported as "no store at …", the message for a store that is not there
// (and chmod 000 gives the same path as these: an open that fails with
// something else than "does not exist"). Now the message says what is
// wrong, and a file that is not a database is left as it was.
func TestUnreadableStoreSaysWhy(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "a-file")
	notDB := filepath.Join(dir, "not-db")
	dirAsFile := filepath.Join(dir, "dir-as-store")
	for _, err := range []error{
		os.WriteFile(notDir, []byte("x"), 0o600),
		os.MkdirAll(notDB, 0o750),
		os.WriteFile(filepath.Join(notDB, "llmmeter.db"), []byte("a text file, not a database"), 0o600),
		os.MkdirAll(filepath.Join(dirAsFile, "llmmeter.db"), 0o750),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, dataDir, want string
		args                []string
	}{
		{"DATA_DIR is a file", notDir, "not a directory", []string{"keys", "list"}},
		{"DATA_DIR is a file, demo", notDir, "not a directory", []string{"demo"}},
		{"the store is not SQLite", notDB, "is not an SQLite database", []string{"keys", "list"}},
		{"the store is not SQLite, keys create", notDB, "is not an SQLite database", []string{"keys", "create", "-user", "x"}},
		{"the store is a directory", dirAsFile, "is a directory", []string{"jobs", "list"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := run(t, map[string]string{"DATA_DIR": c.dataDir}, c.args...)
			if code == 0 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "no store") || strings.Contains(stderr, "created") {
				t.Fatalf("exit %d, stderr %q (stdout %q): want an error saying %q", code, stderr, stdout, c.want)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(notDB, "llmmeter.db")); string(b) != "a text file, not a database" {
		t.Errorf("the file that is not a database was changed: %q", b)
	}
	if entries, _ := os.ReadDir(notDB); len(entries) != 1 {
		t.Errorf("files were made beside it: %v", entries)
	}
}

// TestUsersSearch: `users search` finds a user by the start of its name
// (the external id keys create gives), case aside, and prints the admin
// function's answer, ids included.
func TestUsersSearch(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir()}
	for _, u := range []string{"Alice-Ops", "alina", "bob"} {
		if code, _, stderr := run(t, env, "keys", "create", "-user", u); code != 0 {
			t.Fatal(stderr)
		}
	}
	code, stdout, stderr := run(t, env, "users", "search", "-limit", "5", "ALI")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got []struct {
		ID         string `json:"id"`
		ExternalID string `json:"externalId"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if len(got) != 2 || got[0].ExternalID != "Alice-Ops" || got[1].ExternalID != "alina" || !strings.HasPrefix(got[0].ID, "u_") {
		t.Fatalf("users search ALI: %s", stdout)
	}
}

// TestConvexConfiguredRefusesTheLocalStore: with CONVEX_SITE_URL set, only
// keys go to the deployment; "quotas set" used to write the local file,
// print the stored quota and exit 0, while the service, reading Convex,
// enforced nothing of it. Every other command is now refused, and the
// local store is left untouched.
func TestConvexConfiguredRefusesTheLocalStore(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := run(t, map[string]string{"DATA_DIR": dir}, "keys", "create", "-user", "alice"); code != 0 {
		t.Fatal(stderr)
	}
	env := map[string]string{"DATA_DIR": dir, "CONVEX_SITE_URL": "https://example.convex.site", "CONVEX_INGEST_SECRET": "a-test-secret-of-at-least-32-bytes"}
	for _, args := range [][]string{
		{"quotas", "set", "-type", "daily_requests", "-limit", "5", "-user", "alice"},
		{"quotas", "list"}, {"users", "search", "ali"}, {"demo"}, {"jobs", "run", "fold"},
	} {
		code, stdout, stderr := run(t, env, args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "CONVEX_SITE_URL is set") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q: want a refusal naming CONVEX_SITE_URL", args, code, stdout, stderr)
		}
	}
	_, quotas, _ := run(t, map[string]string{"DATA_DIR": dir}, "quotas", "list")
	if strings.Contains(quotas, "daily_requests") {
		t.Errorf("a quota was stored in the local file: %s", quotas)
	}
}

// TestKeysCreateKeepsTheUsersName: a key made for an existing user leaves
// the user's name as it is. The CLI named the user after its id, which,
// once the embedded store stored changed names as Convex does, renamed a
// user known by their real name to that id.
func TestKeysCreateKeepsTheUsersName(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir}
	if code, _, stderr := run(t, env, "keys", "create", "-user", "zoe"); code != 0 {
		t.Fatal(stderr)
	}
	s, err := sqlitestore.Open(context.Background(), filepath.Join(dir, app.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EnsureUser(context.Background(), store.EnsureUserInput{ExternalID: "zoe", Name: "Zoë Real"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if code, _, stderr := run(t, env, "keys", "create", "-user", "zoe"); code != 0 {
		t.Fatal(stderr)
	}
	s, err = sqlitestore.Open(context.Background(), filepath.Join(dir, app.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, _, err := s.EnsureUser(context.Background(), store.EnsureUserInput{ExternalID: "zoe"})
	if err != nil || u.Name != "Zoë Real" {
		t.Fatalf("after a second key: %+v, %v; want the name kept", u, err)
	}
}
