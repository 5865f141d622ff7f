package openrouter

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"llmmeter/internal/money"
)

// Generation is OpenRouter's record of one call, the source of truth for
// what it cost. Null or missing numbers read as zero (optional costs as nil).
type Generation struct {
	ID                 string
	Model              string
	ProviderName       string
	FinishReason       string
	NativeFinishReason string
	ExternalUser       string // the request's "user"
	UpstreamID         string
	Origin             string
	CreatedAt          string // as sent, e.g. "2024-01-15T13:04:05.123Z"

	TotalCost money.Nanos // what the call cost
	Usage     money.Nanos // what was charged to credits (0 for BYOK)
	// UpstreamInferenceCost is the provider's own charge on BYOK calls.
	UpstreamInferenceCost *money.Nanos
	// CacheDiscount is what caching saved; negative when cache writes cost
	// more than they saved.
	CacheDiscount *money.Nanos

	TokensPrompt           int64 // normalized (GPT) token counts
	TokensCompletion       int64
	NativeTokensPrompt     int64 // the provider's own counts, which it bills
	NativeTokensCompletion int64
	NativeTokensReasoning  int64
	NativeTokensCached     int64

	Latency        int64 // ms until the first token
	GenerationTime int64 // ms generating

	Cancelled, Streamed, IsBYOK bool
}

type generationWire struct {
	ID                     string   `json:"id"`
	Model                  string   `json:"model"`
	ProviderName           string   `json:"provider_name"`
	FinishReason           string   `json:"finish_reason"`
	NativeFinishReason     string   `json:"native_finish_reason"`
	ExternalUser           string   `json:"external_user"`
	UpstreamID             string   `json:"upstream_id"`
	Origin                 string   `json:"origin"`
	CreatedAt              string   `json:"created_at"`
	TotalCost              optNanos `json:"total_cost"`
	Usage                  optNanos `json:"usage"`
	UpstreamInferenceCost  optNanos `json:"upstream_inference_cost"`
	CacheDiscount          optNanos `json:"cache_discount"`
	TokensPrompt           count    `json:"tokens_prompt"`
	TokensCompletion       count    `json:"tokens_completion"`
	NativeTokensPrompt     count    `json:"native_tokens_prompt"`
	NativeTokensCompletion count    `json:"native_tokens_completion"`
	NativeTokensReasoning  count    `json:"native_tokens_reasoning"`
	NativeTokensCached     count    `json:"native_tokens_cached"`
	Latency                count    `json:"latency"`
	GenerationTime         count    `json:"generation_time"`
	Cancelled              flexBool `json:"cancelled"`
	Streamed               flexBool `json:"streamed"`
	IsBYOK                 flexBool `json:"is_byok"`
}

// GetGeneration fetches the record of generation id. The record can lag
// the end of a call by a second or so, so a 404 is polled (exponential
// delays from MinBackoff) until Config.GenerationWait has passed, then the
// error wraps ErrGenerationNotFound (and the last 404 APIError). Other
// failures are as for Chat.
func (c *Client) GetGeneration(ctx context.Context, id string) (*Generation, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: empty generation id", ErrInvalidRequest)
	}
	path := "/generation?id=" + url.QueryEscape(id)
	deadline := c.now().Add(c.generationWait)
	for attempt := 0; ; attempt++ {
		var out struct {
			Data *generationWire `json:"data"`
		}
		err := c.getJSON(ctx, path, &out)
		if err == nil {
			if out.Data == nil {
				return nil, fmt.Errorf("openrouter: generation %q: %w: no data", id, ErrMalformedResponse)
			}
			return out.Data.generation(), nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		left := deadline.Sub(c.now())
		if left <= 0 {
			return nil, fmt.Errorf("openrouter: generation %q: %w after %s: %w", id, ErrGenerationNotFound, c.generationWait, err)
		}
		if serr := c.sleep(ctx, min(c.pollDelay(attempt), left)); serr != nil {
			return nil, fmt.Errorf("openrouter: generation %q: %w (last error: %w)", id, serr, err)
		}
	}
}

func (w *generationWire) generation() *Generation {
	return &Generation{
		ID: w.ID, Model: w.Model, ProviderName: w.ProviderName,
		FinishReason: w.FinishReason, NativeFinishReason: w.NativeFinishReason,
		ExternalUser: w.ExternalUser, UpstreamID: w.UpstreamID, Origin: w.Origin,
		CreatedAt:             w.CreatedAt,
		TotalCost:             w.TotalCost.val(),
		Usage:                 w.Usage.val(),
		UpstreamInferenceCost: w.UpstreamInferenceCost.cost(),
		CacheDiscount:         w.CacheDiscount.ptr(),
		TokensPrompt:          int64(w.TokensPrompt), TokensCompletion: int64(w.TokensCompletion),
		NativeTokensPrompt: int64(w.NativeTokensPrompt), NativeTokensCompletion: int64(w.NativeTokensCompletion),
		NativeTokensReasoning: int64(w.NativeTokensReasoning), NativeTokensCached: int64(w.NativeTokensCached),
		Latency: int64(w.Latency), GenerationTime: int64(w.GenerationTime),
		Cancelled: bool(w.Cancelled), Streamed: bool(w.Streamed), IsBYOK: bool(w.IsBYOK),
	}
}
