package openrouter

import (
	"bytes"
	"encoding/json"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// FinishReasonError is the finish_reason of a choice a provider failed.
const FinishReasonError openai.FinishReason = "error"

// StreamChunk is one streamed data payload ("chat.completion.chunk").
// Only what the gateway reads is decoded; the event's Raw bytes carry the
// rest for forwarding.
type StreamChunk struct {
	ID                string        `json:"id"` // the generation id, "gen-…"
	Model             string        `json:"model"`
	Provider          string        `json:"provider,omitempty"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	SystemFingerprint string        `json:"system_fingerprint,omitempty"`
	Choices           []ChunkChoice `json:"choices"`
	Usage             *Usage        `json:"usage,omitempty"`
	Error             *StreamError  `json:"error,omitempty"`
}

// ChunkChoice is one choice of a StreamChunk.
type ChunkChoice struct {
	Index              int                 `json:"index"`
	Delta              Delta               `json:"delta"`
	FinishReason       openai.FinishReason `json:"finish_reason"`
	NativeFinishReason string              `json:"native_finish_reason,omitempty"`
}

// Delta is the increment of a streamed message, with OpenRouter's
// reasoning extensions beside OpenAI's fields.
type Delta struct {
	Role             string            `json:"role,omitempty"`
	Content          string            `json:"content,omitempty"`
	Reasoning        string            `json:"reasoning,omitempty"`
	ReasoningDetails json.RawMessage   `json:"reasoning_details,omitempty"`
	Refusal          string            `json:"refusal,omitempty"`
	ToolCalls        []openai.ToolCall `json:"tool_calls,omitempty"`
}

// ChatResponse is a non-streamed response ("chat.completion").
type ChatResponse struct {
	ID                string           `json:"id"`
	Model             string           `json:"model"`
	Provider          string           `json:"provider,omitempty"`
	Object            string           `json:"object"`
	Created           int64            `json:"created"`
	SystemFingerprint string           `json:"system_fingerprint,omitempty"`
	Choices           []ResponseChoice `json:"choices"`
	Usage             *Usage           `json:"usage,omitempty"`
	Error             *StreamError     `json:"error,omitempty"`
}

// ResponseChoice is one choice of a ChatResponse.
type ResponseChoice struct {
	Index              int                 `json:"index"`
	Message            Message             `json:"message"`
	FinishReason       openai.FinishReason `json:"finish_reason"`
	NativeFinishReason string              `json:"native_finish_reason,omitempty"`
	// Error is where a plain response carries a provider's failure: on the
	// choice that finished with "error" (a stream has it at top level).
	Error *StreamError `json:"error,omitempty"`
}

// Message is a response message with OpenRouter's extensions. Content is
// the text; a provider that answers with content parts leaves it empty and
// the parts stay in ChatResult.Raw.
type Message struct {
	Role             string            `json:"role"`
	Content          string            `json:"content"`
	Reasoning        string            `json:"reasoning,omitempty"`
	ReasoningDetails json.RawMessage   `json:"reasoning_details,omitempty"`
	Refusal          string            `json:"refusal,omitempty"`
	ToolCalls        []openai.ToolCall `json:"tool_calls,omitempty"`
	Images           json.RawMessage   `json:"images,omitempty"`
}

// StreamError is an error OpenRouter reports inside an HTTP 200 body: a
// mid-stream failure chunk, or a provider error in a non-streamed response.
type StreamError struct {
	// Code is error.code as text; the wire has it as a number or a string.
	Code     string          `json:"code"`
	Message  string          `json:"message"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

func (e *StreamError) Error() string {
	var b strings.Builder
	b.WriteString("openrouter: upstream error")
	if e.Code != "" {
		b.WriteString(" (code ")
		b.WriteString(e.Code)
		b.WriteByte(')')
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// UnmarshalJSON accepts a numeric or string code, and a bare string as the
// whole error.
func (e *StreamError) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*e = StreamError{Message: s}
		return nil
	}
	if !isObject(b) {
		return errNotObject
	}
	var w struct {
		Code     json.RawMessage `json:"code"`
		Message  json.RawMessage `json:"message"`
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = StreamError{Code: jsonText(w.Code), Message: jsonText(w.Message)}
	if len(w.Metadata) > 0 && string(w.Metadata) != "null" {
		e.Metadata = w.Metadata
	}
	return nil
}

// MarshalJSON writes a numeric code as a number, as OpenRouter does.
func (e StreamError) MarshalJSON() ([]byte, error) {
	type wire struct {
		Code     json.RawMessage `json:"code,omitempty"`
		Message  string          `json:"message"`
		Metadata json.RawMessage `json:"metadata,omitempty"`
	}
	w := wire{Message: e.Message, Metadata: e.Metadata}
	if e.Code != "" {
		if isDigits(e.Code) {
			w.Code = json.RawMessage(e.Code)
		} else {
			w.Code, _ = json.Marshal(e.Code)
		}
	}
	return json.Marshal(w)
}

// jsonText renders a JSON scalar as text: strings unquoted, numbers as
// written, null as ""; anything else compactly as JSON.
func jsonText(b json.RawMessage) string {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return ""
	case b[0] == '"':
		var s string
		if json.Unmarshal(b, &s) == nil {
			return s
		}
	}
	return string(b)
}

func isDigits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s[0] != '0' || len(s) == 1
}
