package app

import (
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startPprof serves the profiler on its own listener (PPROF_ADDR), never on
// the gateway's: profiles expose internals and cost CPU. Config refuses a
// non-loopback address unless PPROF_ALLOW_REMOTE=true. The command line is
// never served: it may carry secrets given as flags (-openrouter-api-key).
func (a *App) startPprof(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	a.pprofSrv = &http.Server{Handler: pprofMux(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.pprofSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Warn().Err(err).Str("addr", addr).Msg("pprof listener stopped")
		}
	}()
	a.pprofAddr = ln.Addr().String()
	a.log.Info().Str("addr", a.pprofAddr).Msg("pprof listening")
	return nil
}

func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.Handle("/debug/pprof/cmdline", http.NotFoundHandler())
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// PprofAddr is the profiler's address; "" when PPROF_ADDR is not set.
func (a *App) PprofAddr() string { return a.pprofAddr }
