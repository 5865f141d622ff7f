package bench

import (
	"bytes"
	"io"
	"sync"
)

// lockedWriter is a child's stdout collected while it runs.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

var _ io.Writer = (*lockedWriter)(nil)
