//go:build !linux

package testaddr

import (
	"net"
	"testing"
)

// Reserve returns a loopback address that was free a moment ago: without
// Linux's port sharing the port cannot be held meanwhile.
func Reserve(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testaddr: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
