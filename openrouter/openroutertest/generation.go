package openroutertest

import (
	"net/http"
	"time"
)

// generationJSON is the data of GET /api/v1/generation, in OpenRouter's
// field order. Costs are exact dollar numbers; times are milliseconds.
type generationJSON struct {
	ID                     string  `json:"id"`
	TotalCost              usd     `json:"total_cost"`
	CreatedAt              string  `json:"created_at"`
	Model                  string  `json:"model"`
	Origin                 string  `json:"origin"`
	Usage                  usd     `json:"usage"`
	IsBYOK                 bool    `json:"is_byok"`
	UpstreamID             string  `json:"upstream_id"`
	CacheDiscount          *usd    `json:"cache_discount"`
	UpstreamInferenceCost  *usd    `json:"upstream_inference_cost"`
	AppID                  *int64  `json:"app_id"`
	Streamed               bool    `json:"streamed"`
	Cancelled              bool    `json:"cancelled"`
	ProviderName           string  `json:"provider_name"`
	Latency                int64   `json:"latency"`
	ModerationLatency      *int64  `json:"moderation_latency"`
	GenerationTime         int64   `json:"generation_time"`
	FinishReason           *string `json:"finish_reason"`
	NativeFinishReason     *string `json:"native_finish_reason"`
	TokensPrompt           int64   `json:"tokens_prompt"`
	TokensCompletion       int64   `json:"tokens_completion"`
	NativeTokensPrompt     int64   `json:"native_tokens_prompt"`
	NativeTokensCompletion int64   `json:"native_tokens_completion"`
	NativeTokensReasoning  int64   `json:"native_tokens_reasoning"`
	NativeTokensCached     int64   `json:"native_tokens_cached"`
	NumMediaPrompt         *int64  `json:"num_media_prompt"`
	NumMediaCompletion     *int64  `json:"num_media_completion"`
	NumSearchResults       *int64  `json:"num_search_results"`
	ExternalUser           *string `json:"external_user"`
}

// serveGeneration handles GET /api/v1/generation?id=…. Unknown ids,
// generations in flight and those that ended less than GenerationDelay ago
// are 404, as on OpenRouter.
func (s *Simulator) serveGeneration(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" {
		writeError(w, http.StatusBadRequest, `query parameter "id" is required`, nil)
		return
	}
	g, ok := s.Generation(id)
	if !ok || s.opts.Now().Before(g.EndedAt.Add(s.opts.GenerationDelay)) {
		writeError(w, http.StatusNotFound, "Generation not found", nil)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Data generationJSON `json:"data"`
	}{generationRecord(g)})
}

func generationRecord(g Generation) generationJSON {
	first := g.FirstTokenAt
	if first.IsZero() {
		first = g.EndedAt
	}
	return generationJSON{
		ID:                     g.ID,
		TotalCost:              usd(g.Cost),
		CreatedAt:              g.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000-07:00"),
		Model:                  g.Model,
		Usage:                  usd(g.Cost),
		UpstreamID:             "chatcmpl-" + g.ID[len(g.ID)-20:],
		Streamed:               g.Stream,
		Cancelled:              g.Cancelled,
		ProviderName:           g.Provider,
		Latency:                millis(first.Sub(g.CreatedAt)),
		GenerationTime:         millis(g.EndedAt.Sub(first)),
		FinishReason:           nullable(g.FinishReason),
		NativeFinishReason:     nullable(nativeFinish(g.Provider, g.FinishReason)),
		TokensPrompt:           g.PromptTokens,
		TokensCompletion:       g.CompletionTokens,
		NativeTokensPrompt:     g.PromptTokens,
		NativeTokensCompletion: g.CompletionTokens,
		NativeTokensReasoning:  g.ReasoningTokens,
		NativeTokensCached:     g.CachedTokens,
		ExternalUser:           nullable(g.User),
	}
}

func millis(d time.Duration) int64 { return max(d.Milliseconds(), 0) }
