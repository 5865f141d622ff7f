package jobs

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// CommandUsage documents Command, for the CLI's usage text.
const CommandUsage = `  jobs list                                      list the jobs and their schedules
  jobs run NAME                                  run job NAME now (under its lease) and record the run
  jobs runs [-job NAME] [-limit N]               list recorded runs, newest first
  jobs report daily|weekly [-at RFC3339] [-format csv|json]   print a report of the period containing -at
`

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
		return tw.Flush()
	case "run":
		if len(args) != 2 {
			return fmt.Errorf("jobs run: want exactly one job name")
		}
		r, err := svc.RunOnce(ctx, args[1])
		printRuns(stdout, []Run{r})
		return err
	case "runs":
		job := fs.String("job", "", "only runs of this job")
		limit := fs.Int("limit", 20, "at most this many runs (≤ 200)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		runs, err := svc.Runs(ctx, *job, min(max(*limit, 1), 200))
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
		if err := fs.Parse(args[2:]); err != nil {
			return err
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
	}
	return fmt.Errorf("jobs: unknown subcommand %q\n%s", args[0], CommandUsage)
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
