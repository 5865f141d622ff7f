package openroutertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

const maxBodyBytes = 8 << 20

// chatRequest is the part of a chat completion request the simulator
// reads. usage, stream_options, HTTP-Referer and the rest are accepted and
// ignored, as on OpenRouter.
type chatRequest struct {
	Model               string          `json:"model"`
	Models              []string        `json:"models"`
	Messages            []chatMessage   `json:"messages"`
	Stream              bool            `json:"stream"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	User                string          `json:"user"`
	Provider            json.RawMessage `json:"provider"`
	Reasoning           json.RawMessage `json:"reasoning"`
	PromptCacheKey      *string         `json:"prompt_cache_key"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type contentPart struct {
	Type         string          `json:"type"`
	Text         string          `json:"text"`
	CacheControl json.RawMessage `json:"cache_control"`
}

// message is a decoded message: its text and whether any part asked for
// prompt caching.
type message struct {
	text  string
	cache bool
}

// decodeChat reads and validates the body. Its error is the client-facing
// 400 message.
func decodeChat(w http.ResponseWriter, r *http.Request) (chatRequest, []message, error) {
	var req chatRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return req, nil, fmt.Errorf("could not read request body: %v", err)
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return req, nil, fmt.Errorf("Invalid JSON in request body: %v", err)
	}
	var errs []error
	if len(req.Messages) == 0 {
		errs = append(errs, errors.New(`"messages" is required and must not be empty`))
	}
	msgs := make([]message, 0, len(req.Messages))
	for i, m := range req.Messages {
		if m.Role == "" {
			errs = append(errs, fmt.Errorf("messages[%d].role is required", i))
		}
		dm, err := decodeContent(m.Content)
		if err != nil {
			errs = append(errs, fmt.Errorf("messages[%d].content: %w", i, err))
		}
		msgs = append(msgs, dm)
	}
	if req.MaxTokens != nil && *req.MaxTokens < 0 || req.MaxCompletionTokens != nil && *req.MaxCompletionTokens < 0 {
		errs = append(errs, errors.New("max_tokens must not be negative"))
	}
	if isSet(req.Provider) && !bytes.HasPrefix(bytes.TrimSpace(req.Provider), []byte("{")) {
		errs = append(errs, errors.New(`"provider" must be an object`))
	}
	if isSet(req.Reasoning) && !bytes.HasPrefix(bytes.TrimSpace(req.Reasoning), []byte("{")) {
		errs = append(errs, errors.New(`"reasoning" must be an object`))
	}
	if err := errors.Join(errs...); err != nil {
		return req, nil, errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return req, msgs, nil
}

func decodeContent(raw json.RawMessage) (message, error) {
	if !isSet(raw) {
		return message{}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return message{text: s}, nil
	}
	var parts []contentPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return message{}, errors.New("must be a string or an array of content parts")
	}
	var m message
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
		m.cache = m.cache || isSet(p.CacheControl)
	}
	m.text = b.String()
	return m, nil
}

// isSet reports whether a raw JSON field is present and not null.
func isSet(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// resolveModel picks the first known model of "model" then "models", as
// OpenRouter's fallback list does.
func (s *Simulator) resolveModel(req chatRequest) (Model, error) {
	candidates := append([]string{req.Model}, req.Models...)
	var named []string
	for _, id := range candidates {
		if id == "" {
			continue
		}
		if m, ok := s.models[id]; ok {
			return m, nil
		}
		named = append(named, id)
	}
	if len(named) == 0 {
		return Model{}, errors.New(`"model" is required`)
	}
	return Model{}, fmt.Errorf("%s is not a valid model ID", strings.Join(named, ", "))
}

// reasoningRequested reports whether the "reasoning" object enables
// reasoning, and its max_tokens if given.
func reasoningRequested(raw json.RawMessage) (on bool, maxTokens int64) {
	if !isSet(raw) {
		return false, 0
	}
	var r struct {
		Enabled   *bool  `json:"enabled"`
		Effort    string `json:"effort"`
		MaxTokens int64  `json:"max_tokens"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return false, 0
	}
	if r.Enabled != nil && !*r.Enabled || r.Effort == "none" {
		return false, 0
	}
	return true, max(r.MaxTokens, 0)
}
