package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"llmmeter/internal/store"
	"llmmeter/openrouter"
)

// GenerationSource looks up generation records (*openrouter.Client; its
// GetGeneration already polls the early 404 for Config.GenerationWait).
type GenerationSource interface {
	GetGeneration(ctx context.Context, id string) (*openrouter.Generation, error)
}

// Backfill upgrades usage rows whose cost is still "estimated" (computed
// from /models pricing) with the tokens and cost of OpenRouter's
// generation record, marking them "confirmed"; the store moves aggregates
// and quota counters by the difference. Rows younger than
// MinAge wait (the record lags); a record still missing after the client's
// polling is retried next run; at most Batch look-ups per run.
type Backfill struct {
	Store    Store
	Gen      GenerationSource
	MinAge   time.Duration
	Lookback time.Duration
	Batch    int
}

// Name implements Job.
func (b *Backfill) Name() string { return JobBackfill }

// CatchUp implements CatchUpper: each run looks back Lookback anyway.
func (b *Backfill) CatchUp() CatchUp { return CatchUpLatest }

// maxBackfillPages bounds the scan of one run.
const maxBackfillPages = 200

// Run implements Job.
func (b *Backfill) Run(ctx context.Context, w Window) (Counts, error) {
	counts := Counts{}
	to := w.To.Add(-b.MinAge).UnixMilli()
	from := w.To.Add(-b.Lookback).UnixMilli()
	var todo []store.Usage
	cursor := ""
	for range maxBackfillPages {
		pg, err := b.Store.RawPage(ctx, RawUsage, from, to, cursor, PageSize)
		if err != nil {
			return counts, err
		}
		for _, u := range pg.Usage {
			if u.CostStatus == store.CostEstimated && len(todo) < b.Batch {
				todo = append(todo, u)
			}
		}
		if pg.Next == "" || len(todo) >= b.Batch {
			break
		}
		cursor = pg.Next
	}
	counts["estimated"] = int64(len(todo))
	var errs []error
	for _, u := range todo {
		g, err := b.Gen.GetGeneration(ctx, u.GenerationID)
		if errors.Is(err, openrouter.ErrGenerationNotFound) {
			counts["notFound"]++
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return counts, ctx.Err()
			}
			counts["failed"]++
			errs = append(errs, fmt.Errorf("generation %s: %w", u.GenerationID, err))
			continue
		}
		ok, err := b.Store.ConfirmUsage(ctx, UsageConfirmation{
			GenerationID: u.GenerationID, PromptTokens: g.TokensPrompt, CompletionTokens: g.TokensCompletion,
			TotalTokens: g.TokensPrompt + g.TokensCompletion, CachedTokens: g.NativeTokensCached,
			ReasoningTokens: g.NativeTokensReasoning, CostNanoUsd: int64(g.TotalCost),
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("confirm %s: %w", u.GenerationID, err))
			continue
		}
		if ok {
			counts["confirmed"]++
		}
	}
	if len(errs) > 5 {
		errs = append(errs[:5], fmt.Errorf("and %d more", len(errs)-5))
	}
	return counts, errors.Join(errs...)
}
