package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"llmmeter/openrouter/openroutertest"
)

// BenchmarkChatPlain serves plain calls over loopback HTTP through the
// whole handler chain, against the simulator, with the real outbox (its
// group-committed fsync included): the per-call CPU work to profile with
// go test -run '^$' -bench ChatPlain -cpuprofile cpu.out ./internal/gateway/
func BenchmarkChatPlain(b *testing.B) { benchChat(b, false) }

// BenchmarkChatStream is the same for streamed calls.
func BenchmarkChatStream(b *testing.B) { benchChat(b, true) }

func benchChat(b *testing.B, stream bool) {
	h := newHarness(b, openroutertest.Options{})
	srv := httptest.NewServer(h.handler)
	b.Cleanup(srv.Close)
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	body := chatBody(stream, "Say hello.")
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer test")
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || n == 0 {
				b.Errorf("status %d, %d bytes", res.StatusCode, n)
				return
			}
		}
	})
}
