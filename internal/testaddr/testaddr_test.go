//go:build linux

package testaddr_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"

	"llmmeter/internal/testaddr"
)

// TestReserve: the address refuses connections, takes a server, refuses
// again once the server stopped, and takes a server again; meanwhile a
// bind that does not share (no SO_REUSEADDR) is refused, as any other
// process's would be.
func TestReserve(t *testing.T) {
	addr := testaddr.Reserve(t)
	refused := func(when string) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			t.Fatalf("%s: a connection to %s was accepted", when, addr)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("%s: dial %s: %v, want connection refused", when, addr, err)
		}
	}
	refused("before any server")
	for round := range 2 {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("round %d: listen on the reserved address: %v", round, err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "round "+strconv.Itoa(round)) })}
		go srv.Serve(ln)
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		res, err := c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(body) != "round "+strconv.Itoa(round) {
			t.Fatalf("round %d: answered %q", round, body)
		}
		srv.Close()
		refused("after the server stopped")
	}
	if err := plainBind(addr); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("a bind without SO_REUSEADDR to the reserved port: %v, want EADDRINUSE", err)
	}
}

// plainBind binds a socket to addr as a program that does not share ports
// does, and releases it.
func plainBind(addr string) error {
	_, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	return syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
}
