// Command llmmeter runs the service: the OpenAI-compatible gateway in front
// of OpenRouter, recording every call. `llmmeter simulate` runs the
// OpenRouter simulator on its own, for demos, benchmarks and the fault
// matrix (internal/faults), which reads its ledger at GET /_ledger.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"llmmeter/internal/app"
	"llmmeter/internal/config"
	"llmmeter/openrouter/openroutertest"
)

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args)
	case "simulate":
		err = simulate(ctx, args)
	default:
		fmt.Fprintf(os.Stderr, "usage: llmmeter [serve|simulate] [flags]\n\nserve settings (environment variable, flag):\n%s", config.Usage())
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "llmmeter:", err)
		os.Exit(1)
	}
}

func serve(ctx context.Context, args []string) error {
	cfg, err := config.FromEnv(args)
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := app.NewLogger(os.Stderr, cfg.LogLevel)
	a, err := app.Start(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info().Dur("deadline", cfg.ShutdownTimeout).Msg("shutting down: draining open streams")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return a.Shutdown(sctx)
}

func simulate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	def := app.DemoSimulator()
	addr := fs.String("listen", "127.0.0.1:8090", "address to listen on (loopback)")
	fs.DurationVar(&def.TimeToFirstToken, "ttft", def.TimeToFirstToken, "time to first token")
	fs.Float64Var(&def.TokensPerSecond, "tps", def.TokensPerSecond, "tokens per second (0: as fast as possible)")
	fs.IntVar(&def.AnswerTokens, "answer-tokens", def.AnswerTokens, "completion tokens per answer")
	fs.DurationVar(&def.GenerationDelay, "generation-delay", def.GenerationDelay, "how long /generation answers 404 after a generation")
	fs.StringVar(&def.APIKey, "api-key", "", "require this bearer key")
	fs.Float64Var(&def.FaultRate, "fault-rate", 0, "fraction (0..1) of chat requests given a random upstream fault")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "OpenRouter simulator on http://%s/api/v1 (its ledger: GET http://%s%s)\n", *addr, *addr, openroutertest.LedgerPath)
	err := openroutertest.ListenAndServe(ctx, *addr, def)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
