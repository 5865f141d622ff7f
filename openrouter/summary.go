package openrouter

import (
	"net/http"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
)

// Summary is what a call told us about itself, for accounting.
type Summary struct {
	// GenerationID is the X-Generation-Id header until the first chunk (or
	// the response) names its "id"; that one wins and later ids are ignored.
	GenerationID string
	// Model is the model actually used (the last non-empty "model"), which
	// differs from the request's when a fallback in "models" served it.
	Model              string
	Provider           string
	FinishReason       string // last non-empty finish_reason of any choice
	NativeFinishReason string // last non-empty native_finish_reason
	// Usage is the last usage object seen; nil if none arrived.
	Usage *Usage
	// Err is set when OpenRouter reported a failure inside a 200 body: an
	// error chunk, or a choice finishing with "error". When a choice says
	// "error" without an error object, Err is a generic StreamError.
	Err *StreamError
	// SawDone is true once "data: [DONE]" arrived. A stream that ended
	// without it may have been cut short.
	SawDone bool
	// Chunks counts data events that decoded; MalformedLines counts data
	// payloads that did not and lines that are not SSE at all.
	Chunks         int
	MalformedLines int
	// CompletionChars counts the characters (runes) of generated text seen:
	// content, reasoning, refusal and tool-call arguments, for estimating
	// completion tokens when usage is missing.
	CompletionChars int
}

// genericProviderError stands in when a choice finished with "error" but
// no error object came with it.
func genericProviderError() *StreamError {
	return &StreamError{Message: "the provider returned an error"}
}

func (s *Summary) fromHeader(h http.Header) {
	s.GenerationID = h.Get("X-Generation-Id")
}

// observeChunk folds one decoded chunk into the summary. idSeen tracks
// whether a chunk already supplied the generation id.
func (s *Summary) observeChunk(c *StreamChunk, idSeen *bool) {
	s.Chunks++
	if c.ID != "" && !*idSeen {
		s.GenerationID, *idSeen = c.ID, true
	}
	s.note(c.Model, c.Provider)
	failed := false
	for i := range c.Choices {
		ch := &c.Choices[i]
		s.finish(string(ch.FinishReason), ch.NativeFinishReason)
		failed = failed || ch.FinishReason == FinishReasonError
		d := &ch.Delta
		s.CompletionChars += utf8.RuneCountInString(d.Content) + utf8.RuneCountInString(d.Reasoning) +
			utf8.RuneCountInString(d.Refusal) + toolChars(d.ToolCalls)
	}
	if c.Usage != nil {
		s.Usage = c.Usage
	}
	s.fail(c.Error, failed)
}

// observeResponse fills the summary from a non-streamed response.
func (s *Summary) observeResponse(r *ChatResponse) {
	if r.ID != "" {
		s.GenerationID = r.ID
	}
	s.note(r.Model, r.Provider)
	failed := false
	choiceErr := r.Error
	for i := range r.Choices {
		ch := &r.Choices[i]
		s.finish(string(ch.FinishReason), ch.NativeFinishReason)
		failed = failed || ch.FinishReason == FinishReasonError
		if choiceErr == nil && ch.Error != nil {
			// Without this the code and message were lost and the call
			// logged as a generic 502.
			choiceErr = ch.Error
		}
		m := &ch.Message
		s.CompletionChars += utf8.RuneCountInString(m.Content) + utf8.RuneCountInString(m.Reasoning) +
			utf8.RuneCountInString(m.Refusal) + toolChars(m.ToolCalls)
	}
	s.Usage = r.Usage
	s.fail(choiceErr, failed)
}

func (s *Summary) note(model, provider string) {
	if model != "" {
		s.Model = model
	}
	if provider != "" {
		s.Provider = provider
	}
}

// finish never lets an empty value clobber a reason already seen: the usage
// chunk may carry a choice with finish_reason null after the real one.
func (s *Summary) finish(reason, native string) {
	if reason != "" {
		s.FinishReason = reason
	}
	if native != "" {
		s.NativeFinishReason = native
	}
}

func (s *Summary) fail(e *StreamError, choiceFailed bool) {
	switch {
	case e != nil:
		s.Err = e
	case choiceFailed && s.Err == nil:
		s.Err = genericProviderError()
	}
}

func toolChars(calls []openai.ToolCall) int {
	n := 0
	for i := range calls {
		n += utf8.RuneCountInString(calls[i].Function.Name) + utf8.RuneCountInString(calls[i].Function.Arguments)
	}
	return n
}
