package portal

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct{ accept, want string }{
		// Chromium's header: brotli wins.
		{"gzip, deflate, br, zstd", "br"},
		// Without brotli, gzip.
		{"gzip, deflate", "gzip"},
		// Nothing accepted: the file as it is.
		{"", ""},
		{"identity", ""},
		// q=0 refuses an encoding.
		{"br;q=0, gzip", "gzip"},
		{"br;q=0, gzip;q=0", ""},
		// Names are case-insensitive and spaces are allowed.
		{" GZIP ; q=0.5 ", "gzip"},
		// "*" accepts both unless one is refused.
		{"*", "br"},
		{"*, br;q=0", "gzip"},
		{"*;q=0", ""},
		// A malformed weight is ignored (weight 1).
		{"gzip;q=x", "gzip"},
	} {
		if got := negotiate(tc.accept); got != tc.want {
			t.Errorf("negotiate(%q) = %q, want %q", tc.accept, got, tc.want)
		}
	}
}

// bigScript is compressible text well above minCompressSize.
var bigScript = strings.Repeat("export function chart(){return 'recharts surface';}\n", 2000)

func compressedPortal(t *testing.T) (dir string, srv *httptest.Server, client *http.Client) {
	t.Helper()
	dir = built(t)
	for name, body := range map[string]string{
		"assets/index-big123.js": bigScript,
		"assets/logo-abc.png":    strings.Repeat("\x89PNG", 1000),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv = httptest.NewServer(http.StripPrefix("/admin", Handler(dir)))
	t.Cleanup(srv.Close)
	// No transparent decompression: the test reads the bytes on the wire.
	client = &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(client.CloseIdleConnections)
	return dir, srv, client
}

func fetch(t *testing.T, c *http.Client, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func decode(t *testing.T, enc string, body []byte) string {
	t.Helper()
	var r io.Reader
	switch enc {
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	default:
		return string(body)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", enc, err)
	}
	return string(out)
}

func TestCompressedAssets(t *testing.T) {
	_, srv, c := compressedPortal(t)
	url := srv.URL + "/admin/assets/index-big123.js"
	etags := map[string]bool{}
	for _, tc := range []struct {
		name, accept, enc string
	}{
		// A browser gets brotli.
		{"brotli", "gzip, deflate, br, zstd", "br"},
		// A client without brotli gets gzip.
		{"gzip", "gzip", "gzip"},
		// A client that accepts nothing gets the file as it is.
		{"identity", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := fetch(t, c, "GET", url, map[string]string{"Accept-Encoding": tc.accept})
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Content-Encoding"); got != tc.enc {
				t.Fatalf("Content-Encoding %q, want %q", got, tc.enc)
			}
			if got := res.Header.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary %q", got)
			}
			if got := res.Header.Get("Cache-Control"); got != cacheImmutable {
				t.Errorf("Cache-Control %q", got)
			}
			if got := res.Header.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			if got := res.Header.Get("Content-Length"); got != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %q, body %d bytes", got, len(body))
			}
			if tc.enc != "" && len(body)*5 > len(bigScript) {
				t.Errorf("%s: %d bytes for %d", tc.enc, len(body), len(bigScript))
			}
			if decode(t, tc.enc, body) != bigScript {
				t.Fatal("decoded body differs from the file")
			}
			tag := res.Header.Get("ETag")
			if tag == "" || etags[tag] {
				t.Fatalf("ETag %q missing or shared with another encoding", tag)
			}
			etags[tag] = true

			// A revalidation with this representation's ETag is a 304.
			res, body = fetch(t, c, "GET", url, map[string]string{"Accept-Encoding": tc.accept, "If-None-Match": tag})
			if res.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("If-None-Match: status %d, %d bytes", res.StatusCode, len(body))
			}
			// HEAD: the same headers, no body.
			head, hb := fetch(t, c, "HEAD", url, map[string]string{"Accept-Encoding": tc.accept})
			if head.Header.Get("Content-Encoding") != tc.enc || head.Header.Get("ETag") != tag || len(hb) != 0 {
				t.Errorf("HEAD: %v, %d bytes", head.Header, len(hb))
			}
		})
	}

	// Another encoding's ETag does not validate this one.
	res, _ := fetch(t, c, "GET", url, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": etag(int64(len(bigScript)), time.Time{}, "br")})
	if res.StatusCode != 200 {
		t.Errorf("foreign ETag: status %d", res.StatusCode)
	}
}

func TestNotCompressed(t *testing.T) {
	_, srv, c := compressedPortal(t)
	for _, tc := range []struct{ name, path string }{
		// Below minCompressSize: not worth it, and no Vary.
		{"small script", "/admin/assets/index-abc123.js"},
		// Images are compressed already.
		{"image", "/admin/assets/logo-abc.png"},
		// index.html of the fixture is tiny too.
		{"index", "/admin/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := fetch(t, c, "GET", srv.URL+tc.path, map[string]string{"Accept-Encoding": "br, gzip"})
			if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "" || res.Header.Get("Vary") != "" {
				t.Errorf("status %d, Content-Encoding %q, Vary %q", res.StatusCode, res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
			}
		})
	}
}

// A file rebuilt in place (same name, new content) is compressed again, not
// served from the copy of the old one.
func TestCompressedRebuild(t *testing.T) {
	dir, srv, c := compressedPortal(t)
	url := srv.URL + "/admin/assets/index-big123.js"
	_, body := fetch(t, c, "GET", url, map[string]string{"Accept-Encoding": "gzip"})
	if decode(t, "gzip", body) != bigScript {
		t.Fatal("first body differs")
	}
	next := strings.ToUpper(bigScript) + "//v2\n"
	p := filepath.Join(dir, "assets/index-big123.js")
	if err := os.WriteFile(p, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	_, body = fetch(t, c, "GET", url, map[string]string{"Accept-Encoding": "gzip"})
	if decode(t, "gzip", body) != next {
		t.Fatal("served the old file's compressed copy")
	}
}

// Concurrent first requests share one compression and all get the file.
func TestCompressedConcurrent(t *testing.T) {
	_, srv, c := compressedPortal(t)
	url := srv.URL + "/admin/assets/index-big123.js"
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			enc := []string{"br", "gzip"}[i%2]
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Accept-Encoding", enc)
			res, err := c.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.Header.Get("Content-Encoding") != enc || decode(t, enc, body) != bigScript {
				errs <- "wrong body for " + enc
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// Past its byte bound the cache starts over with the newest copy.
func TestCompressCacheBound(t *testing.T) {
	c := compressCache{limit: 256}
	for i := 0; i < 20; i++ {
		src := []byte(strings.Repeat(strconv.Itoa(i*7919), 400)) // ~1.6 KB, compresses to far less
		src = append(src, bytes.Repeat([]byte{byte(i)}, 10)...)
		body, err := c.get(cacheKey{name: "f" + strconv.Itoa(i), enc: "gzip"}, bytes.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		if decode(t, "gzip", body) != string(src) {
			t.Fatal("wrong body")
		}
		if c.bytes > c.limit || len(c.entries) == 0 {
			t.Fatalf("after %d files: %d bytes in %d entries, bound %d", i+1, c.bytes, len(c.entries), c.limit)
		}
	}
	if len(c.entries) >= 20 {
		t.Fatalf("%d entries kept: the bound never applied", len(c.entries))
	}
	// A failed read is not cached: the next request tries again.
	if _, err := c.get(cacheKey{name: "bad", enc: "gzip"}, iotestErr{}); err == nil {
		t.Fatal("no error from a failing reader")
	}
	if body, err := c.get(cacheKey{name: "bad", enc: "gzip"}, strings.NewReader("ok")); err != nil || decode(t, "gzip", body) != "ok" {
		t.Fatalf("retry after a failed read: %v", err)
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestShouldCompress(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
		want bool
	}{
		{"a.js", minCompressSize - 1, false}, // too small to gain
		{"a.js", minCompressSize, true},
		{"a.CSS", maxCompressSize, true},     // extension case does not matter
		{"a.js", maxCompressSize + 1, false}, // too big to hold in memory
		{"a.png", 1 << 20, false},            // compressed already
		{"LICENSE", 1 << 20, false},          // unknown type
	} {
		if got := shouldCompress(tc.name, tc.size); got != tc.want {
			t.Errorf("shouldCompress(%q, %d) = %v", tc.name, tc.size, got)
		}
	}
}

// Copies that fit the bound exactly are all kept.
func TestCompressCacheKeepsUpToTheBound(t *testing.T) {
	a, _ := compress(encGzip, strings.NewReader("first file"))
	b, _ := compress(encGzip, strings.NewReader("second file"))
	c := compressCache{limit: len(a) + len(b)}
	for i, s := range []string{"first file", "second file"} {
		if _, err := c.get(cacheKey{name: strconv.Itoa(i), enc: encGzip}, strings.NewReader(s)); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.entries) != 2 || c.bytes != c.limit {
		t.Fatalf("%d entries, %d bytes; want 2 entries, %d bytes", len(c.entries), c.bytes, c.limit)
	}
	// One more byte than the bound starts over with the newest copy.
	if _, err := c.get(cacheKey{name: "3", enc: encGzip}, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if len(c.entries) != 1 {
		t.Fatalf("%d entries after passing the bound", len(c.entries))
	}
}
