package app

import (
	"context"
	"time"

	"llmmeter/internal/quotalease"
	"llmmeter/internal/store"
)

// releasePredecessor lets go of the quota leases the previous run on this
// data directory left (killed, it could not give them back) once every
// call it put in the outbox is delivered: the outbox then holds nothing
// older than this run, started at started (see quotalease.Predecessor).
func (a *App) releasePredecessor(ctx context.Context, rel store.LeaseRelease, holder string, started time.Time) {
	n, err := quotalease.Predecessor{Holder: holder, Store: rel, Delivered: func(ctx context.Context) (bool, error) {
		st, err := a.Outbox.Stats(ctx)
		if err != nil {
			return false, err
		}
		return st.Ready+st.Pending == 0 || st.OldestMs < time.Since(started).Milliseconds(), nil
	}}.Release(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		a.log.Warn().Err(err).Msg("the previous run's quota leases stay held until they lapse")
	case n > 0:
		a.log.Info().Int("leases", n).Msg("released the quota leases the previous run left")
	}
}
