// Command llmbench is `make bench`'s load generator: it starts the
// OpenRouter simulator and the service as separate processes on loopback,
// drives them, and prints a Markdown table (see internal/bench).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"llmmeter/internal/bench"
)

func main() {
	var cfg bench.Config
	rates := flag.String("rates", "100,500,1000", "offered non-streaming rates, req/s")
	streams := flag.String("streams", "1,64,1024,10000", "numbers of concurrently open streams")
	h2cStreams := flag.String("h2c-streams", "1024,10000", `levels run again with HTTP/2 (h2c) clients; "none" skips them`)
	flag.DurationVar(&cfg.RateFor, "rate-for", 4*time.Second, "duration of each non-streaming rate")
	flag.IntVar(&cfg.RampRate, "ramp", 2000, "new streams per second while opening them")
	flag.StringVar(&cfg.ResultsFile, "out", "bench-results.md", "also write the table here")
	flag.StringVar(&cfg.GoBenchFile, "gobench", "", "output of the Go data-path benchmarks to include")
	flag.IntVar(&cfg.SeqCalls, "seq", 2000, "sequential calls per target (direct, service, Portkey), interleaved")
	portkey := flag.Bool("portkey", true, "install @portkey-ai/gateway@"+bench.PortkeyVersion+" from npm and compare against it")
	timeout := flag.Duration("timeout", 8*time.Minute, "give up after this long")
	flag.Parse()
	cfg.NoPortkey = !*portkey
	var err error
	if cfg.Rates, err = ints(*rates); err == nil {
		cfg.Streams, err = ints(*streams)
	}
	if cfg.H2CStreams = []int{}; err == nil && *h2cStreams != "none" {
		cfg.H2CStreams, err = ints(*h2cStreams)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "llmbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	md, err := bench.Run(ctx, cfg)
	fmt.Print(md)
	if err != nil {
		fmt.Fprintln(os.Stderr, "llmbench:", err)
		os.Exit(1)
	}
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
