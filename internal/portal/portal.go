// Package portal serves the built admin portal (portal/dist) from a
// directory on disk, as a single-page application.
//
// Handler serves the files as they are at request time, so `make portal`
// can rebuild them while the service runs. Paths that name no file and do
// not look like a static asset fall back to index.html, so the portal's own
// routes (/admin/users/u_…) survive a reload. Vite's content-hashed files
// under assets/ are cached for a year; everything else, index.html above
// all, must be revalidated, so a new build is seen on the next load.
//
// Text files (scripts, styles, source maps) of 1 KiB or more are sent with
// brotli or gzip when the request's Accept-Encoding allows, compressed once
// per file version and kept in memory (bounded); every response of such a
// file says Vary: Accept-Encoding, and each encoding has its own strong
// ETag, so caches never hand one client another's encoding.
//
// It does not authenticate: the portal's pages are public code, the data
// behind them is guarded by the admin API (/api/query, /api/mutation).
// Mount it under a prefix with http.StripPrefix.
package portal

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// NotBuiltMessage is the body served while the portal has not been built.
const NotBuiltMessage = "portal not built or not found: run make portal, or set PORTAL_DIR to the built portal (portal/dist)\n"

const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
	// contentSecurityPolicy allows only same-origin code and data: in
	// embedded mode the portal talks to nothing but this service. Inline
	// style attributes are allowed because the chart library sets them.
	contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; " +
		"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

// Handler serves the portal's files from dir with SPA fallback to
// dir/index.html. While dir/index.html is missing it answers every request
// with 503 and NotBuiltMessage as plain text. Only GET and HEAD are allowed.
func Handler(dir string) http.Handler {
	return &handler{dir: dir}
}

type handler struct {
	dir   string
	cache compressCache
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	root, err := os.OpenRoot(h.dir)
	if err != nil {
		notBuilt(w)
		return
	}
	defer root.Close()

	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name != "" && name != "index.html" {
		if f, st, ok := openFile(root, name); ok {
			defer f.Close()
			if strings.HasPrefix(name, "assets/") {
				hdr.Set("Cache-Control", cacheImmutable)
			} else {
				hdr.Set("Cache-Control", cacheRevalidate)
			}
			h.serveFile(w, r, f, st)
			return
		}
		if looksLikeAsset(name) {
			hdr.Set("Cache-Control", cacheRevalidate)
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
	}
	f, st, ok := openFile(root, "index.html")
	if !ok {
		notBuilt(w)
		return
	}
	defer f.Close()
	hdr.Set("Cache-Control", cacheRevalidate)
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	h.serveFile(w, r, f, st)
}

// serveFile answers with f, compressed when it is worth it and the client
// accepts it. http.ServeContent handles HEAD, ranges and conditional
// requests, and sets Content-Length from the bytes actually sent.
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, f *os.File, st fs.FileInfo) {
	hdr := w.Header()
	enc := encIdentity
	if shouldCompress(st.Name(), st.Size()) {
		hdr.Add("Vary", "Accept-Encoding")
		enc = negotiate(r.Header.Get("Accept-Encoding"))
	}
	if enc != encIdentity {
		body, err := h.cache.get(cacheKey{name: f.Name(), size: st.Size(), mod: st.ModTime(), enc: enc}, f)
		if err == nil {
			hdr.Set("Content-Encoding", enc)
			hdr.Set("ETag", etag(st.Size(), st.ModTime(), enc))
			http.ServeContent(w, r, st.Name(), st.ModTime(), bytes.NewReader(body))
			return
		}
		// The file could not be read through: send it as it is.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			http.Error(w, "read error", http.StatusInternalServerError)
			return
		}
	}
	hdr.Set("ETag", etag(st.Size(), st.ModTime(), encIdentity))
	http.ServeContent(w, r, st.Name(), st.ModTime(), f)
}

// openFile opens a regular file inside root; os.Root refuses paths and
// symlinks that leave the directory.
func openFile(root *os.Root, name string) (*os.File, fs.FileInfo, bool) {
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, false
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, false
	}
	return f, st, true
}

// looksLikeAsset reports whether a missing path names a file (it has an
// extension or lies under assets/) rather than a portal route: such a path
// gets a 404 instead of index.html, so a stale script URL fails loudly.
func looksLikeAsset(name string) bool {
	return strings.HasPrefix(name, "assets/") || path.Ext(name) != ""
}

func notBuilt(w http.ResponseWriter) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(NotBuiltMessage))
}

// ErrNotBuilt is what Built reports for a directory without index.html.
var ErrNotBuilt = errors.New("portal not built or not found (no index.html): run make portal, or set PORTAL_DIR")

// Built reports whether dir holds a built portal (dir/index.html exists),
// so the service can log a hint at start-up; the handler works either way.
func Built(dir string) error {
	st, err := os.Stat(filepath.Join(dir, "index.html"))
	if err != nil || !st.Mode().IsRegular() {
		return ErrNotBuilt
	}
	return nil
}

// Resolve finds the built portal named by dir (PORTAL_DIR). An absolute dir
// is taken as it is. A relative one is looked for under each base in turn
// (the service passes its working directory, then the executable's directory
// and that one's parent), and the first that holds index.html wins, so a
// binary started outside the checkout still finds portal/dist. When none
// does, Resolve returns dir under the first base (or dir itself) and
// ErrNotBuilt.
func Resolve(dir string, bases ...string) (string, error) {
	if filepath.IsAbs(dir) || len(bases) == 0 {
		return dir, Built(dir)
	}
	for _, b := range bases {
		if p := filepath.Join(b, dir); Built(p) == nil {
			return p, nil
		}
	}
	return filepath.Join(bases[0], dir), ErrNotBuilt
}
