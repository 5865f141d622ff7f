package openrouter

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// The gateway always streams from OpenRouter, even for a caller that asked
// for a plain response: a stream names its generation in its first bytes
// (X-Generation-Id, the first chunk's id), so a call cut off by a kill, a
// shutdown or an upstream disconnect can still be settled from the
// generation record. A plain body names it only once it is complete.
// The Assembler turns the stream back into the body OpenRouter would have
// sent for "stream": false.
//
// The plain shape, as OpenRouter sends it (captures; DESIGN.md):
//
//	{"id","provider","model","object":"chat.completion","created",
//	 "choices":[{"logprobs","finish_reason","native_finish_reason","index",
//	   "message":{"role","content","refusal","reasoning",
//	              "tool_calls"?,"reasoning_details"?,"annotations"?,"images"?},
//	   "error"?}],
//	 "system_fingerprint"?,"usage"?}
//
// Folding rules:
//   - id and created come from the first chunk that has them; provider,
//     model and system_fingerprint from the last (system_fingerprint only
//     when a chunk carried the key at all).
//   - content, refusal and reasoning are concatenated; content is "" when
//     nothing came, refusal and reasoning null.
//   - tool calls are grouped by their delta index: the first id, type and
//     name win, arguments fragments are concatenated; written as
//     {"type","index","id","function":{"name","arguments"}}.
//   - reasoning_details fragments with the same index and type are merged
//     (text, summary and data concatenated, other fields last value wins).
//   - finish_reason and native_finish_reason: the last non-null value, so
//     the old usage chunk's empty choice does not clobber them.
//   - usage is copied verbatim from the (last) usage chunk, cost null and
//     details included; no usage chunk, no "usage" key.
//   - An error after the stream began (a chunk with a top-level "error"
//     and a choice finishing "error") becomes what OpenRouter returns for a
//     provider error in a plain call: HTTP 200 and the error object, verbatim,
//     on the failed choice, next to whatever content had arrived. Errors
//     before the stream began are not the Assembler's: they arrive as a
//     non-2xx status, identical for both modes, and ChatStream returns
//     them as *APIError.
type Assembler struct {
	id, provider, model json.RawMessage // raw JSON strings
	created             json.RawMessage
	fingerprint         json.RawMessage // nil: never seen
	usage               json.RawMessage
	choices             []*asmChoice // in order of first appearance
	chunks              int
	dec                 chunkDecoder // Add's; a Stream folds from its own
}

type asmChoice struct {
	index        int
	role         string
	content      bytes.Buffer
	refusal      bytes.Buffer
	reasoning    bytes.Buffer
	hasRefusal   bool
	hasReasoning bool
	finish       json.RawMessage
	native       json.RawMessage
	tools        []*asmTool
	details      []*orderedObject
	annotations  []json.RawMessage
	images       []json.RawMessage
	logprobs     map[string][]json.RawMessage // nil: only nulls seen
	err          json.RawMessage
}

type asmTool struct {
	index     int
	id, typ   string
	name      string
	arguments bytes.Buffer
}

// Add folds one data payload (an EventData's Raw, not [DONE]) into the
// response. A payload that is not a chunk object is an error and changes
// nothing; the stream reader already counts such lines. A Stream given
// the Assembler (Stream.Assemble) folds each chunk from its own decode
// instead, so that a plain call decodes every chunk once.
func (a *Assembler) Add(data []byte) error {
	if !isObject(data) {
		return errNotObject
	}
	if err := a.dec.decodeWire(data); err != nil && !isTypeError(err) {
		return err // a field of the wrong type is skipped, as the stream reader does
	}
	a.fold(&a.dec.wire)
	return nil
}

// fold adds one decoded chunk. Raw values alias the decoder's buffer, so
// whatever is kept is copied. Values are those a json.Unmarshal into raw
// and pointer fields would give (the previous Assembler decoded so; the
// golden files and FuzzStream hold it), except for tool calls, whose
// fields come from the StreamChunk's decode: a key repeated with a null
// or a wrongly typed value there keeps the earlier value.
func (a *Assembler) fold(c *chunkWire) {
	a.chunks++
	if a.id == nil && nonNullString(c.ID.raw) {
		a.id = cloneRaw(c.ID.raw)
	}
	if a.created == nil && present(c.Created.raw) {
		a.created = cloneRaw(c.Created.raw)
	}
	keepLast(&a.provider, c.Provider.raw, nonNullString)
	keepLast(&a.model, c.Model.raw, nonNullString)
	if c.SystemFingerprint.raw != nil && (a.fingerprint == nil || present(c.SystemFingerprint.raw)) {
		a.fingerprint = cloneRaw(c.SystemFingerprint.raw)
	}
	if present(c.Usage.raw) {
		a.usage = cloneRaw(c.Usage.raw)
	}
	failed := false
	for i := range c.Choices {
		src := &c.Choices[i]
		ch := a.choice(src.Index)
		d := &src.Delta
		if d.Role.raw != nil && string(d.Role.raw) != "null" && d.Role.get() != "" && ch.role == "" {
			ch.role = d.Role.get()
		}
		if d.Content.present {
			ch.content.WriteString(d.Content.s)
		}
		if d.Refusal.present {
			ch.refusal.WriteString(d.Refusal.s)
			ch.hasRefusal = true
		}
		if d.Reasoning.present {
			ch.reasoning.WriteString(d.Reasoning.s)
			ch.hasReasoning = true
		}
		for _, tc := range d.ToolCalls {
			var t *asmTool
			switch n := len(ch.tools); {
			case tc.Index != nil:
				t = ch.tool(*tc.Index)
			case n > 0 && (tc.ID == "" || tc.ID == ch.tools[n-1].id):
				t = ch.tools[n-1] // a provider without indexes: a fragment of the last call
			default:
				t = ch.tool(n)
			}
			if t.id == "" {
				t.id = tc.ID
			}
			if t.typ == "" {
				t.typ = string(tc.Type)
			}
			if t.name == "" {
				t.name = tc.Function.Name
			}
			t.arguments.WriteString(tc.Function.Arguments)
		}
		for _, raw := range rawItems(d.ReasoningDetails) {
			ch.addDetail(raw)
		}
		ch.annotations = append(ch.annotations, cloneAll(rawItems(d.Annotations))...)
		ch.images = append(ch.images, cloneAll(rawItems(d.Images))...)
		if present(src.FinishReason.raw) {
			keepLast(&ch.finish, src.FinishReason.raw, present)
		}
		if present(src.NativeFinishReason.raw) {
			keepLast(&ch.native, src.NativeFinishReason.raw, present)
		}
		if present(src.Logprobs) {
			ch.addLogprobs(json.RawMessage(src.Logprobs))
		}
		if present(src.Error) {
			ch.err = cloneRaw(src.Error)
		}
		if string(src.FinishReason.raw) == `"error"` {
			failed = true
			if present(c.Error.raw) && ch.err == nil {
				ch.err = cloneRaw(c.Error.raw)
			}
		}
	}
	if present(c.Error.raw) && !failed {
		// An error chunk without a failed choice: the error still belongs
		// to the (first) choice, which has failed.
		ch := a.choice(0)
		if len(c.Choices) > 0 {
			ch = a.choice(c.Choices[0].Index)
		}
		ch.finish = json.RawMessage(`"error"`)
		if ch.native == nil {
			ch.native = json.RawMessage(`"error"`)
		}
		if ch.err == nil {
			ch.err = cloneRaw(c.Error.raw)
		}
	}
}

// keepLast replaces *dst with a copy of raw when ok(raw) says raw counts
// and it differs: the model and provider repeat in every chunk, and
// copying them each time was most of the fold's allocations.
func keepLast(dst *json.RawMessage, raw []byte, ok func([]byte) bool) {
	if ok(raw) && !bytes.Equal(*dst, raw) {
		*dst = cloneRaw(raw)
	}
}

func cloneRaw(b []byte) json.RawMessage { return slices.Clone(json.RawMessage(b)) }

// rawItems splits a raw JSON array into its items; nil for anything else,
// as json.Unmarshal into a []json.RawMessage field would skip it. The
// fields it reads (reasoning details, annotations, images) are rare.
func rawItems(raw []byte) []json.RawMessage {
	if len(raw) == 0 || raw[0] != '[' {
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	return items
}

// Chunks is how many chunks were folded in; 0 means there is no response
// to assemble.
func (a *Assembler) Chunks() int { return a.chunks }

// Bytes is the plain chat.completion body.
func (a *Assembler) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	b.Write(orString(a.id))
	b.WriteString(`,"provider":`)
	b.Write(orString(a.provider))
	b.WriteString(`,"model":`)
	b.Write(orString(a.model))
	b.WriteString(`,"object":"chat.completion","created":`)
	if a.created == nil {
		b.WriteString("0")
	} else {
		b.Write(a.created)
	}
	b.WriteString(`,"choices":[`)
	choices := a.choices
	if len(choices) == 0 {
		choices = []*asmChoice{{}} // OpenRouter always answers one choice
	}
	for i, ch := range choices {
		if i > 0 {
			b.WriteByte(',')
		}
		ch.write(&b)
	}
	b.WriteByte(']')
	if a.fingerprint != nil {
		b.WriteString(`,"system_fingerprint":`)
		b.Write(a.fingerprint)
	}
	if a.usage != nil {
		b.WriteString(`,"usage":`)
		b.Write(a.usage)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func (a *Assembler) choice(index int) *asmChoice {
	for _, ch := range a.choices {
		if ch.index == index {
			return ch
		}
	}
	ch := &asmChoice{index: index}
	a.choices = append(a.choices, ch)
	return ch
}

func (ch *asmChoice) tool(index int) *asmTool {
	for _, t := range ch.tools {
		if t.index == index {
			return t
		}
	}
	t := &asmTool{index: index}
	ch.tools = append(ch.tools, t)
	return t
}

func (ch *asmChoice) write(b *bytes.Buffer) {
	b.WriteString(`{"logprobs":`)
	ch.writeLogprobs(b)
	b.WriteString(`,"finish_reason":`)
	b.Write(orNull(ch.finish))
	b.WriteString(`,"native_finish_reason":`)
	b.Write(orNull(ch.native))
	b.WriteString(`,"index":`)
	b.WriteString(strconv.Itoa(ch.index))
	b.WriteString(`,"message":{"role":`)
	role := ch.role
	if role == "" {
		role = "assistant"
	}
	writeString(b, role)
	b.WriteString(`,"content":`)
	writeString(b, ch.content.String())
	b.WriteString(`,"refusal":`)
	writeOptString(b, ch.hasRefusal, ch.refusal.String())
	b.WriteString(`,"reasoning":`)
	writeOptString(b, ch.hasReasoning, ch.reasoning.String())
	if len(ch.tools) > 0 {
		b.WriteString(`,"tool_calls":[`)
		for i, t := range ch.tools {
			if i > 0 {
				b.WriteByte(',')
			}
			typ := t.typ
			if typ == "" {
				typ = "function"
			}
			b.WriteString(`{"type":`)
			writeString(b, typ)
			b.WriteString(`,"index":`)
			b.WriteString(strconv.Itoa(t.index))
			b.WriteString(`,"id":`)
			writeString(b, t.id)
			b.WriteString(`,"function":{"name":`)
			writeString(b, t.name)
			b.WriteString(`,"arguments":`)
			writeString(b, t.arguments.String())
			b.WriteString("}}")
		}
		b.WriteByte(']')
	}
	if len(ch.details) > 0 {
		b.WriteString(`,"reasoning_details":[`)
		for i, d := range ch.details {
			if i > 0 {
				b.WriteByte(',')
			}
			d.write(b)
		}
		b.WriteByte(']')
	}
	writeArray(b, "annotations", ch.annotations)
	writeArray(b, "images", ch.images)
	b.WriteByte('}')
	if ch.err != nil {
		b.WriteString(`,"error":`)
		b.Write(ch.err)
	}
	b.WriteByte('}')
}

// addLogprobs concatenates the token lists ("content", "refusal") of a
// chunk's logprobs object.
func (ch *asmChoice) addLogprobs(raw json.RawMessage) {
	var lp map[string][]json.RawMessage
	if json.Unmarshal(raw, &lp) != nil {
		return
	}
	if ch.logprobs == nil {
		ch.logprobs = map[string][]json.RawMessage{}
	}
	for _, k := range []string{"content", "refusal"} {
		if v, ok := lp[k]; ok {
			ch.logprobs[k] = append(ch.logprobs[k], cloneAll(v)...)
		}
	}
}

func (ch *asmChoice) writeLogprobs(b *bytes.Buffer) {
	if ch.logprobs == nil {
		b.WriteString("null")
		return
	}
	b.WriteByte('{')
	for i, k := range []string{"content", "refusal"} {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, k)
		b.WriteByte(':')
		if v, ok := ch.logprobs[k]; ok {
			writeRawArray(b, v)
		} else {
			b.WriteString("null")
		}
	}
	b.WriteByte('}')
}

// addDetail merges a reasoning_details fragment into the last detail with
// the same index and type, or starts a new one.
func (ch *asmChoice) addDetail(raw json.RawMessage) {
	o, err := parseObject(raw)
	if err != nil {
		return
	}
	idx, typ := string(o.get("index")), string(o.get("type"))
	for _, d := range slices.Backward(ch.details) {
		if string(d.get("index")) == idx && string(d.get("type")) == typ {
			d.merge(o)
			return
		}
	}
	ch.details = append(ch.details, o)
}

// orderedObject is a JSON object that keeps its key order.
type orderedObject struct {
	keys []string
	vals []json.RawMessage
}

func parseObject(raw json.RawMessage) (*orderedObject, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errNotObject
	}
	o := &orderedObject{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, ok := t.(string)
		if !ok {
			return nil, errNotObject
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o.set(k, slices.Clone(v))
	}
	return o, nil
}

func (o *orderedObject) get(k string) json.RawMessage {
	if i := slices.Index(o.keys, k); i >= 0 {
		return o.vals[i]
	}
	return nil
}

func (o *orderedObject) set(k string, v json.RawMessage) {
	if i := slices.Index(o.keys, k); i >= 0 {
		o.vals[i] = v
		return
	}
	o.keys, o.vals = append(o.keys, k), append(o.vals, v)
}

// merge appends the text-like fields of a later fragment and takes its
// other non-null fields.
func (o *orderedObject) merge(f *orderedObject) {
	for i, k := range f.keys {
		v := f.vals[i]
		switch k {
		case "text", "summary", "data":
			var prev, next string
			if json.Unmarshal(o.get(k), &prev) == nil && json.Unmarshal(v, &next) == nil {
				o.set(k, stringJSON(prev+next))
				continue
			}
		}
		if present(v) || o.get(k) == nil {
			o.set(k, v)
		}
	}
}

func (o *orderedObject) write(b *bytes.Buffer) {
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, k)
		b.WriteByte(':')
		b.Write(o.vals[i])
	}
	b.WriteByte('}')
}

func present(raw []byte) bool {
	return len(raw) > 0 && string(raw) != "null"
}

func nonNullString(raw []byte) bool {
	return len(raw) > 1 && raw[0] == '"' && string(raw) != `""`
}

func orNull(raw json.RawMessage) []byte {
	if raw == nil {
		return []byte("null")
	}
	return raw
}

func orString(raw json.RawMessage) []byte {
	if raw == nil {
		return []byte(`""`)
	}
	return raw
}

func cloneAll(in []json.RawMessage) []json.RawMessage {
	out := make([]json.RawMessage, len(in))
	for i, v := range in {
		out[i] = slices.Clone(v)
	}
	return out
}

func writeArray(b *bytes.Buffer, key string, items []json.RawMessage) {
	if len(items) == 0 {
		return
	}
	b.WriteString(`,"`)
	b.WriteString(key)
	b.WriteString(`":`)
	writeRawArray(b, items)
}

func writeRawArray(b *bytes.Buffer, items []json.RawMessage) {
	b.WriteByte('[')
	for i, v := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(v)
	}
	b.WriteByte(']')
}

func writeOptString(b *bytes.Buffer, ok bool, s string) {
	if !ok {
		b.WriteString("null")
		return
	}
	writeString(b, s)
}

// writeString writes s as a JSON string the way JavaScript's
// JSON.stringify does (OpenRouter's encoder): no HTML escaping.
func writeString(b *bytes.Buffer, s string) {
	b.Write(stringJSON(s))
}

func stringJSON(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
