package openrouter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// ChatRequest is what the gateway forwards upstream. The fields it reads
// are typed; every other top-level field of the caller's JSON is kept in
// Extra and forwarded verbatim, so OpenRouter-specific and future
// parameters pass through untouched.
type ChatRequest struct {
	Model    string            // "model"
	Models   []string          // "models": OpenRouter's fallback list
	Messages []json.RawMessage // "messages", raw so content parts, cache_control etc. pass through
	Stream   bool              // "stream"; Chat and ChatStream override it
	User     string            // "user": the end user's id
	// UserGiven: the body has "user" with a value other than null, so an
	// empty User was sent as "" rather than left out.
	UserGiven bool
	Provider  json.RawMessage // "provider" preferences, passed through
	// Extra holds the other top-level fields by key. Keys naming a typed
	// field are ignored when marshalling.
	Extra map[string]json.RawMessage
}

var typedKeys = []string{"model", "models", "messages", "stream", "user", "provider"}

// maxProblems caps Validate's report so a hostile request cannot make the
// error itself huge.
const maxProblems = 20

// MaxModelID is the longest model id a request may name, in bytes. The
// rows keep the requested model, and Convex's ingest refuses one longer
// than 128 characters: a longer id sent upstream would leave a request log
// no store takes (a dead outbox entry on Convex, a row of any size on the
// embedded engine). OpenRouter's ids are far shorter.
const MaxModelID = 128

// UnmarshalJSON decodes a request object; fields of the wrong type are
// reported together as user-safe problems wrapping ErrInvalidRequest.
func (r *ChatRequest) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return fmt.Errorf("%w: the body must be a JSON object", ErrInvalidRequest)
	}
	*r = ChatRequest{}
	var problems []error
	take := func(key string, dst any, want string) {
		v, ok := m[key]
		if !ok {
			return
		}
		delete(m, key)
		if isNull(v) {
			return
		}
		if err := json.Unmarshal(v, dst); err != nil {
			problems = append(problems, fmt.Errorf("%s must be %s", key, want))
		}
	}
	take("model", &r.Model, "a string")
	take("models", &r.Models, "an array of strings")
	take("messages", &r.Messages, "an array")
	take("stream", &r.Stream, "a boolean")
	if v, ok := m["user"]; ok && !isNull(v) {
		r.UserGiven = true
	}
	take("user", &r.User, "a string")
	if v, ok := m["provider"]; ok {
		delete(m, "provider")
		switch {
		case isNull(v):
		case !isObject(v):
			problems = append(problems, errors.New("provider must be an object"))
		default:
			r.Provider = v
		}
	}
	if len(m) > 0 {
		r.Extra = m
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, errors.Join(problems...))
	}
	return nil
}

// MarshalJSON writes the typed fields and then Extra in key order.
func (r ChatRequest) MarshalJSON() ([]byte, error) { return r.marshal(r.Stream) }

func (r *ChatRequest) marshal(stream bool) ([]byte, error) {
	size := 64 + len(r.Provider)
	for _, m := range r.Messages {
		size += len(m) + 1
	}
	for _, v := range r.Extra {
		size += len(v) + 32
	}
	b := bytes.NewBuffer(make([]byte, 0, size))
	b.WriteByte('{')
	first := true
	key := func(k string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSON(b, k)
		b.WriteByte(':')
	}
	raw := func(name string, v json.RawMessage) error {
		if !json.Valid(v) {
			return fmt.Errorf("openrouter: marshal request: %s is not valid JSON", name)
		}
		b.Write(v)
		return nil
	}
	if r.Model != "" {
		key("model")
		writeJSON(b, r.Model)
	}
	if len(r.Models) > 0 {
		key("models")
		writeJSON(b, r.Models)
	}
	key("messages")
	b.WriteByte('[')
	for i, m := range r.Messages {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := raw(fmt.Sprintf("messages[%d]", i), m); err != nil {
			return nil, err
		}
	}
	b.WriteByte(']')
	key("stream")
	writeJSON(b, stream)
	if r.User != "" {
		key("user")
		writeJSON(b, r.User)
	}
	if len(r.Provider) > 0 && !isNull(r.Provider) {
		key("provider")
		if err := raw("provider", r.Provider); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		if !slices.Contains(typedKeys, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		key(k)
		if err := raw(k, r.Extra[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v any) {
	enc, _ := json.Marshal(v) // strings, bools and []string cannot fail
	b.Write(enc)
}

// MaxOutputTokens bounds max_tokens and max_completion_tokens when the
// model's own output limit is not known: 2^31 tokens, far above any model's,
// and small enough that estimates built from it cannot overflow.
const MaxOutputTokens = 1 << 31

// MaxChoices bounds n, the number of completions asked for (OpenAI's limit).
const MaxChoices = 128

// OutputLimits reads the request's output size: the larger of max_tokens
// and max_completion_tokens (0 when neither is set or both are null) and n
// (1 when unset). Each must be an integer, the token limits in
// [1, MaxOutputTokens] and n in [1, MaxChoices]; problems are user-safe.
func (r *ChatRequest) OutputLimits() (maxTokens, n int64, problems []error) {
	n = 1
	read := func(key string, lo, hi int64) (int64, bool) {
		raw, ok := r.Extra[key]
		if !ok || isNull(raw) {
			return 0, false
		}
		v, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
		if err != nil || v < lo || v > hi {
			problems = append(problems, fmt.Errorf("%s must be an integer from %d to %d", key, lo, hi))
			return 0, false
		}
		return v, true
	}
	for _, k := range []string{"max_tokens", "max_completion_tokens"} {
		if v, ok := read(k, 1, MaxOutputTokens); ok {
			maxTokens = max(maxTokens, v)
		}
	}
	if v, ok := read("n", 1, MaxChoices); ok {
		n = v
	}
	return maxTokens, n, problems
}

// Validate reports every structural problem at once (errors.Join), each
// with a message fit to show the caller: a model or a models list,
// non-empty messages, each an object with a non-empty string "role";
// output limits as OutputLimits reads them.
func (r *ChatRequest) Validate() error {
	var problems []error
	add := func(format string, args ...any) {
		if len(problems) < maxProblems {
			problems = append(problems, fmt.Errorf(format, args...))
		} else if len(problems) == maxProblems {
			problems = append(problems, errors.New("further problems omitted"))
		}
	}
	if r.Model == "" && len(r.Models) == 0 {
		add("model or models is required")
	}
	switch {
	case len(r.Model) > MaxModelID:
		add("model must be at most %d bytes", MaxModelID)
	case hasControl(r.Model):
		add("model must not contain control characters")
	}
	for i, m := range r.Models {
		switch {
		case strings.TrimSpace(m) == "":
			add("models[%d] must be a non-empty model id", i)
		case len(m) > MaxModelID:
			add("models[%d] must be at most %d bytes", i, MaxModelID)
		case hasControl(m):
			add("models[%d] must not contain control characters", i)
		}
	}
	if len(r.Messages) == 0 {
		add("messages must not be empty")
	}
	for i, m := range r.Messages {
		if msg := messageProblem(m); msg != "" {
			add("messages[%d] %s", i, msg)
		}
	}
	_, _, limits := r.OutputLimits()
	for _, p := range limits {
		add("%v", p)
	}
	return errors.Join(problems...)
}

func messageProblem(m json.RawMessage) string {
	if !isObject(m) {
		return "must be an object"
	}
	var probe struct {
		Role    json.RawMessage `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(m, &probe); err != nil {
		return "is not valid JSON"
	}
	if len(probe.Role) == 0 || isNull(probe.Role) {
		return "needs a role"
	}
	var role string
	if json.Unmarshal(probe.Role, &role) != nil || strings.TrimSpace(role) == "" {
		return "role must be a non-empty string"
	}
	// Upstream refuses any other content (a number, an object) with a 400
	// that was then recorded as a failed call: bad input, refused here.
	if c := bytes.TrimSpace(probe.Content); len(c) > 0 && c[0] != '"' && c[0] != '[' && !isNull(c) {
		return "content must be a string, an array of content parts or null"
	}
	return ""
}

// hasControl: a model id with a control character (a NUL, a newline) is
// no model, and would reach the request log as it is.
func hasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }

func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }
