package jobs

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	stdmaps "maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"llmmeter/internal/cliargs"
	"llmmeter/internal/periods"
)

// CommandUsage documents Command, for the CLI's usage text.
const CommandUsage = `  jobs list                                      list the jobs and their schedules
  jobs run NAME                                  run job NAME now (under its lease) and record the run
  jobs runs [-job NAME] [-limit N]               list recorded runs, newest first
  jobs report daily|weekly [-at RFC3339] [-format csv|json]   print a report of the period containing -at
  jobs rebuild hourly|daily|weekly|monthly -from RFC3339 [-to RFC3339]   recompute the summaries of those periods from raw rows (repair; safe while ingest runs)
`

// MaxRebuildPeriods bounds the periods one "jobs rebuild" covers (about
// 11 years of hours, centuries of days).
const MaxRebuildPeriods = 100_000

// Command runs the CLI's "jobs …" subcommands (args without "jobs").
func Command(ctx context.Context, svc *Service, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("jobs: missing subcommand\n%s", CommandUsage)
	}
	fs := flag.NewFlagSet("jobs "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "list":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOB\tSCHEDULE")
		for _, n := range svc.Jobs() {
			fmt.Fprintf(tw, "%s\t%s\n", n, svc.entries[n].spec)
		}
		// Every job is listed: one left out here says why.
		for _, n := range allJobs() {
			if svc.entries[n] == nil {
				fmt.Fprintf(tw, "%s\toff: %s\n", n, unavailable(n))
			}
		}
		return tw.Flush()
	case "run":
		if len(args) != 2 {
			return fmt.Errorf("jobs run: want exactly one job name")
		}
		name := args[1]
		if _, known := DefaultSchedules[name]; known && svc.entries[name] == nil {
			return fmt.Errorf("jobs run %s: %s", name, unavailable(name))
		}
		r, err := svc.RunOnce(ctx, name)
		if r.StartedAt != 0 { // a run was recorded, failed or not; never print a zero Run
			printRuns(stdout, []Run{r})
		}
		if errors.Is(err, ErrUnknownJob) {
			return fmt.Errorf("%w; the jobs are %s", err, strings.Join(allJobs(), ", "))
		}
		return err
	case "runs":
		job := fs.String("job", "", "only runs of this job")
		limit := fs.Int("limit", 20, "at most this many runs (≤ 200)")
		if err := cliargs.Parse(fs, args[1:], 0); err != nil {
			return err
		}
		if *limit < 1 || *limit > 200 {
			return fmt.Errorf("jobs runs: -limit must be 1 to 200, not %d", *limit)
		}
		if _, known := DefaultSchedules[*job]; *job != "" && !known {
			// A mistyped name would list nothing, which reads as "never ran".
			return fmt.Errorf("jobs runs: %w %q; the jobs are %s", ErrUnknownJob, *job, strings.Join(allJobs(), ", "))
		}
		runs, err := svc.Runs(ctx, *job, *limit)
		if err != nil {
			return err
		}
		printRuns(stdout, runs)
		return nil
	case "report":
		if len(args) < 2 {
			return fmt.Errorf("jobs report: want daily or weekly")
		}
		at := fs.String("at", "", "a time inside the period (RFC 3339); default now")
		format := fs.String("format", "csv", "csv or json")
		if err := cliargs.Parse(fs, args[2:], 0); err != nil {
			return err
		}
		if *format != "csv" && *format != "json" {
			return fmt.Errorf("jobs report: -format must be csv or json, not %q", *format)
		}
		t := svc.now()
		if *at != "" {
			var err error
			if t, err = time.Parse(time.RFC3339, *at); err != nil {
				return fmt.Errorf("jobs report: -at: %w", err)
			}
		}
		rep, err := svc.Report(ctx, args[1], t)
		if err != nil {
			return err
		}
		if *format == "json" {
			return ExportJSON(stdout, rep)
		}
		_, err = io.WriteString(stdout, rep.CSV)
		return err
	case "rebuild":
		if len(args) < 2 || !slices.Contains(periods.All, periods.Period(args[1])) {
			return fmt.Errorf("jobs rebuild: want hourly, daily, weekly or monthly")
		}
		from := fs.String("from", "", "the first period starting at or after this time (RFC 3339); required")
		to := fs.String("to", "", "periods starting before this time (RFC 3339); default now")
		if err := cliargs.Parse(fs, args[2:], 0); err != nil {
			return err
		}
		if *from == "" {
			return fmt.Errorf("jobs rebuild: -from is required (RFC 3339, e.g. 2026-11-01T00:00:00Z)")
		}
		f, err := time.Parse(time.RFC3339, *from)
		if err != nil {
			return fmt.Errorf("jobs rebuild: -from: %w", err)
		}
		t := svc.now()
		if *to != "" {
			if t, err = time.Parse(time.RFC3339, *to); err != nil {
				return fmt.Errorf("jobs rebuild: -to: %w", err)
			}
		}
		if !f.Before(t) {
			return fmt.Errorf("jobs rebuild: -from %s is not before -to %s", f.Format(time.RFC3339), t.Format(time.RFC3339))
		}
		// A typo in a year ("0026-11-01") made a rebuild of millions of
		// periods: hours of work, gigabytes of memory, and an empty summary
		// stored for every period. A real repair is far shorter.
		p := periods.Period(args[1])
		if n := t.Sub(f) / p.Nominal(); n > MaxRebuildPeriods {
			return fmt.Errorf("jobs rebuild: -from %s to -to %s is about %d %s periods, more than %d: rebuild in smaller ranges",
				f.Format(time.RFC3339), t.Format(time.RFC3339), n, p, MaxRebuildPeriods)
		}
		counts, err := svc.Rebuild(ctx, p, f, t)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rebuilt %v\n", map[string]int64(counts))
		return nil
	}
	return fmt.Errorf("jobs: unknown subcommand %q\n%s", args[0], CommandUsage)
}

// allJobs is every job's name, sorted.
func allJobs() []string { return slices.Sorted(stdmaps.Keys(DefaultSchedules)) }

// unavailable says why job name is not registered: only the backfill is
// conditional (it needs OpenRouter's generation records).
func unavailable(name string) string {
	if name == JobBackfill {
		return "needs OPENROUTER_API_KEY (it confirms estimated costs from OpenRouter's generation records); the running service runs it every 10 minutes"
	}
	return "not configured"
}

func printRuns(w io.Writer, runs []Run) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSTARTED\tDURATION\tOUTCOME\tCOUNTS\tERROR")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", r.Job, time.UnixMilli(r.StartedAt).UTC().Format(time.RFC3339),
			time.Duration(r.EndedAt-r.StartedAt)*time.Millisecond, r.Outcome, map[string]int64(r.Counts), truncate(r.Error, 120))
	}
	tw.Flush()
}
