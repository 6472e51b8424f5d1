package llmgateway

import (
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// layoutRow is a line of CONTRIBUTING.md's layout table: the folder, in
// backticks with a trailing slash, in the first cell.
var layoutRow = regexp.MustCompile("^\\| `([^`]+)/` \\|")

// TestLayoutTableListsEveryFolder keeps CONTRIBUTING.md's repository layout
// in step with the tree: every folder that holds tracked files (testdata
// and node_modules left out) has a line, and every line names such a
// folder.
func TestLayoutTableListsEveryFolder(t *testing.T) {
	folders := make(map[string]bool)
	for _, file := range trackedFiles(t) {
		dir := path.Dir(file)
		elements := strings.Split(dir, "/")
		if dir == "." || slices.Contains(elements, "testdata") || slices.Contains(elements, "node_modules") {
			continue
		}
		folders[dir] = true
	}

	compareDocumented(t, folders, layoutTable(t),
		"CONTRIBUTING.md's layout table has no line for %s/",
		"CONTRIBUTING.md's layout table names %s/, which holds no tracked file")
}

// TestLayoutNamesEveryRootFile keeps the list of the root package's files
// above the layout table in step with them: each of its source files is
// named there, and each file named there exists.
func TestLayoutNamesEveryRootFile(t *testing.T) {
	sources := make(map[string]bool)
	for _, file := range trackedFiles(t) {
		if !strings.Contains(file, "/") && strings.HasSuffix(file, ".go") && !strings.HasSuffix(file, "_test.go") {
			sources[file] = true
		}
	}
	named := make(map[string]bool)
	for _, m := range rootFileName.FindAllStringSubmatch(layoutSection(t), -1) {
		named[m[1]] = true
	}
	compareDocumented(t, sources, named,
		"CONTRIBUTING.md's repository layout does not name %s",
		"CONTRIBUTING.md's repository layout names %s, which is not a source file of the root package")
}

// compareDocumented reports each name in tree that documented lacks
// (missing, a format of the name) and each in documented that tree lacks
// (stale).
func compareDocumented(t *testing.T, tree, documented map[string]bool, missing, stale string) {
	t.Helper()
	for name := range tree {
		if !documented[name] {
			t.Errorf(missing, name)
		}
	}
	for name := range documented {
		if !tree[name] {
			t.Errorf(stale, name)
		}
	}
}

// rootFileName is a Go file named in backticks without a folder.
var rootFileName = regexp.MustCompile("`([a-z_]+\\.go)`")

// trackedFiles lists the files git tracks, or skips the test without git.
func trackedFiles(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("listing the tracked files: %v", err)
		}
		t.Skipf("listing the tracked files needs git and a checkout: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// contributingBetween returns the text of CONTRIBUTING.md between two
// marks, each the first of its kind.
func contributingBetween(t *testing.T, from, to string) string {
	t.Helper()
	contributing, err := os.ReadFile("CONTRIBUTING.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(contributing), from)
	between, _, ok2 := strings.Cut(rest, to)
	if !ok || !ok2 {
		t.Fatalf("CONTRIBUTING.md has no %q followed by %q", from, to)
	}
	return between
}

// layoutSection returns the text of CONTRIBUTING.md's repository layout
// section up to its table.
func layoutSection(t *testing.T) string {
	t.Helper()
	return contributingBetween(t, "## Repository layout", "<!-- layout:start -->")
}

// layoutTable returns the folders the rows between CONTRIBUTING.md's
// layout markers name.
func layoutTable(t *testing.T) map[string]bool {
	t.Helper()
	table := contributingBetween(t, "<!-- layout:start -->", "<!-- layout:end -->")
	rows := strings.Split(strings.TrimSpace(table), "\n")
	if len(rows) < 3 {
		t.Fatal("CONTRIBUTING.md's layout table has no rows")
	}
	listed := make(map[string]bool)
	for _, line := range rows[2:] { // after the header and its separator
		m := layoutRow.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("the layout row %q does not start with a folder in backticks, ending in /", line)
			continue
		}
		if listed[m[1]] {
			t.Errorf("the layout table lists %s/ twice", m[1])
		}
		listed[m[1]] = true
	}
	return listed
}
