// Command llmmeter runs the service: the OpenAI-compatible gateway in front
// of OpenRouter, recording every call. `llmmeter simulate` runs the
// OpenRouter simulator on its own, for demos, benchmarks and the fault
// matrix (internal/faults), which reads its ledger at GET /_ledger.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"llmmeter/internal/app"
	"llmmeter/internal/config"
	"llmmeter/internal/money"
	"llmmeter/openrouter/openroutertest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command in args and returns the exit code. A failed
// start is one line on stderr per cause, naming the setting: no panic, no
// stack trace.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, getenv, stdout, stderr)
	case "simulate":
		err = simulate(ctx, args, stderr)
	default:
		fmt.Fprintf(stderr, "usage: llmmeter [serve|simulate] [flags]\n\nserve settings (environment variable, flag):\n%s", config.Usage())
		return 2
	}
	if err != nil {
		// errors.Join (every bad setting at once) gives one line per cause.
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(stderr, "llmmeter:", line)
		}
		return 1
	}
	return 0
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv)
	if err != nil {
		var lines []string
		for _, l := range strings.Split(err.Error(), "\n") {
			lines = append(lines, "invalid configuration: "+l)
		}
		return errors.New(strings.Join(lines, "\n"))
	}
	log := app.NewLogger(stderr, cfg.LogLevel)
	a, err := app.Start(ctx, cfg, log, app.Options{Stdout: stdout})
	if err != nil {
		return oneLine(err)
	}
	<-ctx.Done()
	log.Info().Dur("deadline", cfg.ShutdownTimeout).Msg("shutting down: draining open streams")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return a.Shutdown(sctx)
}

// oneLine keeps a start error on one line: a wrapped driver error may carry
// newlines of its own.
func oneLine(err error) error {
	return errors.New(strings.Join(strings.Fields(err.Error()), " "))
}

func simulate(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := app.DemoSimulator()
	addr := fs.String("listen", "127.0.0.1:8090", "address to listen on (loopback)")
	fs.DurationVar(&def.TimeToFirstToken, "ttft", def.TimeToFirstToken, "time to first token")
	fs.Float64Var(&def.TokensPerSecond, "tps", def.TokensPerSecond, "tokens per second (0: as fast as possible)")
	fs.IntVar(&def.AnswerTokens, "answer-tokens", def.AnswerTokens, "completion tokens per answer")
	fs.DurationVar(&def.GenerationDelay, "generation-delay", def.GenerationDelay, "how long /generation answers 404 after a generation")
	fs.StringVar(&def.APIKey, "api-key", "", "require this bearer key")
	fs.Float64Var(&def.FaultRate, "fault-rate", 0, "fraction (0..1) of chat requests given a random upstream fault")
	keyLimit := fs.String("key-limit", "", "the key's credit limit in USD, as GET /key reports it (default: no limit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keyLimit != "" {
		n, err := money.ParseUSD(*keyLimit)
		if err != nil {
			return fmt.Errorf("simulate -key-limit: %w", err)
		}
		def.KeyLimit = &n
	}
	fmt.Fprintf(stderr, "OpenRouter simulator on http://%s/api/v1 (its ledger: GET http://%s%s)\n", *addr, *addr, openroutertest.LedgerPath)
	err := openroutertest.ListenAndServe(ctx, *addr, def)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
