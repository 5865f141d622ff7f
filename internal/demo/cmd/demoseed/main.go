// Command demoseed fills the embedded store under -data-dir with demo
// traffic (demo.Generate) and the jobs' operational rows (demo.SeedOps).
// With -hostile it also writes rows holding HTML and script in every
// free-text field, for the portal's end-to-end test that they render as text.
// It prints a JSON summary on stdout. It is a test and demo helper; the
// product's entry point is `llmmeterctl demo`.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"llmmeter/internal/demo"
	"llmmeter/internal/store"
	"llmmeter/internal/store/sqlitestore"
)

func main() {
	dataDir := flag.String("data-dir", "./data", "data directory of the embedded store")
	seed := flag.Uint64("seed", 1, "random seed")
	users := flag.Int("users", 40, "number of users")
	requests := flag.Int("requests", 6000, "number of requests")
	days := flag.Int("days", 30, "days of history ending now")
	hostile := flag.Bool("hostile", false, "also write rows with HTML in their text fields")
	tz := flag.String("reporting-tz", envOr("REPORTING_TZ", "UTC"), "IANA time zone of period keys, as the service's REPORTING_TZ")
	flag.Parse()
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demoseed: -reporting-tz:", err)
		os.Exit(2)
	}
	if err := run(os.Stdout, *dataDir, loc, *seed, *users, *requests, *days, *hostile); err != nil {
		fmt.Fprintln(os.Stderr, "demoseed:", err)
		os.Exit(1)
	}
}

// Hostile strings, exported for the e2e test through the JSON summary. The
// name and the model are as long as the stores take them, without a space
// to break at: a page must not scroll sideways for them.
var (
	hostileName  = `<img src=x onerror="window.__xss=1">Mallory` + strings.Repeat("W", 256-43)
	hostileAgent = `<script>window.__xss=1</script>evil-agent/1.0`
	hostileError = `<b>boom</b><img src=x onerror="window.__xss=1">`
	hostileModel = `evil/<svg onload=window.__xss=1>` + strings.Repeat("m", 128-32)
)

// envOr is the environment variable name, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// run seeds the store in the service's reporting zone loc: opened in
// another, its period keys would name other days than the service's (a
// store seeded in UTC for a New York service showed each day twice).
func run(out io.Writer, dataDir string, loc *time.Location, seed uint64, users, requests, days int, hostile bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := sqlitestore.Open(ctx, filepath.Join(dataDir, "llmmeter.db"), loc)
	if err != nil {
		return err
	}
	defer s.Close()
	now := time.Now().UTC()
	sum, err := demo.Generate(ctx, s, demo.Options{Seed: seed, Now: now, Users: users, Requests: requests, Days: days})
	if err != nil {
		return err
	}
	ops, err := demo.SeedOps(ctx, s, sum, now)
	if err != nil {
		return err
	}
	res := map[string]any{"summary": sum, "ops": ops}
	if hostile {
		h, err := seedHostile(ctx, s, now)
		if err != nil {
			return err
		}
		res["hostile"] = h
	}
	return json.NewEncoder(out).Encode(res)
}

func seedHostile(ctx context.Context, s store.Store, now time.Time) (map[string]string, error) {
	u, _, err := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "demo-hostile", Name: hostileName, Email: "mallory@example.com"})
	if err != nil {
		return nil, err
	}
	ts := now.Add(-2 * time.Minute).UnixMilli()
	b := store.Batch{
		RequestLogs: []store.RequestLog{{
			RequestID: "req_demo_hostile", UserID: u.ID, RequestType: "chat.completions", Method: "POST",
			Endpoint: "/v1/chat/completions", Model: hostileModel, GenerationID: "gen-demo-hostile",
			Status: store.StatusError, StatusCode: 502, ErrorType: "upstream_error", ErrorMessage: hostileError,
			RequestSize: 300, ResponseSize: 120, ProcessingTime: 900, UserAgent: hostileAgent, IPAddress: "203.0.113.66", Timestamp: ts,
		}},
		Usage: []store.Usage{{
			GenerationID: "gen-demo-hostile", RequestID: "req_demo_hostile", UserID: u.ID, Model: hostileModel, Provider: "Evil",
			PromptTokens: 100, CompletionTokens: 10, TotalTokens: 110, Cost: 123456, CostStatus: store.CostReported,
			FinishReason: "error", Timestamp: ts, ProcessingTime: 900, Stream: true,
		}},
		Activity: []store.Activity{{ActivityKey: "req_demo_hostile", UserID: u.ID, ActivityType: store.ActivityChatCompletion,
			Metadata: map[string]any{"model": hostileModel, "status": "error"}, Timestamp: ts}},
	}
	if _, err := s.Ingest(ctx, b); err != nil {
		return nil, err
	}
	return map[string]string{"userId": u.ID, "requestId": "req_demo_hostile", "name": hostileName,
		"userAgent": hostileAgent, "errorMessage": hostileError, "model": hostileModel}, nil
}
