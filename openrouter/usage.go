package openrouter

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"

	"llmmeter/internal/money"
)

// Usage is OpenRouter's usage object, sent once per call: in the last chunk
// before [DONE] of a stream, or in a non-streamed response.
//
// Decoding is lenient so accounting survives sloppy upstreams: counts may
// be ints, floats, numeric strings or null, negative counts become 0, null
// or missing detail objects read as zero, and a cost that is null, not a
// number or negative reads as absent (nil).
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"` // includes reasoning tokens
	TotalTokens      int64 `json:"total_tokens"`
	// Cost is what OpenRouter charged, in USD; nil when absent or null.
	Cost   *money.Nanos `json:"cost,omitempty"`
	IsBYOK bool         `json:"is_byok"`

	PromptTokensDetails     PromptTokensDetails     `json:"prompt_tokens_details"`
	CompletionTokensDetails CompletionTokensDetails `json:"completion_tokens_details"`
	// CostDetails is set for BYOK calls, where the upstream provider bills.
	CostDetails *CostDetails `json:"cost_details,omitempty"`
}

// PromptTokensDetails breaks down Usage.PromptTokens.
type PromptTokensDetails struct {
	CachedTokens     int64 `json:"cached_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	AudioTokens      int64 `json:"audio_tokens"`
}

// CompletionTokensDetails breaks down Usage.CompletionTokens.
type CompletionTokensDetails struct {
	ReasoningTokens int64 `json:"reasoning_tokens"`
	ImageTokens     int64 `json:"image_tokens"`
	AudioTokens     int64 `json:"audio_tokens"`
}

// CostDetails is usage.cost_details.
type CostDetails struct {
	UpstreamInferenceCost            *money.Nanos `json:"upstream_inference_cost,omitempty"`
	UpstreamInferencePromptCost      *money.Nanos `json:"upstream_inference_prompt_cost,omitempty"`
	UpstreamInferenceCompletionsCost *money.Nanos `json:"upstream_inference_completions_cost,omitempty"`
}

// UnmarshalJSON decodes leniently; see Usage. Only a value that is not an
// object is an error.
func (u *Usage) UnmarshalJSON(b []byte) error {
	if !isObject(b) {
		return errNotObject
	}
	var w usageWire
	if err := json.Unmarshal(b, &w); err != nil && !isTypeError(err) {
		return err
	}
	*u = w.usage()
	return nil
}

// usageWire is the usage object as decoded, by encoding/json or by the
// chunk scanner (scanner.usage), which calls the same field decoders on
// the same bytes; usage() is the one place the two become a Usage.
type usageWire struct {
	PromptTokens            count                  `json:"prompt_tokens"`
	CompletionTokens        count                  `json:"completion_tokens"`
	TotalTokens             count                  `json:"total_tokens"`
	Cost                    optNanos               `json:"cost"`
	IsBYOK                  flexBool               `json:"is_byok"`
	PromptTokensDetails     *promptDetailsWire     `json:"prompt_tokens_details"`
	CompletionTokensDetails *completionDetailsWire `json:"completion_tokens_details"`
	CostDetails             *costDetailsWire       `json:"cost_details"`
}

type promptDetailsWire struct {
	CachedTokens     count `json:"cached_tokens"`
	CacheWriteTokens count `json:"cache_write_tokens"`
	AudioTokens      count `json:"audio_tokens"`
}

type completionDetailsWire struct {
	ReasoningTokens count `json:"reasoning_tokens"`
	ImageTokens     count `json:"image_tokens"`
	AudioTokens     count `json:"audio_tokens"`
}

type costDetailsWire struct {
	UpstreamInferenceCost            optNanos `json:"upstream_inference_cost"`
	UpstreamInferencePromptCost      optNanos `json:"upstream_inference_prompt_cost"`
	UpstreamInferenceCompletionsCost optNanos `json:"upstream_inference_completions_cost"`
}

func (w *usageWire) usage() Usage {
	u := Usage{
		PromptTokens:     int64(w.PromptTokens),
		CompletionTokens: int64(w.CompletionTokens),
		TotalTokens:      int64(w.TotalTokens),
		Cost:             w.Cost.cost(),
		IsBYOK:           bool(w.IsBYOK),
	}
	if d := w.PromptTokensDetails; d != nil {
		u.PromptTokensDetails = PromptTokensDetails{int64(d.CachedTokens), int64(d.CacheWriteTokens), int64(d.AudioTokens)}
	}
	if d := w.CompletionTokensDetails; d != nil {
		u.CompletionTokensDetails = CompletionTokensDetails{int64(d.ReasoningTokens), int64(d.ImageTokens), int64(d.AudioTokens)}
	}
	if d := w.CostDetails; d != nil {
		u.CostDetails = &CostDetails{d.UpstreamInferenceCost.cost(), d.UpstreamInferencePromptCost.cost(), d.UpstreamInferenceCompletionsCost.cost()}
	}
	return u
}

// count is a non-negative integer that accepts ints, floats, numeric
// strings and null, saturating instead of failing: a bad count must not
// cost the whole usage record.
type count int64

func (c *count) UnmarshalJSON(b []byte) error {
	*c = count(parseCount(b))
	return nil
}

func parseCount(b []byte) int64 {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = bytes.TrimSpace(b[1 : len(b)-1])
	}
	if len(b) == 0 || b[0] == '-' {
		return 0
	}
	s := string(b)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	} else if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		return math.MaxInt64
	}
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil && !isRangeErr(err), f != f, f <= 0:
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	}
	return int64(math.Round(f))
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// optNanos is a dollar amount that may be null, missing or garbage, which
// all read as absent rather than failing the enclosing object.
type optNanos struct {
	v  money.Nanos
	ok bool
}

func (o *optNanos) UnmarshalJSON(b []byte) error {
	v, err := money.ParseUSD(unquoteJSON(b))
	*o = optNanos{v, err == nil}
	return nil
}

// ptr is the amount, nil when absent.
func (o optNanos) ptr() *money.Nanos {
	if !o.ok {
		return nil
	}
	v := o.v
	return &v
}

// cost is the amount as a charge: nil when absent or negative, since a
// negative charge would silently shrink exact sums.
func (o optNanos) cost() *money.Nanos {
	if o.v < 0 {
		return nil
	}
	return o.ptr()
}

// val is the charge, 0 when absent or negative.
func (o optNanos) val() money.Nanos {
	if p := o.cost(); p != nil {
		return *p
	}
	return 0
}

// flexBool accepts true/false and their string forms; anything else is false.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := unquoteJSON(b)
	*f = s == "true" || s == "1"
	return nil
}

func unquoteJSON(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	return string(b)
}

var errNotObject = errors.New("openrouter: expected a JSON object")

func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func isTypeError(err error) bool {
	_, ok := err.(*json.UnmarshalTypeError)
	return ok
}
