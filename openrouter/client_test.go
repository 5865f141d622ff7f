package openrouter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "sk-or-v1-0123456789abcdef-TESTSECRET"

// fakeClock makes waits instant: Sleep advances Now and records the wait.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 15, 13, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
	f.slept = append(f.slept, d)
	return nil
}

func (f *fakeClock) Slept() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.slept...)
}

// newTestClient serves h under /api/v1 like OpenRouter and returns a client
// for it with an instant clock.
func newTestClient(t *testing.T, h http.HandlerFunc, mod func(*Config)) (*Client, *fakeClock) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	clk := newFakeClock()
	cfg := Config{
		BaseURL: srv.URL + "/api/v1/", APIKey: testKey, HTTPClient: srv.Client(),
		Referer: "https://app.example", Title: "llmmeter test",
		Now: clk.Now, Sleep: clk.Sleep,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func testRequest(t *testing.T) *ChatRequest {
	t.Helper()
	var r ChatRequest
	body := `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],"stream":true,"temperature":0.2,"usage":{"include":true}}`
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		// The zero config is OpenRouter with defaults.
		{name: "zero", cfg: Config{}},
		// A trailing slash is fine.
		{name: "trailing slash", cfg: Config{BaseURL: "http://localhost:8080/api/v1/"}},
		// Not a URL at all.
		{name: "garbage", cfg: Config{BaseURL: "::nope"}, wantErr: "BaseURL"},
		// Only http and https make sense.
		{name: "scheme", cfg: Config{BaseURL: "ftp://openrouter.ai/api/v1"}, wantErr: "BaseURL"},
		// A query would be mangled by path joining.
		{name: "query", cfg: Config{BaseURL: "https://openrouter.ai/api/v1?x=1"}, wantErr: "BaseURL"},
		// Relative URLs have no host.
		{name: "relative", cfg: Config{BaseURL: "/api/v1"}, wantErr: "BaseURL"},
		// Negative durations are mistakes, all reported at once.
		{name: "negative", cfg: Config{MinBackoff: -1, GenerationWait: -1}, wantErr: "GenerationWait"},
		// The backoff range must not be inverted.
		{name: "inverted backoff", cfg: Config{MinBackoff: time.Second, MaxBackoff: time.Millisecond}, wantErr: "MaxBackoff"},
		// A key with a line break would corrupt the header.
		{name: "key newline", cfg: Config{APIKey: "sk\nX-Evil: 1"}, wantErr: "APIKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("New = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want mention of %s", err, tt.wantErr)
			}
		})
	}
	c, _ := New(Config{})
	if c.base != DefaultBaseURL || c.policy.MaxRetries != 2 || c.policy.MinBackoff != 200*time.Millisecond ||
		c.policy.MaxBackoff != 5*time.Second || c.policy.MaxRetryAfter != 10*time.Second || c.generationWait != 5*time.Second {
		t.Errorf("defaults = %+v", c)
	}
	if c.hc.Timeout != 0 {
		t.Error("default client must not time out long streams")
	}
	if c, _ := New(Config{MaxRetries: NoRetries}); c.policy.MaxRetries != 0 {
		t.Errorf("NoRetries gave %d retries", c.policy.MaxRetries)
	}
}

func TestConfigRedactsKey(t *testing.T) {
	cfg := Config{APIKey: testKey, BaseURL: "https://openrouter.ai/api/v1", Sleep: func(context.Context, time.Duration) error { return nil }}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg), string(js)} {
		if strings.Contains(form, testKey) || !strings.Contains(strings.ReplaceAll(form, `\u003c`, "<"), "<secret") {
			t.Errorf("config printed as %s", form)
		}
	}
}

func TestChat(t *testing.T) {
	respBody := "\n\n   " + `{"id":"gen-chat-1","provider":"Anthropic","model":"anthropic/claude-3.5-haiku","object":"chat.completion","created":1735689600,` +
		`"choices":[{"index":0,"logprobs":null,"finish_reason":"stop","native_finish_reason":"end_turn","message":{"role":"assistant","content":"Hello there","refusal":null,"reasoning":null}}],` +
		`"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,"cost":0.0000182,"is_byok":false,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		checks := map[string][2]string{
			"method":        {r.Method, http.MethodPost},
			"path":          {r.URL.Path, "/api/v1/chat/completions"},
			"authorization": {r.Header.Get("Authorization"), "Bearer " + testKey},
			"content-type":  {r.Header.Get("Content-Type"), "application/json"},
			"referer":       {r.Header.Get("HTTP-Referer"), "https://app.example"},
			"title":         {r.Header.Get("X-Title"), "llmmeter test"},
		}
		for name, c := range checks {
			if c[0] != c[1] {
				t.Errorf("%s = %q, want %q", name, c[0], c[1])
			}
		}
		var got map[string]any
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		if got["stream"] != false || got["temperature"] != 0.2 || got["usage"] == nil {
			t.Errorf("forwarded body = %v", got)
		}
		w.Header().Set("X-Generation-Id", "gen-header")
		io.WriteString(w, respBody)
	}, nil)
	res, err := c.Chat(context.Background(), testRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Raw) != respBody {
		t.Errorf("Raw = %q", res.Raw)
	}
	want := Summary{GenerationID: "gen-chat-1", Model: "anthropic/claude-3.5-haiku", Provider: "Anthropic",
		FinishReason: "stop", NativeFinishReason: "end_turn", CompletionChars: 11,
		Usage: &Usage{PromptTokens: 10, CompletionTokens: 2, TotalTokens: 12, Cost: nanos(18200)}}
	assertSummary(t, res.Summary, want)
	if res.Response.Choices[0].Message.Content != "Hello there" || res.Header.Get("X-Generation-Id") != "gen-header" {
		t.Errorf("response = %+v", res.Response)
	}
}

func TestChatBodyProblems(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, res *ChatResult, err error)
	}{
		{
			// A provider error inside HTTP 200, with its error object.
			name: "provider error with object",
			body: `{"id":"gen-p1","model":"m","error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"Lambda"}},"choices":[{"index":0,"finish_reason":"error","native_finish_reason":null,"message":{"role":"assistant","content":""}}]}`,
			check: func(t *testing.T, res *ChatResult, err error) {
				if err != nil || res.Summary.Err == nil || res.Summary.Err.Code != "502" || res.Summary.Err.Message != "Provider returned error" {
					t.Errorf("err %v, summary %+v", err, res.Summary)
				}
			},
		},
		{
			// finish_reason "error" alone still records a failure.
			name: "provider error without object",
			body: `{"id":"gen-p2","model":"m","choices":[{"index":0,"finish_reason":"error","message":{"role":"assistant","content":null}}]}`,
			check: func(t *testing.T, res *ChatResult, err error) {
				if err != nil || res.Summary.Err == nil || res.Summary.FinishReason != "error" {
					t.Errorf("err %v, summary %+v", err, res.Summary)
				}
			},
		},
		{
			// An undecodable 200 body: the error comes with what is needed to
			// account the call, and never quotes the body.
			name: "not JSON",
			body: `<html>secret completion text</html>`,
			check: func(t *testing.T, res *ChatResult, err error) {
				if !errors.Is(err, ErrMalformedResponse) || res == nil || res.Summary.GenerationID != "gen-hdr" || len(res.Raw) == 0 {
					t.Fatalf("res %+v, err %v", res, err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error quotes the body: %v", err)
				}
			},
		},
		{
			// Content given as parts is skipped, the rest decodes.
			name: "content parts",
			body: `{"id":"gen-p3","model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":[{"type":"text","text":"x"}]}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2,"cost":0.000001}}`,
			check: func(t *testing.T, res *ChatResult, err error) {
				if err != nil || res.Summary.Usage == nil || *res.Summary.Usage.Cost != 1000 {
					t.Errorf("err %v, summary %+v", err, res.Summary)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Generation-Id", "gen-hdr")
				io.WriteString(w, tt.body)
			}, nil)
			res, err := c.Chat(context.Background(), testRequest(t))
			tt.check(t, res, err)
		})
	}
}

func TestChatStream(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "usage_empty_choices.sse"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		var got map[string]any
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil || got["stream"] != true {
			t.Errorf("forwarded body = %v (%v)", got, err)
		}
		if r.Header.Get("Accept") != "text/event-stream" {
			t.Errorf("Accept = %q", r.Header.Get("Accept"))
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Generation-Id", "gen-1735689600-Kx7mQp2rT9vWbN4c")
		w.Write(body)
	}, nil)
	req := testRequest(t)
	req.Stream = false // ChatStream forces it on
	s, err := c.ChatStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seq, _, err := drain(t, s)
	if err != io.EOF || seq != "cdddddD|EOF" {
		t.Fatalf("events %s, err %v", seq, err)
	}
	if sum := s.Summary(); sum.Usage == nil || *sum.Usage.Cost != 4200 || s.Header().Get("X-Generation-Id") == "" {
		t.Errorf("summary %+v", sum)
	}
	if req.Stream {
		t.Error("ChatStream modified the caller's request")
	}
}

func TestStreamContextCancel(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Generation-Id", "gen-cancel")
		io.WriteString(w, `data: {"id":"gen-cancel","choices":[{"delta":{"content":"x"}}]}`+"\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := c.ChatStream(ctx, testRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ev, err := s.Next(); err != nil || ev.Kind != EventData {
		t.Fatalf("first event %+v, %v", ev, err)
	}
	cancel()
	_, err = s.Next()
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrStreamInterrupted) || IsRetryable(err) {
		t.Fatalf("err = %v", err)
	}
	if s.Summary().GenerationID != "gen-cancel" {
		t.Errorf("summary %+v", s.Summary())
	}
}

func TestChatRejectsInvalidRequest(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		t.Error("an invalid request reached the server")
	}, nil)
	_, err := c.Chat(context.Background(), &ChatRequest{})
	if !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("err = %v", err)
	}
	_, err = c.ChatStream(context.Background(), nil)
	if !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("err = %v", err)
	}
}
