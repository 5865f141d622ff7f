package openrouter

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
)

// The stream's hot path decodes one chunk per token. A plain json.Unmarshal
// into a fresh StreamChunk costs ~16 allocations per event: the decoder's
// scanner and error context, plus a new string for every field although id,
// model, provider, object and role repeat verbatim in every chunk. The
// chunkDecoder below keeps one json.Decoder and one wire struct per stream
// and reuses a field's previous string when the bytes are unchanged, which
// leaves about three allocations per event (the chunk, its content string,
// the decoder's bookkeeping). FuzzStream checks it against json.Unmarshal.

// chunkDecoder decodes a stream's data payloads; not for concurrent use.
type chunkDecoder struct {
	src  bytes.Reader
	dec  *json.Decoder
	wire chunkWire
}

var errTrailingData = errors.New("openrouter: data after the JSON value")

// decode decodes one payload into a new StreamChunk. Like json.Unmarshal it
// fails on invalid JSON and skips fields of the wrong type (reporting a
// *json.UnmarshalTypeError with the chunk).
func (d *chunkDecoder) decode(data []byte) (*StreamChunk, error) {
	data = bytes.TrimRight(data, " \t\r\n")
	if d.dec == nil {
		d.dec = json.NewDecoder(&d.src)
	}
	d.src.Reset(data)
	d.wire.reset()
	start := d.dec.InputOffset()
	err := d.dec.Decode(&d.wire)
	if err != nil && !isTypeError(err) {
		d.dec = nil // its buffer and state are unknown after a syntax error
		return nil, err
	}
	if d.dec.InputOffset()-start != int64(len(data)) {
		d.dec = nil
		return nil, errTrailingData
	}
	return d.wire.chunk(), err
}

// istr is a JSON string field that keeps its previous value and reuses it
// when the new bytes are the same, so a repeated value costs no allocation.
// A null or a non-string leaves it unchanged, as json.Unmarshal would.
type istr struct {
	s   string
	set bool
}

func (x *istr) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return nil
	}
	inner := b[1 : len(b)-1]
	if string(inner) == x.s && plainJSONString(inner) {
		x.set = true
		return nil
	}
	if plainJSONString(inner) {
		x.s, x.set = string(inner), true
	} else if json.Unmarshal(b, &x.s) == nil {
		x.set = true
	}
	return nil
}

func (x *istr) get() string {
	if !x.set {
		return ""
	}
	return x.s
}

// plainJSONString reports whether the bytes between a JSON string's quotes
// mean themselves: no escapes, no control characters, valid UTF-8 (which
// json.Unmarshal would otherwise replace with U+FFFD).
func plainJSONString(b []byte) bool {
	ascii := true
	for _, c := range b {
		if c == '\\' || c < 0x20 {
			return false
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	return ascii || utf8.Valid(b)
}

type chunkWire struct {
	ID                istr         `json:"id"`
	Model             istr         `json:"model"`
	Provider          istr         `json:"provider"`
	Object            istr         `json:"object"`
	Created           int64        `json:"created"`
	SystemFingerprint istr         `json:"system_fingerprint"`
	Choices           []choiceWire `json:"choices"`
	Usage             *Usage       `json:"usage"`
	Error             *StreamError `json:"error"`
}

type choiceWire struct {
	Index int `json:"index"`
	Delta struct {
		Role             istr              `json:"role"`
		Content          string            `json:"content"`
		Reasoning        string            `json:"reasoning"`
		ReasoningDetails json.RawMessage   `json:"reasoning_details"`
		Refusal          string            `json:"refusal"`
		ToolCalls        []openai.ToolCall `json:"tool_calls"`
	} `json:"delta"`
	FinishReason       istr `json:"finish_reason"`
	NativeFinishReason istr `json:"native_finish_reason"`
}

// reset clears what the next decode must not inherit while keeping the
// strings istr compares against. Slices and pointers handed out in a chunk
// are dropped, never decoded into again.
func (w *chunkWire) reset() {
	w.ID.set, w.Model.set, w.Provider.set, w.Object.set, w.SystemFingerprint.set = false, false, false, false, false
	w.Created, w.Usage, w.Error = 0, nil, nil
	all := w.Choices[:cap(w.Choices)]
	for i := range all {
		c := &all[i]
		c.Index = 0
		c.Delta.Role.set = false
		c.Delta.Content, c.Delta.Reasoning, c.Delta.Refusal = "", "", ""
		c.Delta.ReasoningDetails, c.Delta.ToolCalls = nil, nil
		c.FinishReason.set, c.NativeFinishReason.set = false, false
	}
	w.Choices = all[:0]
}

// chunkWithChoice puts the usual single choice in the chunk's allocation.
type chunkWithChoice struct {
	c   StreamChunk
	one [1]ChunkChoice
}

func (w *chunkWire) chunk() *StreamChunk {
	var c *StreamChunk
	switch n := len(w.Choices); {
	case n == 1:
		a := new(chunkWithChoice)
		c, a.c.Choices = &a.c, a.one[:]
	case n > 1:
		c = &StreamChunk{Choices: make([]ChunkChoice, n)}
	default:
		c = new(StreamChunk)
	}
	c.ID, c.Model, c.Provider, c.Object = w.ID.get(), w.Model.get(), w.Provider.get(), w.Object.get()
	c.SystemFingerprint, c.Created, c.Usage, c.Error = w.SystemFingerprint.get(), w.Created, w.Usage, w.Error
	for i := range c.Choices {
		src, dst := &w.Choices[i], &c.Choices[i]
		dst.Index = src.Index
		dst.Delta = Delta{
			Role: src.Delta.Role.get(), Content: src.Delta.Content, Reasoning: src.Delta.Reasoning,
			ReasoningDetails: src.Delta.ReasoningDetails, Refusal: src.Delta.Refusal, ToolCalls: src.Delta.ToolCalls,
		}
		dst.FinishReason = openai.FinishReason(src.FinishReason.get())
		dst.NativeFinishReason = src.NativeFinishReason.get()
	}
	return c
}
