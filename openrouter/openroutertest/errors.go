package openroutertest

import (
	"encoding/json"
	"net/http"
)

// errorBody is OpenRouter's error envelope, both for HTTP errors and for
// the top-level "error" of a mid-stream error chunk.
type errorBody struct {
	Error wireError `json:"error"`
}

// wireError is {"code","message","metadata"}. Code is an int or, for some
// mid-stream failures, a string.
type wireError struct {
	Code     any            `json:"code"`
	Message  string         `json:"message"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own types are marshalled; this is a programming error.
		panic("openroutertest: marshal: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers status with OpenRouter's error body.
func writeError(w http.ResponseWriter, status int, msg string, meta map[string]any) {
	writeJSON(w, status, errorBody{Error: wireError{Code: status, Message: msg, Metadata: meta}})
}
