package faults

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
)

// TestProxyModes: each mode fails a request the way it says, on the same
// address, and Pass forwards again afterwards; leaving Pass cuts a kept
// connection.
func TestProxyModes(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	p, err := NewProxy(strings.TrimPrefix(backend.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	url := "http://" + p.Addr() + "/"
	kept := &http.Client{Transport: &http.Transport{}}
	get := func(c *http.Client) (int, error) {
		res, err := c.Get(url)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		io.ReadAll(res.Body)
		return res.StatusCode, nil
	}
	fresh := func() *http.Client { return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} }
	if code, err := get(kept); err != nil || code != 200 {
		t.Fatalf("pass: %d %v", code, err)
	}
	for _, c := range []struct {
		mode Mode
		// check says whether the request failed as this mode should.
		check func(code int, err error) bool
	}{
		// Refuse: nobody listens.
		{Refuse, func(_ int, err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }},
		// Reset: the connection is reset (or closed before any answer).
		{Reset, func(_ int, err error) bool { return err != nil && !errors.Is(err, syscall.ECONNREFUSED) }},
		// Unavailable: an HTTP 503.
		{Unavailable, func(code int, err error) bool { return err == nil && code == 503 }},
		// Pass again: the backend answers on the same address.
		{Pass, func(code int, err error) bool { return err == nil && code == 200 }},
	} {
		if err := p.Set(c.mode); err != nil {
			t.Fatal(err)
		}
		if code, err := get(fresh()); !c.check(code, err) {
			t.Errorf("%s: got %d %v", c.mode, code, err)
		}
	}
	// The kept connection from the first request was cut when Pass was
	// left; the client notices and dials again.
	if code, err := get(kept); err != nil || code != 200 {
		t.Errorf("pass after the modes, kept client: %d %v", code, err)
	}
	if p.Faults.Load() < 2 {
		t.Errorf("faults counted: %d", p.Faults.Load())
	}
}
