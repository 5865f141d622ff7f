package openrouter

import (
	"bytes"
	"encoding/json"
	"strconv"

	openai "github.com/sashabaranov/go-openai"
)

// scanChunk is the stream's fast path: it fills w from one data payload
// in a single pass, without reflection, where encoding/json spent ≈ 12 %
// of a plain call's CPU walking its state machine and the wire struct's
// type information for every token.
//
// It is exact by construction rather than by imitation: it finds each
// known field's value bytes and hands them to the very UnmarshalJSON that
// encoding/json would call with the same bytes (istr, pstr, rawAlias,
// rawInt, ptrField, json.RawMessage). What it decides itself is only the
// structure: the object and array walk, JSON's grammar, which key names
// which field, choices' "index" and the "delta" object.
//
// It declines (false), and the caller resets w and decodes with
// encoding/json, on anything it does not reproduce exactly: invalid JSON,
// data after the object, a key written with escapes or non-ASCII bytes or
// differing from a field's name only in case (encoding/json matches those
// case-insensitively), a known key twice in one object, a value of a type
// its plain field cannot take (where encoding/json records an
// UnmarshalTypeError and goes on), an element of "choices" that is not an
// object, nesting deeper than maxScanDepth, and any error from a field's
// UnmarshalJSON. w may be half filled after a decline. FuzzScanChunk
// holds it to encoding/json on arbitrary payloads.
func scanChunk(w *chunkWire, data []byte) bool {
	s := scanner{b: data}
	s.space()
	if !s.consume('{') {
		return false
	}
	var seen uint16
	for first := true; ; first = false {
		key, more, ok := s.member(first)
		if !ok {
			return false
		}
		if !more {
			break
		}
		var bit uint16
		switch string(key) {
		case "id":
			bit, ok = 1<<0, s.field(&w.ID)
		case "model":
			bit, ok = 1<<1, s.field(&w.Model)
		case "provider":
			bit, ok = 1<<2, s.field(&w.Provider)
		case "object":
			bit, ok = 1<<3, s.field(&w.Object)
		case "created":
			bit, ok = 1<<4, s.field(&w.Created)
		case "system_fingerprint":
			bit, ok = 1<<5, s.field(&w.SystemFingerprint)
		case "choices":
			bit, ok = 1<<6, s.choices(w)
		case "usage":
			bit, ok = 1<<7, s.usage(&w.Usage)
		case "error":
			bit, ok = 1<<8, s.field(&w.Error)
		default:
			ok = !mayFold(key, chunkKeys) && s.skip(0)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	s.space()
	return s.i == len(s.b)
}

// The keys of each object the scanner walks, for mayFold.
var (
	chunkKeys  = []string{"id", "model", "provider", "object", "created", "system_fingerprint", "choices", "usage", "error"}
	choiceKeys = []string{"index", "delta", "finish_reason", "native_finish_reason", "logprobs", "error"}
	deltaKeys  = []string{"role", "content", "reasoning", "reasoning_details", "refusal", "tool_calls", "annotations", "images"}
)

// maxScanDepth bounds the nesting the scanner follows (encoding/json's
// own limit is 10,000); deeper payloads go to encoding/json.
const maxScanDepth = 64

// choices reads "choices" into w.Choices the way encoding/json fills a
// slice: elements within the capacity are decoded into again (reset has
// cleared them), null leaves nil, [] an empty non-nil slice.
func (s *scanner) choices(w *chunkWire) bool {
	switch s.peek() {
	case 'n':
		w.Choices = nil
		return s.literal("null")
	case '[':
		s.i++
	default:
		return false
	}
	n := 0
	for first := true; ; first = false {
		more, ok := s.element(first)
		if !ok {
			return false
		}
		if !more {
			break
		}
		if s.peek() != '{' {
			return false
		}
		if n < cap(w.Choices) {
			w.Choices = w.Choices[:n+1]
		} else {
			w.Choices = append(w.Choices, choiceWire{})
		}
		if !s.choice(&w.Choices[n]) {
			return false
		}
		n++
	}
	w.Choices = w.Choices[:n]
	if w.Choices == nil {
		w.Choices = []choiceWire{}
	}
	return true
}

// choice reads one element of "choices"; s is at its '{'.
func (s *scanner) choice(c *choiceWire) bool {
	s.i++
	var seen uint8
	for first := true; ; first = false {
		key, more, ok := s.member(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		var bit uint8
		switch string(key) {
		case "index":
			bit, ok = 1<<0, s.intField(&c.Index)
		case "delta":
			bit, ok = 1<<1, s.delta(c)
		case "finish_reason":
			bit, ok = 1<<2, s.field(&c.FinishReason)
		case "native_finish_reason":
			bit, ok = 1<<3, s.field(&c.NativeFinishReason)
		case "logprobs":
			bit, ok = 1<<4, s.field(&c.Logprobs)
		case "error":
			bit, ok = 1<<5, s.field(&c.Error)
		default:
			ok = !mayFold(key, choiceKeys) && s.skip(1)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// delta reads a choice's "delta": null leaves the struct as it is, as
// encoding/json does.
func (s *scanner) delta(c *choiceWire) bool {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '{':
		s.i++
	default:
		return false
	}
	d := &c.Delta
	var seen uint8
	for first := true; ; first = false {
		key, more, ok := s.member(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		var bit uint8
		switch string(key) {
		case "role":
			bit, ok = 1<<0, s.field(&d.Role)
		case "content":
			bit, ok = 1<<1, s.field(&d.Content)
		case "reasoning":
			bit, ok = 1<<2, s.field(&d.Reasoning)
		case "reasoning_details":
			bit, ok = 1<<3, s.field(&d.ReasoningDetails)
		case "refusal":
			bit, ok = 1<<4, s.field(&d.Refusal)
		case "tool_calls":
			bit, ok = 1<<5, s.toolCalls(&d.ToolCalls)
		case "annotations":
			bit, ok = 1<<6, s.field(&d.Annotations)
		case "images":
			bit, ok = 1<<7, s.field(&d.Images)
		default:
			ok = !mayFold(key, deltaKeys) && s.skip(2)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// toolCalls decodes tool-call fragments with encoding/json on their own
// bytes (a nil slice, as reset leaves it, decodes the same either way):
// they come in tool-calling streams only, and their shape is go-openai's.
func (s *scanner) toolCalls(dst *[]openai.ToolCall) bool {
	switch s.peek() {
	case 'n':
		*dst = nil
		return s.literal("null")
	case '[':
	default:
		return false
	}
	start := s.i
	if !s.skip(2) {
		return false
	}
	return json.Unmarshal(s.b[start:s.i], dst) == nil
}

// usage reads "usage" as ptrField[Usage].UnmarshalJSON does: null leaves
// no usage, an object becomes a Usage by way of usageWire, whose fields get
// the same decoders on the same bytes as in Usage.UnmarshalJSON. Anything
// else that decoder refuses, and encoding/json then reports.
func (s *scanner) usage(f *ptrField[Usage]) bool {
	start := s.i
	switch s.peek() {
	case 'n':
		if !s.literal("null") {
			return false
		}
		f.v, f.raw = nil, s.b[start:s.i]
		return true
	case '{':
	default:
		return false
	}
	var w usageWire
	ok := s.object(1, usageKeys, func(i int) bool {
		switch i { // usageKeys' order
		case 0:
			return s.field(&w.PromptTokens)
		case 1:
			return s.field(&w.CompletionTokens)
		case 2:
			return s.field(&w.TotalTokens)
		case 3:
			return s.field(&w.Cost)
		case 4:
			return s.field(&w.IsBYOK)
		case 5:
			return details(s, &w.PromptTokensDetails, promptDetailKeys)
		case 6:
			return details(s, &w.CompletionTokensDetails, completionDetailKeys)
		default:
			return details(s, &w.CostDetails, costDetailKeys)
		}
	})
	if !ok {
		return false
	}
	u := w.usage()
	f.v, f.raw = &u, s.b[start:s.i]
	return true
}

// The keys of usage and its detail objects, in the order of usageWire's
// fields (and of each detail's fields()).
var (
	usageKeys = []string{"prompt_tokens", "completion_tokens", "total_tokens", "cost", "is_byok",
		"prompt_tokens_details", "completion_tokens_details", "cost_details"}
	promptDetailKeys     = []string{"cached_tokens", "cache_write_tokens", "audio_tokens"}
	completionDetailKeys = []string{"reasoning_tokens", "image_tokens", "audio_tokens"}
	costDetailKeys       = []string{"upstream_inference_cost", "upstream_inference_prompt_cost", "upstream_inference_completions_cost"}
)

func (d *promptDetailsWire) fields() []json.Unmarshaler {
	return []json.Unmarshaler{&d.CachedTokens, &d.CacheWriteTokens, &d.AudioTokens}
}

func (d *completionDetailsWire) fields() []json.Unmarshaler {
	return []json.Unmarshaler{&d.ReasoningTokens, &d.ImageTokens, &d.AudioTokens}
}

func (d *costDetailsWire) fields() []json.Unmarshaler {
	return []json.Unmarshaler{&d.UpstreamInferenceCost, &d.UpstreamInferencePromptCost, &d.UpstreamInferenceCompletionsCost}
}

// details reads one of usage's detail objects into *dst as encoding/json
// fills a nil pointer to a struct: null leaves it nil, an object allocates
// it. Another type would be a type error with a zero struct allocated;
// the scanner declines it.
func details[T any, P interface {
	*T
	fields() []json.Unmarshaler
}](s *scanner, dst *P, names []string) bool {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '{':
		*dst = new(T)
		fields := (*dst).fields()
		return s.object(2, names, func(i int) bool { return s.field(fields[i]) })
	}
	return false
}

// object walks the object at s.i, whose known keys are names: known(i)
// reads the value of names[i]; other keys' values are skipped, and a
// known key twice declines, as in the chunk's own objects. depth is how
// deep the object's values sit.
func (s *scanner) object(depth int, names []string, known func(i int) bool) bool {
	if !s.consume('{') {
		return false
	}
	var seen uint64
	for first := true; ; first = false {
		key, more, ok := s.member(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		i := indexOf(names, key)
		switch {
		case i < 0:
			ok = !mayFold(key, names) && s.skip(depth)
		case seen&(1<<i) != 0:
			ok = false
		default:
			seen |= 1 << i
			ok = known(i)
		}
		if !ok {
			return false
		}
	}
}

func indexOf(names []string, key []byte) int {
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	return -1
}

// field hands the next value's bytes to u, as encoding/json would.
func (s *scanner) field(u json.Unmarshaler) bool {
	start := s.i
	if !s.skip(1) {
		return false
	}
	return u.UnmarshalJSON(s.b[start:s.i]) == nil
}

// intField reads a plain int: null leaves it, an integer sets it; a
// fraction, an exponent, an overflow or another type would be
// encoding/json's UnmarshalTypeError, so the scanner declines.
func (s *scanner) intField(dst *int) bool {
	switch c := s.peek(); {
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		if !s.number() {
			return false
		}
		n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, strconv.IntSize)
		if err != nil {
			return false
		}
		*dst = int(n)
		return true
	}
	return false
}

// mayFold reports whether encoding/json might match key to one of names
// although it is not exactly one of them: its name match is
// case-insensitive, with Unicode's folding (the Kelvin sign matches "k"),
// and it unescapes keys; member already declined escaped keys.
func mayFold(key []byte, names []string) bool {
	for _, c := range key {
		if c >= 0x80 {
			return true
		}
	}
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

// scanner walks one JSON payload. Every method that fails leaves the
// payload to encoding/json, so none reports why.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// peek returns the byte at s.i, 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) consume(c byte) bool {
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

// member moves to an object's next key after its '{' (first) or after a
// value, and past the key's ':' and the space after it. more is false at
// the object's '}', which it consumes. A key with escapes is not ok: its
// bytes are not its name.
func (s *scanner) member(first bool) (key []byte, more, ok bool) {
	key, plain, more, ok := s.anyMember(first)
	return key, more, ok && plain
}

// anyMember is member that takes escaped keys too (plain false), for the
// objects whose keys the scanner does not look at.
func (s *scanner) anyMember(first bool) (key []byte, plain, more, ok bool) {
	s.space()
	c := s.peek()
	if c == '}' {
		s.i++
		return nil, true, false, true
	}
	if !first {
		if c != ',' {
			return nil, false, false, false
		}
		s.i++
		s.space()
		c = s.peek()
	}
	if c != '"' {
		return nil, false, false, false
	}
	start := s.i + 1
	plain, ok = s.str()
	if !ok {
		return nil, false, false, false
	}
	key = s.b[start : s.i-1]
	s.space()
	if !s.consume(':') {
		return nil, false, false, false
	}
	s.space()
	return key, plain, true, true
}

// element moves to an array's next element after its '[' (first) or after
// an element; more is false at the array's ']', which it consumes.
func (s *scanner) element(first bool) (more, ok bool) {
	s.space()
	c := s.peek()
	if c == ']' {
		s.i++
		return false, true
	}
	if !first {
		if c != ',' {
			return false, false
		}
		s.i++
		s.space()
	}
	return true, true
}

// skip moves past one value, checking it as encoding/json's scanner does.
// depth is how deep the value sits.
func (s *scanner) skip(depth int) bool {
	switch c := s.peek(); {
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '{':
		if depth >= maxScanDepth {
			return false
		}
		s.i++
		for first := true; ; first = false {
			_, _, more, ok := s.anyMember(first)
			if !ok {
				return false
			}
			if !more {
				return true
			}
			if !s.skip(depth + 1) {
				return false
			}
		}
	case c == '[':
		if depth >= maxScanDepth {
			return false
		}
		s.i++
		for first := true; ; first = false {
			more, ok := s.element(first)
			if !ok {
				return false
			}
			if !more {
				return true
			}
			if !s.skip(depth + 1) {
				return false
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return false
}

// str moves past a string at s.i's '"'; plain when it has no escapes.
// Like encoding/json it accepts any byte from 0x20 up, invalid UTF-8
// included, and only JSON's escapes.
func (s *scanner) str() (plain, ok bool) {
	plain = true
	for i := s.i + 1; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			s.i = i + 1
			return plain, true
		case c < 0x20:
			return false, false
		case c == '\\':
			plain = false
			i++
			if i >= len(s.b) {
				return false, false
			}
			switch s.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s.b) {
					return false, false
				}
				for _, h := range s.b[i+1 : i+5] {
					if !isHex(h) {
						return false, false
					}
				}
				i += 4
			default:
				return false, false
			}
		}
	}
	return false, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// number moves past a number in JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	s.consume('-')
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.consume('.') && !s.digits() {
		return false
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits moves past one or more digits; false if there is none.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}
