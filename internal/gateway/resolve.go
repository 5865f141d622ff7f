package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"llmmeter/internal/metrics"
	"llmmeter/internal/outbox"
	"llmmeter/internal/store"
	"llmmeter/openrouter"
)

// Resolver completes pending outbox entries from OpenRouter's generation
// record: tokens, cost and cancellation as OpenRouter billed them. After
// GiveUpAfter it settles for an estimate from /models pricing, marked
// estimated, which the backfill job confirms later.
//
// A settled row is added to the token and cost metrics here, as the gateway
// adds a row that was final at request end: the counters follow the rows.
// (If putting the settled row back fails, the next attempt counts it again.)
type Resolver struct {
	Upstream    *openrouter.Client
	GiveUpAfter time.Duration
	Log         zerolog.Logger
	Now         func() time.Time
	Metrics     *metrics.Metrics // nil: not counted
	models      *modelCache
}

// NewResolver returns a Resolver that estimates with the server's price
// cache and counts into the server's metrics.
func (s *Server) NewResolver(giveUpAfter time.Duration) *Resolver {
	return &Resolver{Upstream: s.opt.Upstream, GiveUpAfter: giveUpAfter, Log: s.opt.Log, Now: s.opt.Now, Metrics: s.opt.Metrics, models: s.models}
}

var _ outbox.Resolver = (*Resolver)(nil)

// Resolve implements outbox.Resolver.
func (r *Resolver) Resolve(ctx context.Context, e outbox.Entry) (store.Batch, error) {
	b := e.Batch
	if len(b.Usage) == 0 {
		return b, nil
	}
	u := &b.Usage[0]
	gen, err := r.Upstream.GetGeneration(ctx, u.GenerationID)
	if err == nil {
		applyGeneration(u, gen)
		r.count(gen.Model, *u)
		return b, nil
	}
	if ctx.Err() != nil || (!e.LastChance && r.Now().Sub(time.UnixMilli(e.CreatedAt)) < r.GiveUpAfter) {
		return store.Batch{}, err
	}
	label := "none" // the model label never carries the caller's free text
	if p, ok := r.models.pricing(ctx, u.Model); ok && p.Known() {
		label = u.Model
		if u.Cost == 0 {
			u.Cost = p.Cost(openrouter.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens})
		}
	}
	u.CostStatus = store.CostEstimated
	r.Log.Warn().Err(errors.Unwrap(err)).Str("generation_id", u.GenerationID).Str("cost_usd", u.Cost.String()).
		Msg("generation record unavailable; recording an estimate for the backfill to confirm")
	r.count(label, *u)
	return b, nil
}

func (r *Resolver) count(model string, u store.Usage) {
	if r.Metrics == nil {
		return
	}
	if model == "" {
		model = "none"
	}
	countUsage(r.Metrics, model, u)
}

// applyGeneration takes OpenRouter's billed figures. Native token counts
// are what the usage object reports, so they win over normalized ones.
func applyGeneration(u *store.Usage, g *openrouter.Generation) {
	pick := func(native, normalized int64) int64 {
		if native > 0 {
			return native
		}
		return normalized
	}
	u.PromptTokens = pick(g.NativeTokensPrompt, g.TokensPrompt)
	u.CompletionTokens = pick(g.NativeTokensCompletion, g.TokensCompletion)
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	u.CachedTokens, u.ReasoningTokens = g.NativeTokensCached, g.NativeTokensReasoning
	u.Cost, u.CostStatus, u.Cancelled = g.TotalCost, store.CostConfirmed, g.Cancelled
	if g.Model != "" {
		u.Model = g.Model
	}
	if g.ProviderName != "" {
		u.Provider = g.ProviderName
	}
	if u.FinishReason == "" {
		u.FinishReason = g.FinishReason
	}
	u.IsBYOK = g.IsBYOK
}
