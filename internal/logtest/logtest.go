// Package logtest is a log sink for tests: a buffer the service's
// goroutines write while the test reads it.
package logtest

import (
	"strings"
	"sync"
)

// Buffer collects what is written to it; safe for concurrent use.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Count is how many times sub occurs in what was written.
func (b *Buffer) Count(sub string) int { return strings.Count(b.String(), sub) }
