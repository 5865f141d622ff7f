// Package app wires the service together: config, the embedded store, the
// outbox and its delivery loop, the OpenRouter client (or the built-in
// simulator when no key is configured) and the gateway's HTTP server. The
// binary in cmd/llmmeter and end-to-end tests both start the service here.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/convexclient"
	"llmmeter/internal/adminapi"
	"llmmeter/internal/auth"
	"llmmeter/internal/config"
	"llmmeter/internal/gateway"
	"llmmeter/internal/metrics"
	"llmmeter/internal/outbox"
	"llmmeter/internal/portal"
	"llmmeter/internal/quotalease"
	"llmmeter/internal/store"
	"llmmeter/internal/store/convexstore"
	"llmmeter/internal/store/sqlitestore"
	"llmmeter/jobs"
	"llmmeter/openrouter"
	"llmmeter/openrouter/openroutertest"
)

// Files under DATA_DIR.
const (
	StoreFile  = "llmmeter.db"
	OutboxFile = "outbox.db"
)

// Options tune what config does not cover; tests use them.
type Options struct {
	// Simulator overrides the built-in simulator's settings (when the
	// config has no OpenRouter key).
	Simulator *openroutertest.Options
	// PendingGiveUp is how long a pending entry waits for its generation
	// record before an estimate is recorded; default 5 minutes.
	PendingGiveUp time.Duration
	// GenerationWait bounds each generation look-up's retries of the early
	// 404; default the client's.
	GenerationWait time.Duration
	// Stdout receives the one-time bootstrap admin key; default os.Stdout.
	Stdout io.Writer
	// StorePath puts the embedded store elsewhere than DATA_DIR, e.g. one
	// file shared by several services (replicas) in tests.
	StorePath string
	// ConvexTimeout bounds each attempt of a Convex call; default 15s.
	ConvexTimeout time.Duration
	// MaxDeliveryBackoff caps the wait between failed deliveries; default 30s.
	MaxDeliveryBackoff time.Duration
	// ConvexHTTPClient carries the Convex calls; tests inject faults in its
	// transport. Default a plain client.
	ConvexHTTPClient *http.Client
	// BootstrapMaxBackoff caps the wait between admin-key bootstrap attempts
	// while Convex does not answer; default 30s.
	BootstrapMaxBackoff time.Duration
}

// App is a running service.
type App struct {
	cfg      config.Config
	log      zerolog.Logger
	Store    store.Store
	Outbox   *outbox.Outbox
	Sim      *openroutertest.Server // nil with a real upstream
	Upstream *openrouter.Client
	Metrics  *metrics.Metrics
	Leases   *quotalease.Manager // quota admission from allowance leases

	engine    string        // "sqlite" or "convex"
	jobs      *jobs.Service // nil when JOBS_ENABLED=false
	pprofSrv  *http.Server  // nil unless PPROF_ADDR is set
	pprofAddr string
	delivery  *outbox.Delivery
	httpSrv   *http.Server
	ln        net.Listener
	inflight  sync.WaitGroup
	active    atomic.Int64            // requests being served, for Idle
	abort     context.CancelCauseFunc // cancels every request's context
	stopBg    context.CancelFunc
	bg        sync.WaitGroup

	bootstrapped atomic.Bool // the admin-key bootstrap has run
}

// Start opens the stores, starts the upstream (simulated if configured so),
// listens on cfg.ListenAddr and serves in the background. On error it has
// closed everything it opened, and the error names the setting at fault.
//
// A Convex deployment that does not answer yet does not stop the start: the
// service serves (/readyz says 503 until the store answers) and creates the
// first admin key in the background once it can.
func Start(ctx context.Context, cfg config.Config, log zerolog.Logger, opt Options) (*App, error) {
	a := &App{cfg: cfg, log: log, engine: "sqlite"}
	if err := a.start(ctx, opt); err != nil {
		// a, not the named result: a failed start must close what it opened.
		a.closeAll()
		return nil, err
	}
	return a, nil
}

func (a *App) start(ctx context.Context, opt Options) (err error) {
	cfg, log := a.cfg, a.log
	if opt.Stdout == nil {
		opt.Stdout = os.Stdout
	}
	if opt.PendingGiveUp <= 0 {
		opt.PendingGiveUp = 5 * time.Minute
	}
	if opt.BootstrapMaxBackoff <= 0 {
		opt.BootstrapMaxBackoff = 30 * time.Second
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("DATA_DIR %s: %w", cfg.DataDir, err)
	}
	// Listen before anything else runs: a taken port fails the start before
	// a store is opened or a line is logged.
	if a.ln, err = net.Listen("tcp", cfg.ListenAddr); err != nil {
		return fmt.Errorf("LISTEN_ADDR %s: %w", cfg.ListenAddr, err)
	}
	keyTTL := time.Duration(0)
	if cfg.ConvexEnabled() {
		cc, err := convexclient.New(convexclient.Config{URL: cfg.ConvexURL, SiteURL: cfg.ConvexSiteURL, Secret: string(cfg.ConvexIngestSecret), Timeout: opt.ConvexTimeout, HTTPClient: opt.ConvexHTTPClient})
		if err != nil {
			return fmt.Errorf("CONVEX_URL: %w", err)
		}
		a.Store = convexstore.New(cc).WithReportingTZ(cfg.ReportingTZ)
		a.engine = "convex"
		keyTTL = 30 * time.Second // each lookup is a round trip to Convex
	} else {
		path := filepath.Join(cfg.DataDir, StoreFile)
		if opt.StorePath != "" {
			path = opt.StorePath
		}
		if a.Store, err = sqlitestore.Open(ctx, path, cfg.ReportingTZ); err != nil {
			return fmt.Errorf("DATA_DIR: open the store %s: %w", path, err)
		}
	}
	outboxPath := filepath.Join(cfg.DataDir, OutboxFile)
	if a.Outbox, err = outbox.Open(ctx, outboxPath); err != nil {
		return fmt.Errorf("DATA_DIR: open the outbox %s: %w", outboxPath, err)
	}

	upCfg := openrouter.Config{BaseURL: cfg.OpenRouterBaseURL, APIKey: string(cfg.OpenRouterAPIKey), UnencryptedHTTP2: cfg.OpenRouterH2C,
		Referer: cfg.AppReferer, Title: cfg.AppTitle, GenerationWait: opt.GenerationWait}
	if cfg.Simulated() {
		so := DemoSimulator()
		if opt.Simulator != nil {
			so = *opt.Simulator
		}
		so.APIKey = "sk-or-v1-simulator"
		a.Sim = openroutertest.NewServer(so)
		// The built-in simulator serves h2c: its streams share connections
		// as OpenRouter's share HTTP/2 over TLS.
		upCfg.BaseURL, upCfg.APIKey, upCfg.UnencryptedHTTP2 = a.Sim.URL, so.APIKey, true
		log.Warn().Str("upstream", a.Sim.URL).Msg("NO OPENROUTER_API_KEY: using the built-in OpenRouter SIMULATOR as upstream; answers are fake (set OPENROUTER_API_KEY for real models)")
	}
	if a.Upstream, err = openrouter.New(upCfg); err != nil {
		return fmt.Errorf("OPENROUTER_BASE_URL: %w", err)
	}

	bgCtx, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	a.stopBg = stopBg
	if a.engine == "convex" {
		// Convex may not answer yet (a deployment starting beside us): serve
		// anyway and create the first admin key once it does.
		a.bg.Add(1)
		go func() {
			defer a.bg.Done()
			a.bootstrapUntilDone(bgCtx, opt.Stdout, opt.BootstrapMaxBackoff)
		}()
	} else if err := a.bootstrap(ctx, opt.Stdout); err != nil {
		return fmt.Errorf("DATA_DIR: bootstrap admin key: %w", err)
	}

	// AUTH_CHECK_TIMEOUT bounds key look-ups in Convex, where a store can
	// hang across the network. The embedded store is a file on this machine
	// and caches nothing (keyTTL 0): every call looks its key up, and a slow
	// look-up means the machine is saturated, not that the store is gone, so
	// bounding it would refuse valid keys under load (make bench: 601 of
	// 10,000 streams answered 503 at 2 s).
	keyWait := time.Duration(0)
	if keyTTL > 0 {
		keyWait = cfg.AuthTimeout
	}
	authn := auth.Chain{Keys: &auth.Keys{Store: a.Store, TTL: keyTTL, Wait: keyWait}}
	if cfg.ClerkEnabled() {
		if authn.Clerk, err = auth.NewClerk(auth.ClerkOptions{
			Issuer:            cfg.ClerkIssuer,
			JWKSURL:           cfg.ClerkJWKSURL,
			SecretKey:         string(cfg.ClerkSecretKey),
			AuthorizedParties: cfg.ClerkAuthorizedParties,
			Leeway:            cfg.ClerkLeeway,
			Audience:          cfg.ClerkAudience,
			AdminClaim:        cfg.AdminRoleClaim,
			OrgAdmin:          cfg.ClerkOrgAdmin,
			Store:             a.Store,
			UserWait:          cfg.AuthTimeout,
		}); err != nil {
			return fmt.Errorf("CLERK_ISSUER: %w", err)
		}
		log.Info().Str("issuer", cfg.ClerkIssuer).Strs("authorized_parties", cfg.ClerkAuthorizedParties).Msg("accepting Clerk session tokens beside API keys")
	}
	extra := map[string]http.Handler{}
	if fns, ok := a.Store.(*sqlitestore.Store); ok {
		// The embedded engine serves the admin functions itself; on Convex
		// the portal and the CLI call the deployment.
		extra["/api/"] = adminapi.Handler(adminapi.Options{Functions: quotaChanges{fns, func(u string) { a.Leases.Refresh(u) }}, Auth: authn, Log: log})
	}
	portalDir, perr := portal.Resolve(cfg.PortalDir, portalBases()...)
	if perr != nil {
		log.Warn().Str("PORTAL_DIR", cfg.PortalDir).Str("looked_in", portalDir).Msg("admin portal not found: /admin answers 503; run make portal, or set PORTAL_DIR to the built portal (portal/dist)")
	}
	extra["/admin/"] = http.StripPrefix("/admin", portal.Handler(portalDir))
	extra["/admin"] = http.RedirectHandler("/admin/", http.StatusMovedPermanently)
	a.Metrics = metrics.New(a.Outbox)
	prevHolder, holder, err := quotalease.TakeHolder(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	changes, _ := a.Store.(store.QuotaChanges)
	a.Leases = quotalease.New(quotalease.Options{Store: a.Store.(store.Leases), Holder: holder, Changes: changes, OnError: func(key string, err error) {
		log.Warn().Err(err).Bool("system_budget", key == "").Msg("quota lease renewal failed; the next call waits for a fresh lease")
	}})
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		a.Leases.Run(bgCtx) // renews in the background; gives every lease back at shutdown
	}()
	if rel, ok := a.Store.(store.LeaseRelease); ok && prevHolder != "" {
		a.bg.Add(1)
		go func() {
			defer a.bg.Done()
			a.releasePredecessor(bgCtx, rel, prevHolder, time.Now())
		}()
	}
	gw := gateway.New(gateway.Options{
		Upstream: a.Upstream, Auth: authn, Outbox: a.Outbox, Store: a.Store, Log: log, Metrics: a.Metrics,
		Quotas: a.Leases, QuotaFailClosed: cfg.QuotaFailClosed, QuotaTimeout: cfg.QuotaTimeout, UserWait: cfg.AuthTimeout,
		ClientWriteTimeout: cfg.WriteTimeout, CORSOrigins: cfg.CORSOrigins,
		Extra:        extra,
		MaxBodyBytes: cfg.MaxBodyBytes, IPPolicy: cfg.IPAddresses, Simulated: cfg.Simulated(), MaxOutbox: cfg.OutboxMax,
	})
	a.delivery = &outbox.Delivery{Outbox: a.Outbox, Sink: a.Store, Resolver: gw.NewResolver(opt.PendingGiveUp), Log: log,
		OnDelivered: func(rows int) { a.Metrics.DeliveredRows.Add(float64(rows)) },
		OnFailure:   a.Metrics.DeliveryFailures.Inc,
		MaxBackoff:  opt.MaxDeliveryBackoff,
	}
	if a.engine == "convex" {
		a.delivery.MaxBatchRows = convexstore.MaxIngestRows
	}
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		a.delivery.Run(bgCtx)
	}()

	js, err := jobs.New(cfg.Jobs, jobs.Deps{
		Store: a.Store.(jobs.Store), Location: cfg.ReportingTZ, Key: a.Upstream, Generations: a.Upstream, Outbox: a.Outbox,
		Log:   log.With().Str("component", "jobs").Logger(),
		OnRun: func(job string, o jobs.Outcome) { a.Metrics.JobRuns.WithLabelValues(job, string(o)).Inc() },
	})
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	if cfg.Jobs.Enabled {
		a.jobs = js
		js.Start(bgCtx) // catches up missed windows, then runs on cron
	}
	if cfg.PprofAddr != "" {
		if err := a.startPprof(cfg.PprofAddr); err != nil {
			return fmt.Errorf("PPROF_ADDR %s: %w", cfg.PprofAddr, err)
		}
	}

	reqCtx, abort := context.WithCancelCause(context.Background())
	a.abort = abort
	handler := gw.Handler()
	a.httpSrv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.inflight.Add(1)
			a.active.Add(1)
			defer func() {
				a.active.Add(-1)
				a.inflight.Done()
			}()
			handler.ServeHTTP(w, r)
		}),
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		Protocols:         serverProtocols(),
	}
	go func() {
		if err := a.httpSrv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("http server stopped")
		}
	}()
	log.Info().Str("addr", a.Addr()).Str("data_dir", cfg.DataDir).Str("engine", a.engine).Msg("llmmeter serving")
	return nil
}

// serverProtocols are what the gateway's port speaks: HTTP/1.1, and HTTP/2
// without TLS (h2c, prior knowledge) for a client or a proxy in front that
// opens its connection with the HTTP/2 preface. An HTTP/1.1 connection
// costs the service a goroutine and 10 KiB of buffers for as long as its
// stream is open; HTTP/2 carries many streams on one connection, which
// saves about a quarter of the memory and CPU per open stream
// (BENCHMARKS.md). TLS stays with the proxy in front, as before.
func serverProtocols() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &p
}

// bootstrap creates the first admin key if the store has no key at all, and
// prints it once.
func (a *App) bootstrap(ctx context.Context, stdout io.Writer) error {
	secret, err := auth.Bootstrap(ctx, a.Store)
	if err != nil {
		return err
	}
	if secret != "" {
		fmt.Fprintf(stdout, "\n  First start: created an admin API key. It is shown only this once:\n\n    %s\n\n", secret)
	}
	a.bootstrapped.Store(true)
	return nil
}

// bootstrapUntilDone retries bootstrap with doubling waits (up to
// maxBackoff) until it succeeds or ctx ends.
func (a *App) bootstrapUntilDone(ctx context.Context, stdout io.Writer, maxBackoff time.Duration) {
	wait := min(500*time.Millisecond, maxBackoff)
	for {
		err := a.bootstrap(ctx, stdout)
		if err == nil || ctx.Err() != nil {
			return
		}
		a.log.Warn().Err(err).Dur("retry_in", wait).Msg("store not answering: admin key bootstrap retried later; /readyz answers 503 meanwhile")
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, maxBackoff)
	}
}

// Bootstrapped reports whether the admin-key bootstrap has run (a key was
// created, or one existed already).
func (a *App) Bootstrapped() bool { return a.bootstrapped.Load() }

// portalBases are where a relative PORTAL_DIR is looked for, in order: the
// working directory, then beside the executable and its parent (bin/ in a
// checkout), so a binary started elsewhere still finds its portal.
func portalBases() []string {
	var bases []string
	if wd, err := os.Getwd(); err == nil {
		bases = append(bases, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			dir := filepath.Dir(exe)
			bases = append(bases, dir, filepath.Dir(dir))
		}
	}
	return bases
}

// DemoSimulator is the built-in simulator's pace for `make run`: answers
// that stream visibly, like a real model.
func DemoSimulator() openroutertest.Options {
	return openroutertest.Options{TimeToFirstToken: 250 * time.Millisecond, TokensPerSecond: 40, AnswerTokens: 60, GenerationDelay: time.Second}
}

// Addr is the address the gateway listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Shutdown stops taking requests and lets open calls finish until ctx
// ends. Calls still open then are cut with gateway.ErrShutdown: a stream
// ends with an error chunk, a plain call gets 503, and both are recorded.
// Then the outbox is finished within shutdownDrain: pending entries are
// resolved from OpenRouter's generation records (or, at the last moment,
// estimated for the backfill to confirm) and everything is delivered, so a
// replica whose disk is discarded loses nothing; the log says what is left.
func (a *App) Shutdown(ctx context.Context) error {
	err := a.httpSrv.Shutdown(ctx)
	if err != nil {
		a.log.Warn().Msg("shutdown deadline reached: cancelling the open calls")
	}
	a.abort(gateway.ErrShutdown)
	a.waitHandlers(10 * time.Second) // they return promptly once their context ends
	// A handler that has returned may still have its answer (a 503, a
	// stream's last chunk) in the connection's buffer: net/http flushes it
	// after the handler. A second Shutdown waits for that, briefly, so Close
	// does not cut an answer already written.
	fctx, fcancel := context.WithTimeout(context.Background(), 2*time.Second)
	a.httpSrv.Shutdown(fctx)
	fcancel()
	a.httpSrv.Close()
	a.inflight.Wait()
	a.stopBg()
	a.bg.Wait()
	drainCtx, cancel := context.WithTimeout(context.Background(), shutdownDrain)
	defer cancel()
	left, derr := a.delivery.Finish(drainCtx)
	switch {
	case derr != nil || left.Ready+left.Pending > 0 || left.Stalled > 0:
		a.log.Error().Err(derr).Int("ready", left.Ready).Int("pending", left.Pending).Int("dead", left.Dead).
			Int64("stalled_in_memory", int64(left.Stalled)).
			Msg("shutdown: outbox entries left for the next start on this DATA_DIR (stalled ones are lost if the disk stays full)")
	default:
		a.log.Info().Int("dead", left.Dead).Msg("shutdown: outbox delivered")
	}
	a.closeAll()
	return nil
}

// shutdownDrain bounds the delivery of what the outbox holds at shutdown.
const shutdownDrain = 15 * time.Second

// waitHandlers waits until no handler runs, or d passes.
func (a *App) waitHandlers(d time.Duration) {
	done := make(chan struct{})
	go func() { a.inflight.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// closeAll closes whatever is open, in the order that lets each part finish
// with the ones it uses; it also cleans up after a start that failed half way.
func (a *App) closeAll() {
	if a.httpSrv == nil && a.ln != nil {
		a.ln.Close() // Serve never ran; once it has, Shutdown closed it
	}
	if a.pprofSrv != nil {
		a.pprofSrv.Close()
	}
	if a.stopBg != nil {
		a.stopBg()
		a.bg.Wait() // delivery and bootstrap, before their store closes
	}
	if a.jobs != nil {
		a.jobs.Stop() // waits for running jobs, before their store closes
	}
	if a.Outbox != nil {
		a.Outbox.Close()
	}
	if a.Store != nil {
		a.Store.Close()
	}
	if a.Sim != nil {
		a.Sim.Close()
	}
}

// Drain ships every ready outbox entry now (tests use it to settle).
func (a *App) Drain(ctx context.Context) error { return a.delivery.Drain(ctx) }

// Active is the number of requests being served right now.
func (a *App) Active() int64 { return a.active.Load() }
