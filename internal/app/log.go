package app

import (
	"io"
	"time"

	"github.com/rs/zerolog"
)

// NewLogger returns the service's JSON logger at level (debug, info, warn,
// error); an unknown level means info.
func NewLogger(w io.Writer, level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}
