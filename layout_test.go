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
	out, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("listing the tracked files: %v", err)
		}
		t.Skipf("listing the tracked files needs git and a checkout: %v", err)
	}
	folders := make(map[string]bool)
	for _, file := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		dir := path.Dir(file)
		elements := strings.Split(dir, "/")
		if dir == "." || slices.Contains(elements, "testdata") || slices.Contains(elements, "node_modules") {
			continue
		}
		folders[dir] = true
	}

	listed := layoutTable(t)
	for dir := range folders {
		if !listed[dir] {
			t.Errorf("CONTRIBUTING.md's layout table has no line for %s/", dir)
		}
	}
	for dir := range listed {
		if !folders[dir] {
			t.Errorf("CONTRIBUTING.md's layout table names %s/, which holds no tracked file", dir)
		}
	}
}

// layoutTable returns the folders the rows between CONTRIBUTING.md's
// layout markers name.
func layoutTable(t *testing.T) map[string]bool {
	t.Helper()
	contributing, err := os.ReadFile("CONTRIBUTING.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(contributing), "<!-- layout:start -->")
	table, _, ok2 := strings.Cut(rest, "<!-- layout:end -->")
	if !ok || !ok2 {
		t.Fatal("CONTRIBUTING.md has no layout markers")
	}
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
