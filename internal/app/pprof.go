package app

import (
	"errors"
	"net/http"
	"net/http/pprof"
	"time"
)

// startPprof serves the profiler on its own listener (PPROF_ADDR), never on
// the gateway's: profiles expose internals and cost CPU.
func (a *App) startPprof(addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	a.pprofSrv = &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.pprofSrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Warn().Err(err).Str("addr", addr).Msg("pprof listener stopped")
		}
	}()
	a.log.Info().Str("addr", addr).Msg("pprof listening")
}
