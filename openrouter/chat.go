package openrouter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

const chatPath = "/chat/completions"

// ChatResult is a completed non-streamed call.
type ChatResult struct {
	// Raw is the body exactly as received (after transfer decoding), for
	// forwarding; it may start with the whitespace OpenRouter sends to keep
	// a slow request alive.
	Raw      []byte
	Header   http.Header
	Response *ChatResponse // nil when the body did not decode
	Summary  Summary
}

// Chat sends req with "stream": false and reads the whole response.
//
// Errors before a 2xx are *APIError (or network errors), after retries.
// When the 2xx body breaks off or does not decode, Chat returns the error
// (wrapping ErrStreamInterrupted or ErrMalformedResponse) together with a
// non-nil *ChatResult holding the header, the bytes read and a Summary with
// at least the X-Generation-Id, so the call can still be accounted.
func (c *Client) Chat(ctx context.Context, req *ChatRequest) (*ChatResult, error) {
	body, err := prepare(req, false)
	if err != nil {
		return nil, err
	}
	resp, err := c.open(ctx, http.MethodPost, chatPath, body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	res := &ChatResult{Header: resp.Header}
	res.Summary.fromHeader(resp.Header)
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	res.Raw = raw
	switch {
	case err != nil:
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return res, fmt.Errorf("openrouter: chat: read body: %w: %w", ErrStreamInterrupted, err)
	case len(raw) > maxBodyBytes:
		return res, fmt.Errorf("openrouter: chat: %w: body exceeds %d bytes", ErrMalformedResponse, maxBodyBytes)
	}
	var r ChatResponse
	if err := json.Unmarshal(raw, &r); (err != nil && !isTypeError(err)) || !isObject(raw) {
		return res, fmt.Errorf("openrouter: chat: %w: %s", ErrMalformedResponse, decodeProblem(err))
	}
	res.Response = &r
	res.Summary.observeResponse(&r)
	return res, nil
}

// ChatStream sends req with "stream": true and returns the open stream once
// the 2xx header arrived. The caller must Close it. Errors before that are
// as for Chat; nothing is retried after.
func (c *Client) ChatStream(ctx context.Context, req *ChatRequest) (*Stream, error) {
	body, err := prepare(req, true)
	if err != nil {
		return nil, err
	}
	return c.ChatStreamBody(ctx, body)
}

// ChatStreamBody is ChatStream for a body already in its upstream form, as
// PatchRequest makes it from a request that decoded and validated.
func (c *Client) ChatStreamBody(ctx context.Context, body []byte) (*Stream, error) {
	resp, err := c.open(ctx, http.MethodPost, chatPath, body, true)
	if err != nil {
		return nil, err
	}
	return newStream(ctx, resp, c.maxEventBytes), nil
}

func prepare(req *ChatRequest, stream bool) ([]byte, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: no request", ErrInvalidRequest)
	}
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return req.marshal(stream)
}

// decodeProblem describes a decode failure without quoting the body, which
// may hold completion text that must not reach logs.
func decodeProblem(err error) string {
	if err == nil {
		return "not a JSON object"
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	}
	return "undecodable JSON"
}
