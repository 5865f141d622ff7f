package openroutertest

import (
	"errors"
	"net/http"
	"strings"

	"llmmeter/internal/money"
)

// Model is one row of the simulator's price table. Prices are USD per
// token, except Request, which is USD per request.
type Model struct {
	ID, Name        string
	ContextLength   int64
	Prompt          money.Price
	Completion      money.Price
	Request         money.Price
	InputCacheRead  money.Price // 0: the model has no prompt caching
	InputCacheWrite money.Price
	Provider        string // provider_name on the wire, e.g. "OpenAI"
}

func (m Model) validate() error {
	var errs []error
	if m.ID == "" {
		errs = append(errs, errors.New("empty ID"))
	}
	if m.Provider == "" {
		errs = append(errs, errors.New("empty Provider"))
	}
	if m.Prompt < 0 || m.Completion < 0 || m.Request < 0 || m.InputCacheRead < 0 || m.InputCacheWrite < 0 {
		errs = append(errs, errors.New("negative price"))
	}
	return errors.Join(errs...)
}

// reasons reports whether the model always produces reasoning tokens.
func (m Model) reasons() bool { return strings.Contains(m.ID, "reason") }

// DefaultModels returns a realistic price table: a cheap and a premium
// model with prompt caching, sub-nano-dollar prices, a reasoning model with
// a per-request price, and a free model.
func DefaultModels() []Model {
	p := func(s string) money.Price {
		v, err := money.ParsePrice(s)
		if err != nil {
			panic(err)
		}
		return v
	}
	return []Model{
		{ID: "openai/gpt-4o-mini", Name: "OpenAI: GPT-4o-mini", ContextLength: 128000,
			Prompt: p("0.00000015"), Completion: p("0.0000006"), InputCacheRead: p("0.000000075"),
			Provider: "OpenAI"},
		{ID: "anthropic/claude-3.5-sonnet", Name: "Anthropic: Claude 3.5 Sonnet", ContextLength: 200000,
			Prompt: p("0.000003"), Completion: p("0.000015"),
			InputCacheRead: p("0.0000003"), InputCacheWrite: p("0.00000375"),
			Provider: "Anthropic"},
		{ID: "google/gemini-flash-1.5", Name: "Google: Gemini 1.5 Flash", ContextLength: 1000000,
			Prompt: p("0.000000075"), Completion: p("0.0000003"), InputCacheRead: p("0.00000001875"),
			Provider: "Google"},
		{ID: "mistralai/mistral-nemo", Name: "Mistral: Mistral Nemo", ContextLength: 131072,
			Prompt: p("0.0000000375"), Completion: p("0.00000008"),
			Provider: "Mistral"},
		{ID: "perplexity/sonar-reasoning", Name: "Perplexity: Sonar Reasoning", ContextLength: 127000,
			Prompt: p("0.000001"), Completion: p("0.000005"), Request: p("0.005"),
			Provider: "Perplexity"},
		{ID: "meta-llama/llama-3.1-8b-instruct:free", Name: "Meta: Llama 3.1 8B Instruct (free)", ContextLength: 131072,
			Provider: "Chutes"},
	}
}

type modelsBody struct {
	Data []modelJSON `json:"data"`
}

type modelJSON struct {
	ID                  string           `json:"id"`
	CanonicalSlug       string           `json:"canonical_slug"`
	HuggingFaceID       string           `json:"hugging_face_id"`
	Name                string           `json:"name"`
	Created             int64            `json:"created"`
	Description         string           `json:"description"`
	ContextLength       int64            `json:"context_length"`
	Architecture        architectureJSON `json:"architecture"`
	Pricing             pricingJSON      `json:"pricing"`
	TopProvider         topProviderJSON  `json:"top_provider"`
	PerRequestLimits    *struct{}        `json:"per_request_limits"`
	SupportedParameters []string         `json:"supported_parameters"`
}

type architectureJSON struct {
	Modality         string   `json:"modality"`
	InputModalities  []string `json:"input_modalities"`
	OutputModalities []string `json:"output_modalities"`
	Tokenizer        string   `json:"tokenizer"`
	InstructType     *string  `json:"instruct_type"`
}

// pricingJSON quotes prices the way OpenRouter does: decimal strings
// ([money.Price.MarshalJSON]); the cache prices only when the model has them.
type pricingJSON struct {
	Prompt            money.Price  `json:"prompt"`
	Completion        money.Price  `json:"completion"`
	Request           money.Price  `json:"request"`
	Image             money.Price  `json:"image"`
	WebSearch         money.Price  `json:"web_search"`
	InternalReasoning money.Price  `json:"internal_reasoning"`
	InputCacheRead    *money.Price `json:"input_cache_read,omitempty"`
	InputCacheWrite   *money.Price `json:"input_cache_write,omitempty"`
}

type topProviderJSON struct {
	ContextLength       int64 `json:"context_length"`
	MaxCompletionTokens int64 `json:"max_completion_tokens"`
	IsModerated         bool  `json:"is_moderated"`
}

var tokenizers = map[string]string{
	"openai": "GPT", "anthropic": "Claude", "google": "Gemini",
	"mistralai": "Mistral", "meta-llama": "Llama3",
}

func (m Model) toJSON() modelJSON {
	owner, _, _ := strings.Cut(m.ID, "/")
	tok := tokenizers[owner]
	if tok == "" {
		tok = "Other"
	}
	params := []string{"max_tokens", "temperature", "top_p", "stop", "frequency_penalty",
		"presence_penalty", "seed", "response_format", "tools", "tool_choice"}
	if m.reasons() {
		params = append(params, "reasoning", "include_reasoning")
	}
	pr := pricingJSON{Prompt: m.Prompt, Completion: m.Completion, Request: m.Request}
	if m.InputCacheRead != 0 {
		v := m.InputCacheRead
		pr.InputCacheRead = &v
	}
	if m.InputCacheWrite != 0 {
		v := m.InputCacheWrite
		pr.InputCacheWrite = &v
	}
	slug, _, _ := strings.Cut(m.ID, ":")
	return modelJSON{
		ID: m.ID, CanonicalSlug: slug, Name: m.Name,
		Created:       1721260800, // 2024-07-18, fixed so output is stable
		Description:   m.Name + " (simulated by openroutertest).",
		ContextLength: m.ContextLength,
		Architecture: architectureJSON{Modality: "text->text", InputModalities: []string{"text"},
			OutputModalities: []string{"text"}, Tokenizer: tok},
		Pricing: pr,
		TopProvider: topProviderJSON{ContextLength: m.ContextLength, MaxCompletionTokens: 16384,
			IsModerated: owner == "openai" || owner == "anthropic"},
		SupportedParameters: params,
	}
}

func (s *Simulator) serveModels(w http.ResponseWriter, r *http.Request) {
	body := modelsBody{Data: make([]modelJSON, 0, len(s.opts.Models))}
	for _, m := range s.opts.Models {
		body.Data = append(body.Data, m.toJSON())
	}
	writeJSON(w, http.StatusOK, body)
}
