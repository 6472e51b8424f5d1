package providertest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update rewrites the golden files from what the code produces:
// go test ./providers/... -update, then review the diff.
var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// Golden compares got with the golden file at path, or writes got there
// under -update. A .json file compares as canonical JSON and is written
// indented; a .jsonl file compares line by line as canonical JSON; any
// other file compares byte for byte.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if strings.HasSuffix(path, ".json") {
			got = Pretty(t, got)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	switch filepath.Ext(path) {
	case ".json":
		if g, w := Canonical(t, got), Canonical(t, want); g != w {
			t.Errorf("%s differs:\n got: %s\nwant: %s", path, g, w)
		}
	case ".jsonl":
		gotLines, wantLines := Lines(got), Lines(want)
		if len(gotLines) != len(wantLines) {
			t.Errorf("%s: got %d lines, want %d:\n%s", path, len(gotLines), len(wantLines), got)
		}
		for i := range min(len(gotLines), len(wantLines)) {
			if g, w := Canonical(t, gotLines[i]), Canonical(t, wantLines[i]); g != w {
				t.Errorf("%s line %d:\n got: %s\nwant: %s", path, i+1, g, w)
			}
		}
	default:
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
		}
	}
}

// ReadFile returns the contents of the file at path, and fails t when it
// cannot be read.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Lines returns the lines of b that are not blank.
func Lines(b []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}
