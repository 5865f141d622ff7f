package gateway

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"llmmeter/openrouter"
)

// jsonProblem describes why a body is not a chat request, in words fit for
// the caller and without echoing the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return "invalid JSON at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.Is(err, openrouter.ErrInvalidRequest):
		// The request's own decoder names each field and the type it wants
		// ("model must be a string"); one problem a line, joined here.
		return oneLine(strings.TrimPrefix(err.Error(), openrouter.ErrInvalidRequest.Error()+": "))
	default:
		return "invalid JSON"
	}
}

// oneLine joins the problems of an errors.Join, one a line, with "; ".
func oneLine(problems string) string { return strings.ReplaceAll(problems, "\n", "; ") }

// kind is the JSON type a well-known parameter must have.
type kind int

const (
	kindInteger kind = iota
	kindNumber
	kindBoolean
	kindObject
)

var kindNames = [...]string{kindInteger: "an integer", kindNumber: "a number", kindBoolean: "a boolean", kindObject: "an object"}

// paramKinds are the pass-through parameters whose type the gateway checks
// itself, so that a caller learns "max_tokens must be an integer" from us
// rather than an opaque error from a provider, and the quota estimate reads
// what the upstream will read. Others pass through unchecked.
var paramKinds = map[string]kind{
	"max_tokens": kindInteger, "max_completion_tokens": kindInteger, "n": kindInteger, "seed": kindInteger,
	"top_k": kindInteger, "top_logprobs": kindInteger,
	"temperature": kindNumber, "top_p": kindNumber, "frequency_penalty": kindNumber, "presence_penalty": kindNumber,
	"repetition_penalty": kindNumber, "min_p": kindNumber, "top_a": kindNumber,
	"logprobs": kindBoolean, "parallel_tool_calls": kindBoolean,
	"stream_options": kindObject, "response_format": kindObject, "reasoning": kindObject, "usage": kindObject,
}

// typedParams are the keys openrouter.ChatRequest decodes into fields of its
// own; they never remain in Extra under their exact spelling.
var typedParams = []string{"model", "models", "messages", "stream", "provider"}

// screenExtra checks the pass-through parameters before they go upstream.
//
//   - Every spelling of "user" ("User", "USER", ...) is removed: the end-user
//     id OpenRouter sees is ours, and an upstream that matches keys without
//     regard to case would otherwise take the caller's.
//   - Another spelling of a typed or checked parameter ("Model", "STREAM",
//     "Max_Tokens", "ſtream" with a long s) is refused: the gateway would
//     price, stream and log one value while such an upstream used the other.
//   - Well-known parameters must have their JSON type.
//
// Problems are reported together, in key order.
func screenExtra(extra map[string]json.RawMessage) *apiError {
	var problems []string
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		name := knownName(k)
		switch {
		case name == "user":
			delete(extra, k)
		case name != k:
			problems = append(problems, strconv.Quote(k)+" is not a parameter; field names are case-sensitive (did you mean "+strconv.Quote(name)+"?)")
		default:
			if want, ok := paramKinds[k]; ok && !hasKind(extra[k], want) {
				problems = append(problems, k+" must be "+kindNames[want])
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return badRequest("Request body is not a valid chat completion request: %s", strings.Join(problems, "; "))
}

// knownName is the parameter the gateway knows (typed, checked, or user)
// that k spells under Unicode case folding, as a decoder that matches keys
// without regard to case reads it ("Max_Tokens", or "max_toKens" with the
// Kelvin sign, is max_tokens), or k itself when there is none. Such a
// spelling would be priced and streamed by its exact key here and read as
// the other by such an upstream, so it is refused, or removed for user.
func knownName(k string) string {
	if k == "user" || slices.Contains(typedParams, k) {
		return k
	}
	if _, ok := paramKinds[k]; ok {
		return k
	}
	if strings.EqualFold(k, "user") {
		return "user"
	}
	for _, name := range typedParams {
		if strings.EqualFold(k, name) {
			return name
		}
	}
	for name := range paramKinds {
		if strings.EqualFold(k, name) {
			return name
		}
	}
	return k
}

// hasKind reports whether v (a value as the decoder cut it out, without
// surrounding space) is null or a JSON value of kind k.
func hasKind(v json.RawMessage, k kind) bool {
	if string(v) == "null" {
		return true
	}
	switch k {
	case kindInteger:
		var n int64
		return json.Unmarshal(v, &n) == nil
	case kindNumber:
		var f float64
		return json.Unmarshal(v, &f) == nil
	case kindBoolean:
		var b bool
		return json.Unmarshal(v, &b) == nil
	default:
		return len(v) > 0 && v[0] == '{'
	}
}
