package convexclient

import (
	"context"
	"crypto/hmac"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// headerField is the value of key in a signature header ("" if absent).
func headerField(h, key string) string {
	for _, part := range strings.Split(h, ",") {
		if k, v, ok := strings.Cut(part, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// TestRetryIsSignedAfresh: Convex accepts a nonce once, so a retry after
// a lost answer (the first attempt may have taken effect) must carry a new
// nonce and timestamp, or it would be refused as a replay. The server here
// plays Convex: it verifies each v2 signature, refuses a seen nonce with
// 409 and drops the connection of the first attempt after reading it.
func TestRetryIsSignedAfresh(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var headers []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := r.Header.Get(SignatureHeader)
		mu.Lock()
		headers = append(headers, h)
		first, replay := len(headers) == 1, seen[headerField(h, "n")]
		seen[headerField(h, "n")] = true
		mu.Unlock()
		ms, _ := strconv.ParseInt(headerField(h, "t"), 10, 64)
		want := Sign([]byte(testSecret), time.UnixMilli(ms), headerField(h, "n"), r.URL.EscapedPath(), body)
		switch {
		case !hmac.Equal([]byte(h), []byte(want)):
			w.WriteHeader(401)
		case replay:
			w.WriteHeader(409)
			io.WriteString(w, `{"error":{"code":"replayed","message":"nonce already used"}}`)
		case first: // the answer is lost
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		default:
			io.WriteString(w, `{"released":1}`)
		}
	}))
	defer srv.Close()
	cfg := fast(srv.URL)
	clock := time.UnixMilli(1_700_000_000_000)
	cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(time.Millisecond); return clock }
	cl, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Released int }
	if err := cl.Call(context.Background(), "/quotas/release", map[string]string{"requestId": "r1"}, &out); err != nil || out.Released != 1 {
		t.Fatalf("err %v, out %+v, headers %q", err, out, headers)
	}
	if len(headers) != 2 {
		t.Fatalf("%d attempts, want 2: %q", len(headers), headers)
	}
	a, b := headers[0], headers[1]
	if headerField(a, "n") == headerField(b, "n") || headerField(a, "t") == headerField(b, "t") {
		t.Fatalf("the retry reused the first attempt's nonce or timestamp: %q, %q", a, b)
	}
	for _, h := range headers {
		if n := headerField(h, "n"); len(n) != 32 || headerField(h, "v2") == "" || headerField(h, "v1") != "" {
			t.Fatalf("header %q is not a v2 signature with a 32-digit nonce", h)
		}
	}
}
