package portal

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
)

// Encodings the handler can serve, in order of preference.
const (
	encBrotli   = "br"
	encGzip     = "gzip"
	encIdentity = ""
)

const (
	// minCompressSize: smaller files gain less than the header costs.
	minCompressSize = 1 << 10
	// maxCompressSize: bigger files are served as they are, so that one
	// request cannot make the service hold a huge file in memory.
	maxCompressSize = 16 << 20
	// maxCacheBytes bounds the compressed copies kept; past it the cache
	// starts over (a rebuild leaves the old hashed files' copies behind).
	maxCacheBytes = 64 << 20
	// Brotli quality 9 compresses the portal's largest chunk in well under
	// a second; 11 gains a few percent for several times the CPU.
	brotliQuality = 9
)

// compressible lists the types worth compressing: text, not images or fonts
// that are compressed already.
var compressible = map[string]bool{
	".js": true, ".mjs": true, ".css": true, ".html": true, ".svg": true,
	".json": true, ".map": true, ".txt": true, ".webmanifest": true,
}

// negotiate picks the encoding for a request's Accept-Encoding: brotli,
// then gzip, each unless refused with q=0; identity when neither is
// accepted. A "*" accepts both.
func negotiate(acceptEncoding string) string {
	q := map[string]float64{}
	for _, part := range strings.Split(acceptEncoding, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		weight := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					weight = f
				}
			}
		}
		q[name] = weight
	}
	accepts := func(enc string) bool {
		if w, ok := q[enc]; ok {
			return w > 0
		}
		w, ok := q["*"]
		return ok && w > 0
	}
	for _, enc := range []string{encBrotli, encGzip} {
		if accepts(enc) {
			return enc
		}
	}
	return encIdentity
}

// shouldCompress reports whether a file of this name and size is served
// compressed when the client accepts it.
func shouldCompress(name string, size int64) bool {
	return compressible[strings.ToLower(path.Ext(name))] && size >= minCompressSize && size <= maxCompressSize
}

// etag is a strong validator of one representation of a file: its size and
// modification time (the build writes new files) and the encoding.
func etag(size int64, mod time.Time, enc string) string {
	tag := strconv.FormatInt(size, 36) + "-" + strconv.FormatInt(mod.UnixNano(), 36)
	if enc != encIdentity {
		tag += "-" + enc
	}
	return `"` + tag + `"`
}

type cacheKey struct {
	name string
	size int64
	mod  time.Time
	enc  string
}

// cacheEntry is filled once; concurrent requests for the same file wait
// for the first one's compression instead of repeating it.
type cacheEntry struct {
	once sync.Once
	body []byte
	err  error
}

// compressCache holds compressed copies of files, keyed by name, size,
// modification time and encoding, so a rebuilt file is compressed again.
type compressCache struct {
	limit   int // bytes kept at most; 0 means maxCacheBytes
	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
	bytes   int
}

// get returns the file compressed with enc, compressing it (by reading
// src) only the first time.
func (c *compressCache) get(k cacheKey, src io.Reader) ([]byte, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[cacheKey]*cacheEntry{}
	}
	e, ok := c.entries[k]
	if !ok {
		e = &cacheEntry{}
		c.entries[k] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		e.body, e.err = compress(k.enc, src)
		c.mu.Lock()
		defer c.mu.Unlock()
		if e.err != nil {
			delete(c.entries, k) // a later request tries again
			return
		}
		limit := c.limit
		if limit == 0 {
			limit = maxCacheBytes
		}
		if c.bytes+len(e.body) > limit {
			c.entries = map[cacheKey]*cacheEntry{k: e}
			c.bytes = 0
		}
		c.bytes += len(e.body)
	})
	return e.body, e.err
}

func compress(enc string, src io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case encBrotli:
		w = brotli.NewWriterLevel(&buf, brotliQuality)
	case encGzip:
		w, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
	default:
		return nil, fmt.Errorf("portal: unknown encoding %q", enc)
	}
	if _, err := io.Copy(w, src); err != nil {
		return nil, fmt.Errorf("portal: compress %s: %w", enc, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("portal: compress %s: %w", enc, err)
	}
	return buf.Bytes(), nil
}
