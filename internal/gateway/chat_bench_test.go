package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"llmmeter/openrouter"
	"llmmeter/openrouter/openroutertest"
)

// BenchmarkChatPlain serves plain calls over loopback HTTP through the
// whole handler chain, against the simulator, with the real outbox (its
// group-committed fsync included): the per-call CPU work to profile with
// go test -run '^$' -bench ChatPlain -cpuprofile cpu.out ./internal/gateway/
// It reports cpu-µs/op, the process's CPU time per call (the simulator's
// and the client's included), which a busy machine does not inflate as it
// does ns/op.
func BenchmarkChatPlain(b *testing.B) { benchChat(b, false, false) }

// BenchmarkChatStream is the same for streamed calls.
func BenchmarkChatStream(b *testing.B) { benchChat(b, true, false) }

// BenchmarkChatPlainH2C and BenchmarkChatStreamH2C call the upstream over
// HTTP/2 (h2c), as the service does with OPENROUTER_H2C and as it does with
// OpenRouter over TLS.
func BenchmarkChatPlainH2C(b *testing.B)  { benchChat(b, false, true) }
func BenchmarkChatStreamH2C(b *testing.B) { benchChat(b, true, true) }

func benchChat(b *testing.B, stream, h2c bool) {
	h := newHarness(b, openroutertest.Options{})
	handler := h.handler
	if h2c {
		up, err := openrouter.New(openrouter.Config{BaseURL: h.sim.URL, UnencryptedHTTP2: true, MaxRetries: openrouter.NoRetries, GenerationWait: time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		opt := h.opt
		opt.Upstream = up
		handler = New(opt).Handler()
	}
	srv := httptest.NewServer(handler)
	b.Cleanup(srv.Close)
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	body := chatBody(stream, "Say hello.")
	b.ReportAllocs()
	b.SetParallelism(4)
	cpu0 := processCPU()
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
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
