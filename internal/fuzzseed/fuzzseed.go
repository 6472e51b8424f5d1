// Package fuzzseed reads the golden files a fuzz target starts its corpus
// from.
package fuzzseed

import (
	"os"
	"path/filepath"
	"testing"
)

// Files returns the contents of every file matching pattern, in name
// order; a file that cannot be read fails tb.
func Files(tb testing.TB, pattern string) [][]byte {
	tb.Helper()
	names, err := filepath.Glob(pattern)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([][]byte, 0, len(names))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}
