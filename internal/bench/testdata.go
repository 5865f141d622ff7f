package bench

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// CacheDir is where generated stores are kept between runs: $BENCH_DATA_DIR,
// or .benchdata at the module root (gitignored).
func CacheDir() string {
	if d := os.Getenv("BENCH_DATA_DIR"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", ".benchdata")
}

// RowsFromEnv is $name as a row count, or def.
func RowsFromEnv(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
