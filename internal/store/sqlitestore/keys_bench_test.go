package sqlitestore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"llmmeter/internal/store"
)

// BenchmarkAPIKeyByHash is the key look-up every call with an API key makes
// on the embedded engine before it goes upstream (auth.Keys has no cache
// here, so a revocation applies at once). cpu-µs/op is the process's CPU
// time per look-up, which a busy machine inflates less than ns/op.
//
// "warm" looks up from one goroutine with a context that never ends.
// "call" looks up as a new connection's handler does: from a goroutine of
// its own, with a context that can end (the request's).
func BenchmarkAPIKeyByHash(b *testing.B) {
	b.Run("warm", func(b *testing.B) { benchKeyByHash(b, false) })
	b.Run("call", func(b *testing.B) { benchKeyByHash(b, true) })
}

func benchKeyByHash(b *testing.B, asCall bool) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "keys.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	u, _, err := s.EnsureUser(ctx, store.EnsureUserInput{ExternalID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	hash := strings.Repeat("ab", 32)
	if _, err := s.CreateAPIKey(ctx, store.NewAPIKey{UserID: u.ID, Hash: hash, Prefix: "llm_abc", Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		if !asCall {
			if k, err := s.APIKeyByHash(ctx, hash); err != nil || k.UserID != u.ID {
				b.Fatalf("%+v %v", k, err)
			}
			continue
		}
		done := make(chan error)
		go func() {
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			k, err := s.APIKeyByHash(rctx, hash)
			if err == nil && k.UserID != u.ID {
				err = fmt.Errorf("%+v", k)
			}
			done <- err
		}()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
