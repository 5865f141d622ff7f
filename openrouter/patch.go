package openrouter

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// PatchRequest returns the body that goes upstream for a chat request the
// gateway has already decoded and validated: the caller's bytes as sent,
// top-level members in their order and their values untouched, except
//
//   - "stream" is true (the gateway always streams from OpenRouter);
//   - "user" is the given end-user id ("" leaves none), never the
//     caller's claim, whatever the key's case;
//   - the gateway's own fields, conversation_id and message_id, are gone;
//   - a key that appears more than once keeps only its last member, the
//     one encoding/json decoded, so that the upstream, whichever duplicate
//     it would take, reads what the gateway checked.
//
// Keys are compared after unescaping ("\u0075ser" is "user"). This replaces
// decoding every member and encoding the request again (see ChatRequest's
// marshal) with one scan and one copy.
func PatchRequest(body []byte, user string) ([]byte, error) {
	ms, err := topMembers(body)
	if err != nil {
		return nil, err
	}
	last := make(map[string]int, len(ms))
	for i, m := range ms {
		last[m.key] = i
	}
	out := bytes.NewBuffer(make([]byte, 0, len(body)+len(user)+32))
	out.WriteByte('{')
	for i, m := range ms {
		if last[m.key] != i || dropped(m.key) {
			continue
		}
		out.Write(body[m.start:m.end])
		out.WriteByte(',')
	}
	out.WriteString(`"stream":true`)
	if user != "" {
		out.WriteString(`,"user":`)
		writeJSON(out, user)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// dropped names the members PatchRequest leaves out and writes itself.
func dropped(key string) bool {
	switch key {
	case "stream", "conversation_id", "message_id":
		return true
	}
	return strings.EqualFold(key, "user")
}

// member is one top-level member: its unescaped key and the bytes from its
// key's opening quote to the end of its value.
type member struct {
	key        string
	start, end int
}

var errBadJSON = errors.New("openrouter: request body is not a valid JSON object")

// topMembers lists the members of the JSON object b without decoding
// their values.
func topMembers(b []byte) ([]member, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errBadJSON
	}
	var ms []member
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return nil, errBadJSON
			}
			start := i
			end, ok := skipString(b, i)
			if !ok {
				return nil, errBadJSON
			}
			key := string(b[start+1 : end-1])
			if strings.IndexByte(key, '\\') >= 0 {
				if json.Unmarshal(b[start:end], &key) != nil {
					return nil, errBadJSON
				}
			}
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return nil, errBadJSON
			}
			i = skipSpace(b, i+1)
			if i, ok = skipValue(b, i); !ok {
				return nil, errBadJSON
			}
			ms = append(ms, member{key: key, start: start, end: i})
			i = skipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
				continue
			}
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			return nil, errBadJSON
		}
	}
	if skipSpace(b, i) != len(b) {
		return nil, errBadJSON
	}
	return ms, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++ // the escaped byte (\uXXXX's hex digits are plain bytes)
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

// skipValue returns the index after the value starting at b[i]. Nested
// values are skipped by bracket depth; the caller has already checked the
// body is valid JSON (json.Unmarshal), so this only finds boundaries.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, ok := skipString(b, i)
				if !ok {
					return 0, false
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	}
	start := i
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i, i > start
		}
	}
	return 0, false // the body ended inside the object
}
