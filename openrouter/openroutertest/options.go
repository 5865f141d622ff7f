package openroutertest

import (
	"errors"
	"fmt"
	"time"

	"llmmeter/internal/money"
)

// Options configures a simulator. The zero value is a fast, keyless
// simulator with [DefaultModels], suitable for tests.
type Options struct {
	// Models is the price table; nil means DefaultModels().
	Models []Model
	// TimeToFirstToken is waited (on a timer) before the first chunk.
	TimeToFirstToken time.Duration
	// TokensPerSecond paces content tokens; 0 sends them as fast as possible.
	TokensPerSecond float64
	// AnswerTokens is the answer length in tokens; 0 means 20. A request's
	// max_tokens and a [sim:tokens n=…] directive override it.
	AnswerTokens int
	// TokensPerChunk is the number of content tokens per chunk; 0 means 1.
	TokensPerChunk int
	// GenerationDelay is how long GET /generation answers 404 after a
	// generation ended, as OpenRouter does for a second or so.
	GenerationDelay time.Duration
	// APIKey, if set, must arrive as "Authorization: Bearer <key>" on chat,
	// generation and key requests; otherwise they get 401.
	APIKey string
	// KeyLimit is the key's credit limit reported by GET /key; nil is no
	// limit. Once the ledger's total cost reaches it, chat requests get 402.
	KeyLimit *money.Nanos
	// Now is the clock for timestamps and GenerationDelay; nil means
	// time.Now. Pacing always uses real timers.
	Now func() time.Time
	// KeepAliveComments is kept so that Options{KeepAliveComments: true}
	// reads naturally: comments are on by default (as on OpenRouter), and a
	// bool cannot tell "unset" from false. Use NoKeepAliveComments to turn
	// them off.
	KeepAliveComments bool
	// FaultRate is the fraction (0..1) of chat requests that get a random
	// fault from [RandomFaults] when no fault is queued or asked for by a
	// directive: background trouble for fault-matrix runs. 0 is none.
	FaultRate float64
	// NoKeepAliveComments suppresses the ": OPENROUTER PROCESSING" comments
	// sent before the first chunk and every few chunks after.
	NoKeepAliveComments bool
}

const (
	defaultAnswerTokens   = 20
	defaultTokensPerChunk = 1
	// keepAliveEvery is the number of chunks between two comment lines.
	keepAliveEvery = 8
)

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	if o.TimeToFirstToken < 0 {
		errs = append(errs, errors.New("TimeToFirstToken is negative"))
	}
	if o.TokensPerSecond < 0 {
		errs = append(errs, errors.New("TokensPerSecond is negative"))
	}
	if o.AnswerTokens < 0 {
		errs = append(errs, errors.New("AnswerTokens is negative"))
	}
	if o.TokensPerChunk < 0 {
		errs = append(errs, errors.New("TokensPerChunk is negative"))
	}
	if o.GenerationDelay < 0 {
		errs = append(errs, errors.New("GenerationDelay is negative"))
	}
	if o.FaultRate < 0 || o.FaultRate > 1 || o.FaultRate != o.FaultRate {
		errs = append(errs, errors.New("FaultRate is not in 0..1"))
	}
	if o.KeyLimit != nil && *o.KeyLimit < 0 {
		errs = append(errs, errors.New("KeyLimit is negative"))
	}
	seen := map[string]bool{}
	for i, m := range o.Models {
		if err := m.validate(); err != nil {
			errs = append(errs, fmt.Errorf("Models[%d]: %w", i, err))
		}
		if seen[m.ID] {
			errs = append(errs, fmt.Errorf("Models[%d]: duplicate id %q", i, m.ID))
		}
		seen[m.ID] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("openroutertest: invalid options: %w", err)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Models == nil {
		o.Models = DefaultModels()
	}
	if o.AnswerTokens == 0 {
		o.AnswerTokens = defaultAnswerTokens
	}
	if o.TokensPerChunk == 0 {
		o.TokensPerChunk = defaultTokensPerChunk
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// tokenInterval is the pacing wait for n tokens.
func (o Options) tokenInterval(n int64) time.Duration {
	if o.TokensPerSecond <= 0 || n <= 0 {
		return 0
	}
	return time.Duration(float64(n) * float64(time.Second) / o.TokensPerSecond)
}
