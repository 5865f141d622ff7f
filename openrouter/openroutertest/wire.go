package openroutertest

import (
	"strings"

	"llmmeter/internal/money"
)

// usd writes Nanos as a JSON number of dollars with exact digits and no
// trailing zeros ("0.0000123", "0"), so it parses back to the same Nanos.
type usd money.Nanos

func (u usd) MarshalJSON() ([]byte, error) { return []byte(usdText(money.Nanos(u))), nil }

func usdText(n money.Nanos) string {
	s := n.String()
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// usageJSON is the usage object, in OpenRouter's field order.
type usageJSON struct {
	PromptTokens            int64                  `json:"prompt_tokens"`
	CompletionTokens        int64                  `json:"completion_tokens"`
	TotalTokens             int64                  `json:"total_tokens"`
	Cost                    usd                    `json:"cost"`
	IsBYOK                  bool                   `json:"is_byok"`
	PromptTokensDetails     promptTokensDetails    `json:"prompt_tokens_details"`
	CostDetails             costDetails            `json:"cost_details"`
	CompletionTokensDetails completionTokenDetails `json:"completion_tokens_details"`
}

type promptTokensDetails struct {
	CachedTokens     int64 `json:"cached_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	AudioTokens      int64 `json:"audio_tokens"`
}

// costDetails is what OpenRouter sends for non-BYOK calls: the upstream
// cost is null and its parts zero.
type costDetails struct {
	UpstreamInferenceCost            *usd `json:"upstream_inference_cost"`
	UpstreamInferencePromptCost      usd  `json:"upstream_inference_prompt_cost"`
	UpstreamInferenceCompletionsCost usd  `json:"upstream_inference_completions_cost"`
}

type completionTokenDetails struct {
	ReasoningTokens int64 `json:"reasoning_tokens"`
	ImageTokens     int64 `json:"image_tokens"`
	AudioTokens     int64 `json:"audio_tokens"`
}

func (t tally) usageJSON() *usageJSON {
	return &usageJSON{
		PromptTokens:            t.prompt,
		CompletionTokens:        t.completion,
		TotalTokens:             t.prompt + t.completion,
		Cost:                    usd(t.cost),
		PromptTokensDetails:     promptTokensDetails{CachedTokens: t.cached},
		CompletionTokensDetails: completionTokenDetails{ReasoningTokens: t.reasoning},
	}
}

// chunkJSON is one chat.completion.chunk event.
type chunkJSON struct {
	ID       string        `json:"id"`
	Provider string        `json:"provider"`
	Model    string        `json:"model"`
	Object   string        `json:"object"`
	Created  int64         `json:"created"`
	Choices  []chunkChoice `json:"choices"`
	Error    *wireError    `json:"error,omitempty"`
	Usage    *usageJSON    `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index              int       `json:"index"`
	Delta              deltaJSON `json:"delta"`
	FinishReason       *string   `json:"finish_reason"`
	NativeFinishReason *string   `json:"native_finish_reason"`
	Logprobs           *struct{} `json:"logprobs"`
}

type deltaJSON struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// completionJSON is a non-streaming chat.completion. It is exactly what
// openrouter.Assembler makes of the stream of the same generation: the
// simulator, like the providers it imitates, sends no system_fingerprint,
// and an error choice carries no usage in either shape.
type completionJSON struct {
	ID       string           `json:"id"`
	Provider string           `json:"provider"`
	Model    string           `json:"model"`
	Object   string           `json:"object"`
	Created  int64            `json:"created"`
	Choices  []completionItem `json:"choices"`
	Usage    *usageJSON       `json:"usage,omitempty"`
}

type completionItem struct {
	Logprobs           *struct{}   `json:"logprobs"`
	FinishReason       *string     `json:"finish_reason"`
	NativeFinishReason *string     `json:"native_finish_reason"`
	Index              int         `json:"index"`
	Message            messageJSON `json:"message"`
	Error              *wireError  `json:"error,omitempty"`
}

type messageJSON struct {
	Role      string  `json:"role"`
	Content   string  `json:"content"`
	Refusal   *string `json:"refusal"`
	Reasoning *string `json:"reasoning"`
}

// nullable returns nil for "" so that the field is written as null.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nativeFinish is the provider's own word for a finish reason.
func nativeFinish(provider, finish string) string {
	switch finish {
	case "":
		return ""
	case "error":
		return "error"
	}
	switch provider {
	case "Anthropic":
		if finish == "length" {
			return "max_tokens"
		}
		return "end_turn"
	case "Google":
		if finish == "length" {
			return "MAX_TOKENS"
		}
		return "STOP"
	}
	return finish
}
