package openroutertest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"llmmeter/internal/money"
	"llmmeter/openrouter/openroutertest"
)

// event is one SSE event: a comment or a data line.
type event struct {
	comment string // text after ": ", if a comment
	data    string // text after "data: ", if data
}

func (e event) isComment() bool { return e.data == "" }

// sseReader reads events and insists that each is a single line ended by
// a blank line.
type sseReader struct{ br *bufio.Reader }

func newSSE(r io.Reader) *sseReader { return &sseReader{br: bufio.NewReader(r)} }

func (r *sseReader) next() (event, error) {
	line, err := r.br.ReadString('\n')
	if err != nil {
		if err == io.EOF && line != "" {
			return event{}, io.ErrUnexpectedEOF
		}
		return event{}, err
	}
	blank, err := r.br.ReadString('\n')
	if err != nil {
		return event{}, fmt.Errorf("event %q not terminated: %w", line, err)
	}
	if blank != "\n" {
		return event{}, fmt.Errorf("event %q followed by %q, want a blank line", line, blank)
	}
	line = strings.TrimSuffix(line, "\n")
	switch {
	case strings.HasPrefix(line, ": "):
		return event{comment: line[2:]}, nil
	case strings.HasPrefix(line, "data: "):
		return event{data: line[6:]}, nil
	}
	return event{}, fmt.Errorf("unexpected line %q", line)
}

// streamResult is everything a streamed response delivered.
type streamResult struct {
	resp    *http.Response
	body    []byte // non-2xx or non-SSE body
	events  []event
	readErr error // how the stream ended; nil for a clean EOF
}

// data returns the data events in order.
func (s streamResult) data() []string {
	var out []string
	for _, e := range s.events {
		if !e.isComment() {
			out = append(out, e.data)
		}
	}
	return out
}

// chunks decodes the JSON data events, skipping [DONE] and malformed ones.
func (s streamResult) chunks() []chunk {
	var out []chunk
	for _, d := range s.data() {
		var c chunk
		if json.Unmarshal([]byte(d), &c) == nil {
			out = append(out, c)
		}
	}
	return out
}

// content joins the streamed text.
func (s streamResult) content() string {
	var b strings.Builder
	for _, c := range s.chunks() {
		for _, ch := range c.Choices {
			b.WriteString(ch.Delta.Content)
		}
	}
	return b.String()
}

// usageChunk returns the chunk carrying usage, if any.
func (s streamResult) usageChunk() (chunk, bool) {
	for _, c := range s.chunks() {
		if c.Usage != nil {
			return c, true
		}
	}
	return chunk{}, false
}

type chunk struct {
	ID       string     `json:"id"`
	Provider string     `json:"provider"`
	Model    string     `json:"model"`
	Object   string     `json:"object"`
	Created  int64      `json:"created"`
	Choices  []choice   `json:"choices"`
	Error    *wireError `json:"error"`
	Usage    *usage     `json:"usage"`
}

type choice struct {
	Index              int     `json:"index"`
	Delta              delta   `json:"delta"`
	FinishReason       *string `json:"finish_reason"`
	NativeFinishReason *string `json:"native_finish_reason"`
	Message            *struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"message"`
	Error *wireError `json:"error"`
}

type delta struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type wireError struct {
	Code     any            `json:"code"`
	Message  string         `json:"message"`
	Metadata map[string]any `json:"metadata"`
}

type usage struct {
	PromptTokens        int64       `json:"prompt_tokens"`
	CompletionTokens    int64       `json:"completion_tokens"`
	TotalTokens         int64       `json:"total_tokens"`
	Cost                json.Number `json:"cost"`
	IsBYOK              *bool       `json:"is_byok"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// completion is a non-streaming response.
type completion struct {
	ID       string   `json:"id"`
	Provider string   `json:"provider"`
	Model    string   `json:"model"`
	Object   string   `json:"object"`
	Choices  []choice `json:"choices"`
	Usage    *usage   `json:"usage"`
}

// errorBody is OpenRouter's error envelope.
type errorBody struct {
	Error *wireError `json:"error"`
}

// chatReq builds a chat request body.
func chatReq(model, text string, stream bool, extra map[string]any) map[string]any {
	b := map[string]any{
		"model":    model,
		"messages": []any{map[string]any{"role": "user", "content": text}},
		"stream":   stream,
	}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// do sends a request with an optional JSON body and bearer key.
func do(t *testing.T, ctx context.Context, c *http.Client, method, url string, body any, key string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			j, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(j)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp
}

// stream posts a chat request and reads the whole response.
func stream(t *testing.T, srv *openroutertest.Server, body any) streamResult {
	t.Helper()
	resp := do(t, context.Background(), srv.Client(), http.MethodPost, srv.URL+"/chat/completions", body, "")
	defer resp.Body.Close()
	res := streamResult{resp: resp}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		res.body, res.readErr = io.ReadAll(resp.Body)
		return res
	}
	r := newSSE(resp.Body)
	for {
		e, err := r.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				res.readErr = err
			}
			return res
		}
		res.events = append(res.events, e)
	}
}

// getJSON GETs path under the API base and decodes the body into v.
func getJSON(t *testing.T, srv *openroutertest.Server, path, key string, v any) int {
	t.Helper()
	resp := do(t, context.Background(), srv.Client(), http.MethodGet, srv.URL+path, nil, key)
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", path, err)
	}
	return resp.StatusCode
}

// usdOf parses a JSON number of dollars exactly.
func usdOf(t *testing.T, n json.Number) money.Nanos {
	t.Helper()
	v, err := money.ParseUSD(n.String())
	if err != nil {
		t.Fatalf("cost %q: %v", n, err)
	}
	return v
}

// newServer starts a simulator closed at the end of the test.
func newServer(t *testing.T, opts openroutertest.Options) *openroutertest.Server {
	t.Helper()
	srv := openroutertest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv
}

// waitCtx bounds a wait so that a bug fails the test instead of hanging it.
func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2024, 1, 15, 13, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// text44 pads s with "x" to 44 runes: 11+4 = 15 prompt tokens.
func text44(s string) string { return s + strings.Repeat("x", 44-len([]rune(s))) }

// price parses a per-token price literal.
func price(t *testing.T, s string) money.Price {
	t.Helper()
	p, err := money.ParsePrice(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
