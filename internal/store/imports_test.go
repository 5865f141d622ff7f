package store

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnginesDoNotImportJobs pins issue 14's boundary: the engines speak
// package store's types, and package jobs defines the interface it needs
// of them, so neither engine may depend on jobs, directly or through
// another package of the module. It reads the import lists of the
// non-test files (build.ImportDir, as `go list -deps` does without -test)
// and needs no toolchain.
func TestEnginesDoNotImportJobs(t *testing.T) {
	const module, forbidden = "llmmeter", "llmmeter/jobs"
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range []string{"llmmeter/internal/store/sqlitestore", "llmmeter/internal/store/convexstore"} {
		// via records who imported each package first, to name the path.
		via := map[string]string{engine: ""}
		queue := []string{engine}
		for len(queue) > 0 {
			pkg := queue[0]
			queue = queue[1:]
			dir := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(pkg, module+"/")))
			p, err := build.ImportDir(dir, 0)
			if err != nil {
				t.Fatalf("%s: %v", pkg, err)
			}
			for _, imp := range p.Imports {
				if imp != module && !strings.HasPrefix(imp, module+"/") {
					continue
				}
				if _, seen := via[imp]; seen {
					continue
				}
				via[imp] = pkg
				if imp == forbidden {
					chain := imp
					for at := pkg; at != ""; at = via[at] {
						chain = at + " -> " + chain
					}
					t.Errorf("%s depends on %s: %s", engine, forbidden, chain)
					continue
				}
				queue = append(queue, imp)
			}
		}
		if len(via) < 3 {
			t.Fatalf("%s: found only %d module packages; the walk is not reading imports", engine, len(via))
		}
	}
}
