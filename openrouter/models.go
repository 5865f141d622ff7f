package openrouter

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"

	"llmmeter/internal/money"
)

// Model is one entry of GET /models.
type Model struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	Created       int64   `json:"created"`
	ContextLength int64   `json:"context_length"`
	Pricing       Pricing `json:"pricing"`
	// MaxCompletionTokens is top_provider.max_completion_tokens: the most
	// tokens one completion may have; 0 when OpenRouter does not say.
	MaxCompletionTokens int64 `json:"-"`
}

// UnmarshalJSON tolerates null or fractional numbers.
func (m *Model) UnmarshalJSON(b []byte) error {
	var w struct {
		ID            string  `json:"id"`
		Name          string  `json:"name"`
		Created       count   `json:"created"`
		ContextLength count   `json:"context_length"`
		Pricing       Pricing `json:"pricing"`
		TopProvider   struct {
			MaxCompletionTokens count `json:"max_completion_tokens"`
		} `json:"top_provider"`
	}
	if err := json.Unmarshal(b, &w); err != nil && !isTypeError(err) {
		return err
	}
	*m = Model{w.ID, w.Name, int64(w.Created), int64(w.ContextLength), w.Pricing, int64(w.TopProvider.MaxCompletionTokens)}
	return nil
}

// UnknownPrice stands for a price that cannot be known in advance: OpenRouter
// sends "-1" for router models (e.g. openrouter/auto) whose price is that of
// the model they route to, and a price that does not parse is read the same
// way. Any negative price is unknown; see Pricing.Known.
const UnknownPrice money.Price = -1_000_000_000_000_000

// Pricing is a model's prices in USD per token (Request per request, Image
// per input image, WebSearch per search). A missing or null price is 0, as
// is "0", which means free.
type Pricing struct {
	Prompt            money.Price `json:"prompt"`
	Completion        money.Price `json:"completion"`
	Request           money.Price `json:"request"`
	Image             money.Price `json:"image"`
	InputCacheRead    money.Price `json:"input_cache_read"`
	InputCacheWrite   money.Price `json:"input_cache_write"`
	InternalReasoning money.Price `json:"internal_reasoning"`
	WebSearch         money.Price `json:"web_search"`

	// quoted marks cache prices present on the wire, so that a quoted "0"
	// (free cache reads) is not mistaken for a missing one.
	quoted uint8
}

const (
	quotedCacheRead uint8 = 1 << iota
	quotedCacheWrite
)

// UnmarshalJSON reads prices given as strings or numbers, never failing:
// an unreadable price becomes UnknownPrice.
func (p *Pricing) UnmarshalJSON(b []byte) error {
	var w map[string]json.RawMessage
	if err := json.Unmarshal(b, &w); err != nil {
		if isNull(b) {
			return nil
		}
		return err
	}
	*p = Pricing{}
	read := func(key string, dst *money.Price) bool {
		v, ok := w[key]
		if !ok || isNull(v) {
			return false
		}
		price, err := money.ParsePrice(unquoteJSON(v))
		if err != nil {
			price = UnknownPrice
		}
		*dst = price
		return true
	}
	read("prompt", &p.Prompt)
	read("completion", &p.Completion)
	read("request", &p.Request)
	read("image", &p.Image)
	read("internal_reasoning", &p.InternalReasoning)
	read("web_search", &p.WebSearch)
	if read("input_cache_read", &p.InputCacheRead) {
		p.quoted |= quotedCacheRead
	}
	if read("input_cache_write", &p.InputCacheWrite) {
		p.quoted |= quotedCacheWrite
	}
	return nil
}

// Known reports whether every price Cost uses is known (not negative). A
// gateway should not record Cost's result as an estimate when it is false.
func (p Pricing) Known() bool {
	return p.Prompt >= 0 && p.Completion >= 0 && p.Request >= 0 &&
		p.InputCacheRead >= 0 && p.InputCacheWrite >= 0
}

// Cost estimates what u cost at these prices, for when usage.cost is
// absent:
//
//	(prompt − cached − cacheWrite)·Prompt + cached·InputCacheRead
//	  + cacheWrite·InputCacheWrite + completion·Completion + Request
//
// A cache price missing from the wire (or zero in a Pricing built in code)
// falls back to Prompt. Reasoning tokens are part of completion_tokens on
// OpenRouter and are not counted again; images, web searches and audio are
// not priced. Unknown (negative) prices count as 0, so check Known. The sum
// is exact in 1e-15 USD and rounded once, half up, to a nano; it saturates
// instead of overflowing.
func (p Pricing) Cost(u Usage) money.Nanos {
	cached := max(u.PromptTokensDetails.CachedTokens, 0)
	written := max(u.PromptTokensDetails.CacheWriteTokens, 0)
	uncached := max(u.PromptTokens-cached-written, 0)
	readPrice, writePrice := p.InputCacheRead, p.InputCacheWrite
	if readPrice == 0 && p.quoted&quotedCacheRead == 0 {
		readPrice = p.Prompt
	}
	if writePrice == 0 && p.quoted&quotedCacheWrite == 0 {
		writePrice = p.Prompt
	}
	var a femtoSum
	a.add(uncached, p.Prompt)
	a.add(cached, readPrice)
	a.add(written, writePrice)
	a.add(u.CompletionTokens, p.Completion)
	a.add(1, p.Request)
	return a.nanos()
}

// femtoSum is an unsigned 128-bit sum of tokens × price in 1e-15 USD.
type femtoSum struct {
	hi, lo   uint64
	overflow bool
}

func (a *femtoSum) add(tokens int64, p money.Price) {
	if tokens <= 0 || p <= 0 {
		return
	}
	hi, lo := bits.Mul64(uint64(tokens), uint64(p))
	var carry uint64
	a.lo, carry = bits.Add64(a.lo, lo, 0)
	a.hi, carry = bits.Add64(a.hi, hi, carry)
	a.overflow = a.overflow || carry != 0
}

func (a *femtoSum) nanos() money.Nanos {
	const div = 1_000_000 // 1e-15 → 1e-9
	if a.overflow || a.hi >= div {
		return math.MaxInt64
	}
	q, r := bits.Div64(a.hi, a.lo, div)
	if r*2 >= div {
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return money.Nanos(q)
}

// Models lists the models with their pricing (GET /models).
func (c *Client) Models(ctx context.Context) ([]Model, error) {
	var out struct {
		Data []Model `json:"data"`
	}
	if err := c.getJSON(ctx, "/models", &out); err != nil {
		return nil, err
	}
	if out.Data == nil {
		return nil, fmt.Errorf("openrouter: GET /models: %w: no data", ErrMalformedResponse)
	}
	return out.Data, nil
}
