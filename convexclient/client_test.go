package convexclient

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestSignMatchesTheSpec(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	const nonce = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	got := Sign([]byte("s3cret"), at, nonce, "/ingest", []byte(`{"a":1}`))
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write([]byte("v2\n1700000000123\n" + nonce + "\nPOST\n/ingest\n" + `{"a":1}`))
	if want := "t=1700000000123,n=" + nonce + ",v2=" + hex.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("got %s want %s", got, want)
	}
}

// TestCallSignsTheRoute: the signature covers the method and the URL path
// as the server receives it, SiteURL's prefix included (issue 11 §5: a
// body-only MAC let signed bytes be replayed to another route).
func TestCallSignsTheRoute(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	var got, path string
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, path = r.Header.Get(SignatureHeader), r.URL.EscapedPath()
		body, _ = io.ReadAll(r.Body)
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	cfg := fast(srv.URL + "/llmmeter")
	cfg.Now = func() time.Time { return at }
	cl, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Call(context.Background(), "/quotas/release", map[string]string{"requestId": "r1"}, nil); err != nil {
		t.Fatal(err)
	}
	if path != "/llmmeter/quotas/release" {
		t.Fatalf("path %q", path)
	}
	nonce := headerField(got, "n")
	if want := Sign([]byte(testSecret), at, nonce, path, body); got != want {
		t.Fatalf("header %q, want %q", got, want)
	}
	if Sign([]byte(testSecret), at, nonce, "/llmmeter/quotas/reserve", body) == got {
		t.Fatal("the signature does not depend on the path")
	}
}

// testSecret meets signature.MinSecretBytes.
const testSecret = "s3cret-value-of-at-least-32-bytes"

func fast(url string) Config {
	return Config{URL: url, SiteURL: url, Secret: testSecret, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
}

func TestRetryOnlyTransientFailures(t *testing.T) {
	cases := []struct {
		name     string
		statuses []int // answers in order; the last repeats
		wantErr  bool
		wantHits int32
	}{
		{"5xx then success is retried", []int{503, 502, 200}, false, 3},
		{"429 is retried", []int{429, 200}, false, 2},
		{"400 is final", []int{400}, true, 1},
		{"401 is final", []int{401}, true, 1},
		{"5xx forever gives up after the retries", []int{500}, true, 4},
		// 560 is Convex's "the function threw": trying again would throw again.
		{"560 is final", []int{560}, true, 1},
		// 408 is transient under the shared policy.
		{"408 is retried", []int{408, 200}, false, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(hits.Add(1)) - 1
				st := c.statuses[min(n, len(c.statuses)-1)]
				if r.Header.Get(SignatureHeader) == "" {
					st = 401
				}
				w.WriteHeader(st)
				if st == 200 {
					io.WriteString(w, `{"ok":true}`)
				} else {
					io.WriteString(w, `{"error":{"code":"x","message":"nope"}}`)
				}
			}))
			defer srv.Close()
			cl, err := New(fast(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			var out struct{ OK bool }
			err = cl.Call(context.Background(), "/ingest", map[string]int{"a": 1}, &out)
			if (err != nil) != c.wantErr || hits.Load() != c.wantHits {
				t.Fatalf("err %v, hits %d", err, hits.Load())
			}
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Fatal("secret in error")
			}
			var he *HTTPError
			if c.wantErr && !errors.As(err, &he) {
				t.Fatalf("want *HTTPError, got %T", err)
			}
		})
	}
}

func TestFunctionErrorsAreTyped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/api/query") || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(404)
			return
		}
		w.WriteHeader(560)
		io.WriteString(w, `{"status":"error","errorMessage":"Uncaught ConvexError: forbidden","errorData":{"code":"forbidden","message":"admin only"}}`)
	}))
	defer srv.Close()
	cl, _ := New(fast(srv.URL))
	err := cl.Query(context.Background(), "llmmeter:overview", map[string]int{"from": 0, "to": 1}, nil, WithAuth("tok"))
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Code() != "forbidden" || fe.Path != "llmmeter:overview" {
		t.Fatalf("got %#v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("empty config accepted")
	}
	if _, err := New(Config{SiteURL: "https://x.convex.site"}); err == nil {
		t.Fatal("site without secret accepted")
	}
	if _, err := New(Config{URL: "ftp://x"}); err == nil {
		t.Fatal("bad scheme accepted")
	}
}

// TestShortSecretRefused: a Secret under 32 bytes is refused (the
// deployment would refuse to verify with it), naming the minimum and not
// the secret.
func TestShortSecretRefused(t *testing.T) {
	short := strings.Repeat("k", 31)
	_, err := New(Config{SiteURL: "https://x.convex.site", Secret: short})
	if err == nil || !strings.Contains(err.Error(), "at least 32 bytes") || strings.Contains(err.Error(), short) {
		t.Fatalf("31-byte secret: %v", err)
	}
	if _, err := New(Config{SiteURL: "https://x.convex.site", Secret: short + "k"}); err != nil {
		t.Fatalf("32-byte secret: %v", err)
	}
}

func TestRetryAfterAndSleepInjected(t *testing.T) {
	// The shared policy waits a 429's Retry-After through the injected
	// Sleep, and a Retry-After beyond MaxRetryAfter ends the call at once.
	for _, c := range []struct {
		name       string
		retryAfter string
		wantHits   int32
		wantSleeps string
	}{
		{"honoured", "2", 2, "[2s]"},
		{"too long", "60", 1, "[]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if hits.Add(1) == 1 {
					w.Header().Set("Retry-After", c.retryAfter)
					w.WriteHeader(429)
					return
				}
				io.WriteString(w, `{"ok":true}`)
			}))
			defer srv.Close()
			var slept []time.Duration
			cfg := fast(srv.URL)
			cfg.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
			cl, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = cl.Call(context.Background(), "/ingest", map[string]int{"a": 1}, nil)
			if hits.Load() != c.wantHits || fmt.Sprint(slept) != c.wantSleeps || (err == nil) != (c.wantHits == 2) {
				t.Fatalf("hits %d slept %v err %v", hits.Load(), slept, err)
			}
		})
	}
}

func TestFunctionNetworkErrorRetried(t *testing.T) {
	// A connection cut before the answer is retried by the HTTP API calls too.
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		io.WriteString(w, `{"status":"success","value":7}`)
	}))
	defer srv.Close()
	cl, _ := New(fast(srv.URL))
	var v int
	if err := cl.Query(context.Background(), "llmmeter:x", nil, &v); err != nil || v != 7 || hits.Load() != 2 {
		t.Fatalf("v %d err %v hits %d", v, err, hits.Load())
	}
}
