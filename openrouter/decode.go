package openrouter

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
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
// The wire struct is filled by scanChunk (scan.go), a single pass without
// reflection that calls the same field decoders; encoding/json decodes
// what the scanner declines. FuzzScanChunk checks the two agree.

// chunkDecoder decodes a stream's data payloads; not for concurrent use.
type chunkDecoder struct {
	src  bytes.Reader
	dec  *json.Decoder
	wire chunkWire
	out  chunkWithChoice // the StreamChunk decode returns, rewritten by every decode
}

var errTrailingData = errors.New("openrouter: data after the JSON value")

// decode decodes one payload into the decoder's StreamChunk, valid until
// the next decode (an Event's Chunk, like its Raw, lives until the next
// Next: a chunk a token was one allocation per event that nobody kept).
// Like json.Unmarshal it fails on invalid JSON and skips fields of the
// wrong type (reporting a *json.UnmarshalTypeError with the chunk).
func (d *chunkDecoder) decode(data []byte) (*StreamChunk, error) {
	err := d.decodeWire(data)
	if err != nil && !isTypeError(err) {
		return nil, err
	}
	return d.wire.chunk(&d.out), err
}

// decodeWire decodes one payload into d.wire, which then holds it (raw
// parts aliasing the decoder's buffer) until the next call.
func (d *chunkDecoder) decodeWire(data []byte) error {
	data = bytes.TrimRight(data, " \t\r\n")
	d.wire.reset()
	if scanChunk(&d.wire, data) {
		return nil
	}
	return d.decodeJSON(data)
}

// decodeJSON is decodeWire with encoding/json alone: the fallback for the
// payloads scanChunk declines, and the reference FuzzScanChunk holds it to.
// data is already trimmed.
func (d *chunkDecoder) decodeJSON(data []byte) error {
	if d.dec == nil {
		d.dec = json.NewDecoder(&d.src)
	}
	d.src.Reset(data)
	d.wire.reset()
	start := d.dec.InputOffset()
	err := d.dec.Decode(&d.wire)
	if err != nil && !isTypeError(err) {
		d.dec = nil // its buffer and state are unknown after a syntax error
		return err
	}
	if d.dec.InputOffset()-start != int64(len(data)) {
		d.dec = nil
		return errTrailingData
	}
	return err
}

// istr is a JSON string field that keeps its previous value and reuses it
// when the new bytes are the same, so a repeated value costs no allocation.
// A null or a non-string leaves it unchanged, as json.Unmarshal would.
// raw is the value last decoded, whatever its type (see rawAlias), for the
// Assembler, which copies such fields verbatim.
type istr struct {
	s   string
	set bool
	raw rawAlias
}

func (x *istr) UnmarshalJSON(b []byte) error {
	x.raw = b
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

// pstr is a string field whose presence the Assembler needs as a *string
// would give it: null clears present, any other value (even one of the
// wrong type) sets it. s keeps a string field's json.Unmarshal semantics
// for the StreamChunk: only a string changes it.
type pstr struct {
	s       string
	present bool
}

func (x *pstr) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		x.present = false
	case b[0] == '"':
		x.present = true
		if inner := b[1 : len(b)-1]; plainJSONString(inner) {
			x.s = string(inner)
		} else {
			_ = json.Unmarshal(b, &x.s) // the decoder has validated the string
		}
	default:
		x.present = true
	}
	return nil
}

// rawAlias is a field's JSON value, null included, as the bytes of the
// decoder's buffer: valid until the next decode, so whoever keeps it
// copies it. nil when the key was absent. It makes the Assembler's raw
// fields cost no allocation in the chunks that do not change them.
type rawAlias []byte

func (r *rawAlias) UnmarshalJSON(b []byte) error {
	*r = b
	return nil
}

// rawInt is an int64 field (json.Unmarshal's semantics: a value that is
// not an integer leaves it unchanged) that also keeps its raw value.
type rawInt struct {
	n   int64
	raw rawAlias
}

func (x *rawInt) UnmarshalJSON(b []byte) error {
	x.raw = b
	if c := b[0]; c == '-' || c >= '0' && c <= '9' {
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			x.n = n
		}
	}
	return nil
}

// ptrField decodes as a *T field would (T's own UnmarshalJSON and its
// errors included) and keeps the raw value: usage and error, which come
// once a stream, so the nested json.Unmarshal costs nothing to speak of.
type ptrField[T any] struct {
	v   *T
	raw rawAlias
}

func (f *ptrField[T]) UnmarshalJSON(b []byte) error {
	f.raw = b
	return json.Unmarshal(b, &f.v)
}

// chunkWire is one payload as both readers of a stream need it: the
// StreamChunk's fields (wire.chunk) and, kept raw, what the Assembler
// copies verbatim into a plain body (Assembler.fold). One decode serves
// both.
type chunkWire struct {
	ID                istr                  `json:"id"`
	Model             istr                  `json:"model"`
	Provider          istr                  `json:"provider"`
	Object            istr                  `json:"object"`
	Created           rawInt                `json:"created"`
	SystemFingerprint istr                  `json:"system_fingerprint"`
	Choices           []choiceWire          `json:"choices"`
	Usage             ptrField[Usage]       `json:"usage"`
	Error             ptrField[StreamError] `json:"error"`
}

type choiceWire struct {
	Index int `json:"index"`
	Delta struct {
		Role             istr              `json:"role"`
		Content          pstr              `json:"content"`
		Reasoning        pstr              `json:"reasoning"`
		ReasoningDetails json.RawMessage   `json:"reasoning_details"`
		Refusal          pstr              `json:"refusal"`
		ToolCalls        []openai.ToolCall `json:"tool_calls"`
		Annotations      rawAlias          `json:"annotations"`
		Images           rawAlias          `json:"images"`
	} `json:"delta"`
	FinishReason       istr     `json:"finish_reason"`
	NativeFinishReason istr     `json:"native_finish_reason"`
	Logprobs           rawAlias `json:"logprobs"`
	Error              rawAlias `json:"error"`
}

// reset clears what the next decode must not inherit while keeping the
// strings istr compares against. Slices and pointers handed out in a chunk
// are dropped, never decoded into again.
func (w *chunkWire) reset() {
	for _, x := range []*istr{&w.ID, &w.Model, &w.Provider, &w.Object, &w.SystemFingerprint} {
		x.set, x.raw = false, nil
	}
	w.Created, w.Usage, w.Error = rawInt{}, ptrField[Usage]{}, ptrField[StreamError]{}
	all := w.Choices[:cap(w.Choices)]
	for i := range all {
		c := &all[i]
		c.Index = 0
		c.Delta.Role.set, c.Delta.Role.raw = false, nil
		c.Delta.Content, c.Delta.Reasoning, c.Delta.Refusal = pstr{}, pstr{}, pstr{}
		c.Delta.ReasoningDetails, c.Delta.ToolCalls = nil, nil
		c.Delta.Annotations, c.Delta.Images = nil, nil
		c.FinishReason.set, c.FinishReason.raw = false, nil
		c.NativeFinishReason.set, c.NativeFinishReason.raw = false, nil
		c.Logprobs, c.Error = nil, nil
	}
	w.Choices = all[:0]
}

// chunkWithChoice is a StreamChunk with room for the usual single choice.
type chunkWithChoice struct {
	c   StreamChunk
	one [1]ChunkChoice
}

// chunk writes the wire's StreamChunk over dst's and returns it.
func (w *chunkWire) chunk(dst *chunkWithChoice) *StreamChunk {
	c := &dst.c
	*c = StreamChunk{}
	switch n := len(w.Choices); {
	case n == 1:
		c.Choices = dst.one[:]
	case n > 1:
		c.Choices = make([]ChunkChoice, n)
	}
	c.ID, c.Model, c.Provider, c.Object = w.ID.get(), w.Model.get(), w.Provider.get(), w.Object.get()
	c.SystemFingerprint, c.Created, c.Usage, c.Error = w.SystemFingerprint.get(), w.Created.n, w.Usage.v, w.Error.v
	for i := range c.Choices {
		src, dst := &w.Choices[i], &c.Choices[i]
		dst.Index = src.Index
		dst.Delta = Delta{
			Role: src.Delta.Role.get(), Content: src.Delta.Content.s, Reasoning: src.Delta.Reasoning.s,
			ReasoningDetails: src.Delta.ReasoningDetails, Refusal: src.Delta.Refusal.s, ToolCalls: src.Delta.ToolCalls,
		}
		dst.FinishReason = openai.FinishReason(src.FinishReason.get())
		dst.NativeFinishReason = src.NativeFinishReason.get()
	}
	return c
}
