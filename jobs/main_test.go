package jobs_test

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if stopShared != nil {
		stopShared()
	}
	os.Exit(code)
}

// holder is a testing.TB for the backend shared across tests: its
// cleanups run from TestMain, and a failure to start panics.
type holder struct {
	testing.TB
	mu  sync.Mutex
	fns []func()
}

func (h *holder) Helper()                   {}
func (h *holder) Cleanup(f func())          { h.mu.Lock(); h.fns = append(h.fns, f); h.mu.Unlock() }
func (h *holder) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (h *holder) Fatal(a ...any)            { panic(fmt.Sprint(a...)) }
func (h *holder) Log(a ...any)              { fmt.Fprintln(os.Stderr, a...) }
func (h *holder) Logf(f string, a ...any)   { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (h *holder) Skip(a ...any)             { panic(fmt.Sprint(a...)) }
func (h *holder) cleanup() {
	for i := len(h.fns) - 1; i >= 0; i-- {
		h.fns[i]()
	}
}

func decode(t *testing.T, s string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}
