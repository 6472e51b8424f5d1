package providertest

import (
	"path/filepath"
	"testing"
)

// Seeds returns the contents of every file matching pattern, in name
// order, for a fuzz target to start its corpus from; a file that cannot
// be read fails tb.
func Seeds(tb testing.TB, pattern string) [][]byte {
	tb.Helper()
	names, err := filepath.Glob(pattern)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([][]byte, 0, len(names))
	for _, name := range names {
		out = append(out, ReadFile(tb, name))
	}
	return out
}
