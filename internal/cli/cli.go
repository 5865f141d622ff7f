// Package cli is the admin command line (cmd/llmmeterctl): API keys today,
// more admin operations as they land. It works on the embedded store under
// DATA_DIR directly, so it needs no running service; with CONVEX_SITE_URL
// and CONVEX_INGEST_SECRET set, the keys commands work on the Convex
// deployment instead, through its signed routes.
package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"llmmeter/convexclient"
	"llmmeter/internal/app"
	"llmmeter/internal/auth"
	"llmmeter/internal/cliargs"
	"llmmeter/internal/store"
	"llmmeter/internal/store/convexstore"
	"llmmeter/internal/store/sqlitestore"
)

const usage = `usage: llmmeterctl [-data-dir DIR] COMMAND

commands:
  keys create -user NAME [-admin] [-name LABEL]   create a key for user NAME (created if new); prints the secret once
  keys create -service -name LABEL [-user NAME]   create a service key (names its end users with X-Llmmeter-User);
                                                  its own user is NAME, default LABEL
  keys list [-user ID]                            list keys (never secrets)
  keys revoke KEY_ID                              revoke a key at once
                                                  (keys: on Convex when CONVEX_SITE_URL and CONVEX_INGEST_SECRET are set;
                                                  the other commands act on the embedded store and are refused then)
  quotas set -type TYPE -limit N [-user NAME] [-inactive]
                                                  set a quota (llmmeter:setQuota) of an existing user; no -user: the system budget
  quotas list [-user NAME]                        list quotas (llmmeter:quotas)
  users search [-limit N] QUERY                   users whose name, email or id starts with QUERY, case aside (llmmeter:searchUsers)
  demo [-seed 1] [-users 40] [-requests 6000] [-days 30]
                                                  fill the store with a month of realistic traffic
  jobs list | run NAME | runs [-job N] [-limit N] | report daily|weekly [-at RFC3339] [-format csv|json]
                                                  the scheduled jobs, once, by hand
`

// Run executes args and returns the process exit code.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("llmmeterctl", flag.ContinueOnError)
	flags.SetOutput(stderr)
	defDir := getenv("DATA_DIR")
	if defDir == "" {
		defDir = "./data"
	}
	dataDir := flags.String("data-dir", defDir, "data directory of the embedded store ($DATA_DIR)")
	flags.Usage = func() {} // printed below: on stdout when asked for
	err := flags.Parse(args)
	rest := flags.Args()
	if errors.Is(err, flag.ErrHelp) || cliargs.WantsHelp(rest) {
		fmt.Fprint(stdout, usage) // and nothing else: no store is opened, let alone created
		return 0
	}
	if err != nil || len(rest) < 1 || (rest[0] != "demo" && len(rest) < 2) {
		fmt.Fprint(stderr, usage)
		return 2
	}
	loc, err := time.LoadLocation(getenv("REPORTING_TZ"))
	if err != nil {
		fmt.Fprintln(stderr, "llmmeterctl: REPORTING_TZ:", err)
		return 2
	}
	if rest[0] == "keys" && getenv("CONVEX_SITE_URL") != "" {
		// Keys live where the service looks them up: with Convex configured,
		// in the deployment, through the same signed routes the service uses.
		if err := convexKeys(ctx, getenv, rest[1], rest[2:], stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "llmmeterctl:", err)
			return 1
		}
		return 0
	}
	if getenv("CONVEX_SITE_URL") != "" {
		// Everything else acts on the embedded store's file: with Convex
		// configured it is not where the service reads, and a quota "set"
		// there would change nothing the service enforces.
		fmt.Fprintf(stderr, "llmmeterctl: %s acts on the embedded store, but CONVEX_SITE_URL is set: with Convex, use the admin portal or `npx convex run llmmeter:<function>` (only keys go to the deployment); unset CONVEX_SITE_URL to act on the store in DATA_DIR\n", rest[0])
		return 2
	}
	file := filepath.Join(*dataDir, app.StoreFile)
	switch err := readable(file); {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		fmt.Fprintln(stderr, "llmmeterctl:", err)
		return 1
	case err != nil:
		// A first command on a fresh machine (demo, keys create) finds no
		// store yet: create it as the service does, and say so, since a
		// mistyped DATA_DIR lands here too. Any other command on a store
		// that is not there is a mistake.
		if !(rest[0] == "demo" || rest[0] == "keys" && rest[1] == "create") {
			fmt.Fprintf(stderr, "llmmeterctl: no store at %s: is DATA_DIR (or -data-dir) right? The service creates it at its first start\n", file)
			return 1
		}
		if err := os.MkdirAll(*dataDir, 0o750); err != nil {
			fmt.Fprintf(stderr, "llmmeterctl: DATA_DIR %s: %v\n", *dataDir, err)
			return 1
		}
		fmt.Fprintf(stderr, "llmmeterctl: created a new store at %s\n", file)
	}
	s, err := sqlitestore.Open(ctx, file, loc)
	if err != nil {
		fmt.Fprintln(stderr, "llmmeterctl:", err)
		return 1
	}
	defer s.Close()
	switch rest[0] {
	case "keys":
		err = keys(ctx, s, rest[1], rest[2:], stdout, stderr)
	case "quotas":
		err = quotas(ctx, s, rest[1], rest[2:], stdout, stderr)
	case "users":
		err = users(ctx, s, rest[1], rest[2:], stdout, stderr)
	case "demo":
		err = demoData(ctx, s, loc, rest[1:], stdout, stderr)
	case "jobs":
		err = runJobs(ctx, s, getenv, rest[1:], stdout, stderr)
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "llmmeterctl:", err)
		return 1
	}
	return 0
}

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// readable checks that the store file can be opened and is an SQLite
// database (or empty, as SQLite leaves a new one) before SQLite touches it:
// an error wrapping fs.ErrNotExist when there is none, otherwise one that
// says what is wrong (permission denied, not a directory, not a
// database). A DATA_DIR no one could read was reported as "no store".
func readable(file string) error {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err != nil {
		return fmt.Errorf("cannot open the store: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, head)
	switch {
	case n == 0 && err == io.EOF:
		return nil
	case err != nil && err != io.ErrUnexpectedEOF:
		return fmt.Errorf("cannot read the store %s: %w", file, err)
	case !bytes.Equal(head[:n], sqliteHeader):
		return fmt.Errorf("%s is not an SQLite database: is DATA_DIR (or -data-dir) right?", file)
	}
	return nil
}

// convexKeys runs a keys command against the Convex deployment named by
// CONVEX_SITE_URL, signing with CONVEX_INGEST_SECRET.
func convexKeys(ctx context.Context, getenv func(string) string, cmd string, args []string, stdout, stderr io.Writer) error {
	cc, err := convexclient.New(convexclient.Config{SiteURL: strings.TrimRight(getenv("CONVEX_SITE_URL"), "/"), Secret: getenv("CONVEX_INGEST_SECRET")})
	if err != nil {
		return err
	}
	return keys(ctx, convexstore.New(cc), cmd, args, stdout, stderr)
}

func keys(ctx context.Context, s store.Store, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch cmd {
	case "create":
		user := fs.String("user", "", "user name (external id); created if new")
		admin := fs.Bool("admin", false, "the key may use admin functions")
		service := fs.Bool("service", false, "a service key: each call may name its end user (X-Llmmeter-User)")
		name := fs.String("name", "", "a label for the key")
		if err := cliargs.Parse(fs, args, 0); err != nil {
			return err
		}
		if *service && *user == "" {
			*user = *name // a service's key belongs to a user named after the service
		}
		if *name == "" {
			*name = *user // Convex requires a label; the user's name is a fair one
		}
		switch {
		case *user == "" && *service:
			return fmt.Errorf("keys create: -service needs -name (or -user)")
		case *user == "":
			return fmt.Errorf("keys create: -user is required")
		case *admin && *service:
			return fmt.Errorf("keys create: a key is -admin or -service, not both")
		}
		if err := checkUserName(*user); err != nil {
			return fmt.Errorf("keys create: %w", err)
		}
		u, _, err := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: *user}) // no name: it would rename an existing user to its id
		if err != nil {
			return err
		}
		kind, secret, k := "key", "", store.APIKey{}
		if *service {
			kind = "service key"
			secret, k, err = auth.IssueServiceKey(ctx, s, u.ID, *name)
		} else {
			secret, k, err = auth.IssueKey(ctx, s, u.ID, *name, *admin)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s %s for user %s (%s)\n%s\n", kind, k.ID, *user, u.ID, secret)
		return nil
	case "list":
		user := fs.String("user", "", "only this user id")
		if err := cliargs.Parse(fs, args, 0); err != nil {
			return err
		}
		list, err := s.ListAPIKeys(ctx, *user)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tPREFIX\tNAME\tADMIN\tSERVICE\tCREATED\tREVOKED")
		for _, k := range list {
			revoked := "-"
			if k.Revoked() {
				revoked = time.UnixMilli(k.RevokedAt).UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%v\t%v\t%s\t%s\n", k.ID, k.UserID, k.Prefix, k.Name, k.IsAdmin, k.IsService,
				time.UnixMilli(k.CreatedAt).UTC().Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		if err := cliargs.Parse(fs, args, 1); err != nil {
			return fmt.Errorf("%w: give exactly one key id", err)
		}
		if err := s.RevokeAPIKey(ctx, fs.Arg(0)); err != nil {
			return fmt.Errorf("keys revoke %s: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(stdout, "revoked %s\n", fs.Arg(0))
		return nil
	}
	return fmt.Errorf("unknown command keys %s", cmd)
}

// checkUserName refuses a user name no one could type back: blank, with
// space around it, not UTF-8, with control characters (a line break split
// its row in keys list), or over 128 bytes.
func checkUserName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("the user name is blank")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("the user name %q has space around it", name)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("the user name %q has control characters or is not UTF-8", name)
	case len(name) > 128:
		return fmt.Errorf("the user name is %d bytes, more than 128", len(name))
	}
	return nil
}
