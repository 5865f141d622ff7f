package openroutertest_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"llmmeter/openrouter/openroutertest"
)

// h2cClient speaks HTTP/2 with prior knowledge to http:// URLs.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

// TestServersSpeakH2C: NewServer and Serve answer an HTTP/2 (h2c) client
// over HTTP/2, streams included, and an HTTP/1.1 client over HTTP/1.1, so
// a gateway can multiplex its streams as it does on OpenRouter's HTTP/2.
func TestServersSpeakH2C(t *testing.T) {
	srv := openroutertest.NewServer(openroutertest.Options{AnswerTokens: 4})
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- openroutertest.Serve(ctx, ln, openroutertest.Options{AnswerTokens: 4}) }()
	defer func() { cancel(); <-done }()

	for name, base := range map[string]string{"NewServer": srv.URL, "Serve": "http://" + ln.Addr().String() + "/api/v1"} {
		for _, c := range []struct {
			client *http.Client
			proto  string
		}{{h2cClient(), "HTTP/2.0"}, {&http.Client{Transport: &http.Transport{}}, "HTTP/1.1"}} {
			resp := do(t, waitCtx(t), c.client, http.MethodPost, base+"/chat/completions", chatReq("openai/gpt-4o-mini", "hi", true, nil), "")
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || resp.Proto != c.proto || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
				t.Errorf("%s, %s client: %s %d, err %v, body ends %q", name, c.proto, resp.Proto, resp.StatusCode, err, body[max(0, len(body)-20):])
			}
			c.client.CloseIdleConnections()
		}
	}
}
