package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/cliargs"
	"llmmeter/internal/config"
	"llmmeter/internal/demo"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
	"llmmeter/jobs"
	"llmmeter/openrouter"
)

// asAdmin is the CLI's identity: whoever can open the store file is admin.
var asAdmin = store.Caller{Authenticated: true, IsAdmin: true}

// call runs an admin function of the embedded engine and prints its answer
// as indented JSON.
func call(ctx context.Context, s *sqlitestore.Store, kind, path string, args map[string]any, stdout io.Writer) error {
	raw, err := json.Marshal(args)
	if err != nil {
		return err
	}
	v, err := s.Call(ctx, kind, path, raw, asAdmin)
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	fmt.Fprintf(stdout, "%s\n", out)
	return nil
}

// userID resolves a user name (external id) to its id. A quota for a name
// no one has is a typo, not a new user: it would apply to nobody.
func userID(ctx context.Context, s *sqlitestore.Store, name string) (string, error) {
	u, err := s.UserByExternalID(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("no user %q (users get a name with keys create, or from the X-Llmmeter-User of a service key's call)", name)
	}
	return u.ID, err
}

func quotas(ctx context.Context, s *sqlitestore.Store, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quotas "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "user name (external id); empty: all quotas, or the system budget for set")
	switch cmd {
	case "set":
		typ := fs.String("type", "", "daily_requests, monthly_tokens, monthly_cost_usd or system_monthly_cost_usd")
		limit := fs.Float64("limit", -1, "the limit: requests, tokens or USD")
		inactive := fs.Bool("inactive", false, "store the quota switched off")
		if err := cliargs.Parse(fs, args, 0); err != nil {
			return err
		}
		if math.IsNaN(*limit) || math.IsInf(*limit, 0) {
			return fmt.Errorf("quotas set: -limit must be a number, not %v", *limit)
		}
		a := map[string]any{"quotaType": *typ, "limit": *limit, "isActive": !*inactive}
		if *user != "" {
			id, err := userID(ctx, s, *user)
			if err != nil {
				return err
			}
			a["userId"] = id
		}
		return call(ctx, s, "mutation", "llmmeter:setQuota", a, stdout)
	case "list":
		if err := cliargs.Parse(fs, args, 0); err != nil {
			return err
		}
		a := map[string]any{}
		if *user != "" {
			id, err := userID(ctx, s, *user)
			if err != nil {
				return err
			}
			a["userId"] = id
		}
		return call(ctx, s, "query", "llmmeter:quotas", a, stdout)
	}
	return fmt.Errorf("unknown command quotas %s", cmd)
}

// users search: the embedded engine's llmmeter:searchUsers, for finding a
// user's id from a name, an email or a part of one.
func users(ctx context.Context, s *sqlitestore.Store, cmd string, args []string, stdout, stderr io.Writer) error {
	if cmd != "search" {
		return fmt.Errorf("unknown command users %s", cmd)
	}
	fs := flag.NewFlagSet("users search", flag.ContinueOnError)
	fs.SetOutput(stderr)
	limit := fs.Int("limit", 20, "most users listed (1 to 50)")
	if err := cliargs.Parse(fs, args, 1); err != nil {
		return err
	}
	return call(ctx, s, "query", "llmmeter:searchUsers", map[string]any{"query": fs.Arg(0), "limit": *limit}, stdout)
}

func demoData(ctx context.Context, s *sqlitestore.Store, loc *time.Location, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Uint64("seed", 1, "random seed (same seed, same rows)")
	users := fs.Int("users", 40, "users")
	requests := fs.Int("requests", 6000, "requests")
	days := fs.Int("days", 30, "days of history ending now")
	if err := cliargs.Parse(fs, args, 0); err != nil {
		return err
	}
	now := time.Now().In(loc) // the day's rhythm, reports and forecast in the reporting zone
	sum, err := demo.Generate(ctx, s, demo.Options{Seed: *seed, Now: now, Users: *users, Requests: *requests, Days: *days, Location: loc})
	if err != nil {
		return err
	}
	ops, err := demo.SeedOps(ctx, s, sum, now)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo: %d users, %d requests (%d failed), %d tokens, $%s; inserted %+v, already there %+v; ops %+v\n",
		sum.Users, sum.Requests, sum.Failed, sum.Tokens, sum.Cost, sum.Inserted, sum.Duplicates, ops)
	return nil
}

// runJobs runs a jobs subcommand against the embedded store. The jobs that
// need OpenRouter (the backfill, the key balance) run when
// OPENROUTER_API_KEY is set, as for the service; without it they are
// listed as off, and running the backfill says so.
func runJobs(ctx context.Context, s *sqlitestore.Store, getenv func(string) string, args []string, stdout, stderr io.Writer) error {
	// The service's settings, loaded and checked where the service loads
	// them (config.Load), so a job run here sees what the service's jobs see.
	cfg, err := config.Load(nil, getenv)
	if err != nil {
		return err
	}
	deps := jobs.Deps{Store: s, Location: cfg.ReportingTZ, Log: zerolog.Nop()}
	if !cfg.Simulated() {
		up, err := openrouter.New(openrouter.Config{BaseURL: cfg.OpenRouterBaseURL, APIKey: string(cfg.OpenRouterAPIKey),
			UnencryptedHTTP2: cfg.OpenRouterH2C, Referer: cfg.AppReferer, Title: cfg.AppTitle})
		if err != nil {
			return fmt.Errorf("OPENROUTER_BASE_URL: %w", err)
		}
		deps.Key, deps.Generations = up, up
	}
	svc, err := jobs.New(cfg.Jobs, deps)
	if err != nil {
		return err
	}
	return jobs.Command(ctx, svc, args, stdout, stderr)
}
