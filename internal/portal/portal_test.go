package portal

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// built lays out a small portal build in a temporary directory.
func built(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"index.html":              `<!doctype html><div id="root"></div><script src="/admin/assets/index-abc123.js"></script>`,
		"assets/index-abc123.js":  `console.log("portal")`,
		"assets/index-abc123.css": `body{}`,
		"favicon.svg":             `<svg xmlns="http://www.w3.org/2000/svg"/>`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func get(t *testing.T, h http.Handler, method, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func TestHandler(t *testing.T) {
	dir := built(t)
	// Mounted the way the gateway mounts it.
	h := http.StripPrefix("/admin", Handler(dir))
	for _, tc := range []struct {
		name, method, path string
		status             int
		bodyHas, cache     string
		contentType        string
	}{
		// The root serves index.html, never cached without revalidation.
		{"root", "GET", "/admin/", 200, `<div id="root">`, "no-cache", "text/html; charset=utf-8"},
		// index.html by name is the same page.
		{"index by name", "GET", "/admin/index.html", 200, `<div id="root">`, "no-cache", "text/html; charset=utf-8"},
		// A portal route falls back to index.html (SPA).
		{"spa route", "GET", "/admin/users/u_0123", 200, `<div id="root">`, "no-cache", "text/html; charset=utf-8"},
		// Hashed assets are immutable.
		{"hashed asset", "GET", "/admin/assets/index-abc123.js", 200, `console.log`, "public, max-age=31536000, immutable", "text/javascript; charset=utf-8"},
		{"hashed css", "GET", "/admin/assets/index-abc123.css", 200, `body{}`, "public, max-age=31536000, immutable", "text/css; charset=utf-8"},
		// Other files are revalidated.
		{"top-level file", "GET", "/admin/favicon.svg", 200, `<svg`, "no-cache", "image/svg+xml"},
		// A missing asset is a 404, not index.html.
		{"missing asset", "GET", "/admin/assets/index-old.js", 404, "not found", "no-cache", "text/plain; charset=utf-8"},
		{"missing file with extension", "GET", "/admin/robots.txt", 404, "not found", "no-cache", "text/plain; charset=utf-8"},
		// Traversal stays inside the directory: cleaned to a route.
		{"traversal", "GET", "/admin/../../etc/passwd", 200, `<div id="root">`, "no-cache", "text/html; charset=utf-8"},
		{"encoded traversal", "GET", "/admin/..%2f..%2fportal.go", 404, "not found", "no-cache", "text/plain; charset=utf-8"},
		// A directory is not listed: it is a route.
		{"directory", "GET", "/admin/assets", 200, `<div id="root">`, "no-cache", "text/html; charset=utf-8"},
		// HEAD works like GET without a body.
		{"head", "HEAD", "/admin/", 200, "", "no-cache", "text/html; charset=utf-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(t, h, tc.method, tc.path)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (body %q)", res.StatusCode, tc.status, body)
			}
			if !strings.Contains(body, tc.bodyHas) {
				t.Errorf("body %q does not contain %q", body, tc.bodyHas)
			}
			if got := res.Header.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if got := res.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("missing X-Content-Type-Options: nosniff")
			}
		})
	}
}

func TestIndexHasSecurityHeaders(t *testing.T) {
	res, _ := get(t, Handler(built(t)), "GET", "/")
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if res.Header.Get("X-Frame-Options") != "DENY" {
		t.Error("missing X-Frame-Options")
	}
}

func TestConditionalGet(t *testing.T) {
	h := Handler(built(t))
	res, _ := get(t, h, "GET", "/assets/index-abc123.js")
	lm := res.Header.Get("Last-Modified")
	if lm == "" {
		t.Fatal("no Last-Modified")
	}
	req := httptest.NewRequest("GET", "/assets/index-abc123.js", nil)
	req.Header.Set("If-Modified-Since", lm)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("status %d, want 304", rec.Code)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	res, _ := get(t, Handler(built(t)), "POST", "/")
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("status %d Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
}

func TestNotBuilt(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
	}{
		// The directory does not exist at all.
		{"missing dir", func(t *testing.T) string { return filepath.Join(t.TempDir(), "dist") }},
		// The directory exists but holds no index.html (a build in progress).
		{"empty dir", func(t *testing.T) string { return t.TempDir() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			for _, p := range []string{"/", "/users", "/assets/x.js"} {
				res, body := get(t, Handler(dir), "GET", p)
				if p == "/assets/x.js" && res.StatusCode == 404 {
					continue // an asset may 404 in an empty dir; routes must not
				}
				if res.StatusCode != http.StatusServiceUnavailable || body != NotBuiltMessage {
					t.Errorf("%s: status %d body %q", p, res.StatusCode, body)
				}
				if ct := res.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
					t.Errorf("%s: Content-Type %q", p, ct)
				}
			}
			if err := Built(dir); err == nil {
				t.Error("Built: want an error")
			}
		})
	}
}

func TestBuildAppearsWithoutRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dist")
	h := Handler(dir)
	if res, _ := get(t, h, "GET", "/"); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("before build: status %d", res.StatusCode)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>hi</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res, body := get(t, h, "GET", "/"); res.StatusCode != 200 || body != "<p>hi</p>" {
		t.Fatalf("after build: status %d body %q", res.StatusCode, body)
	}
	if err := Built(dir); err != nil {
		t.Errorf("Built: %v", err)
	}
}

func TestSymlinkOutsideIsRefused(t *testing.T) {
	dir := built(t)
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "leak.txt")); err != nil {
		t.Skip("symlinks unsupported:", err)
	}
	res, body := get(t, Handler(dir), "GET", "/leak.txt")
	if res.StatusCode != http.StatusNotFound || strings.Contains(body, "secret") {
		t.Errorf("status %d body %q", res.StatusCode, body)
	}
}

// TestFaviconOnDeepLinks: portal/index.html named its icon "./favicon.svg",
// which Vite leaves relative, so on a deep link such as /admin/users/u_1 the
// browser asked for /admin/users/favicon.svg and got 404. The icon is now
// root-absolute ("/favicon.svg"), which Vite prefixes with its base
// (/admin/): the same URL from every page.
func TestFaviconOnDeepLinks(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "portal", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<link[^>]*rel="icon"[^>]*href="([^"]+)"`).FindSubmatch(src)
	if m == nil {
		t.Fatal("portal/index.html has no icon link")
	}
	href := string(m[1])
	if strings.HasPrefix(href, "/") {
		href = "/admin" + href // what `vite build` does with base "/admin/" (portal/vite.config.ts)
	}
	h := http.StripPrefix("/admin", Handler(built(t)))
	for _, page := range []string{"/admin/", "/admin/users/u_0123", "/admin/users/u_0123/keys"} {
		base, _ := url.Parse("http://portal.test" + page)
		icon := base.ResolveReference(&url.URL{Path: href}).Path
		if res, _ := get(t, h, "GET", icon); res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" {
			t.Errorf("on %s the icon %s answers %d %s", page, icon, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
}

// TestResolve: a relative PORTAL_DIR is found under the first base that
// holds a build (the service passes its working directory, then beside the
// executable), so a binary started outside the checkout still serves /admin.
func TestResolve(t *testing.T) {
	checkout := t.TempDir()
	dist := filepath.Join(checkout, "portal", "dist")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "index.html"), []byte("<!doctype html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	for _, c := range []struct {
		name, dir string
		bases     []string
		want      string
		err       bool
	}{
		// Started in the checkout: found under the working directory.
		{"in the checkout", "portal/dist", []string{checkout}, dist, false},
		// Started elsewhere: found beside the executable (the second base).
		{"started elsewhere", "portal/dist", []string{elsewhere, checkout}, dist, false},
		// Nowhere: the working directory's path, and ErrNotBuilt.
		{"not built", "portal/dist", []string{elsewhere}, filepath.Join(elsewhere, "portal", "dist"), true},
		// An absolute directory is taken as it is.
		{"absolute", dist, []string{elsewhere}, dist, false},
	} {
		got, err := Resolve(c.dir, c.bases...)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("%s: %q, %v; want %q, error %v", c.name, got, err, c.want, c.err)
		}
	}
}
