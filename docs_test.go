package llmgateway

import (
	"bufio"
	"encoding/json"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// caddyfileReferencePage holds the Caddyfile reference block, between the
// caddyfile-reference markers.
const caddyfileReferencePage = "docs/caddyfile.md"

// TestCaddyfileReferenceMatchesParser keeps the documented Caddyfile
// reference in step with the parser: the block must adapt, and it must
// show every subdirective of the parser's tables.
func TestCaddyfileReferenceMatchesParser(t *testing.T) {
	page, err := os.ReadFile(caddyfileReferencePage)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(page), "<!-- caddyfile-reference:start -->")
	block, _, ok2 := strings.Cut(rest, "<!-- caddyfile-reference:end -->")
	if !ok || !ok2 {
		t.Fatalf("%s has no caddyfile-reference markers", caddyfileReferencePage)
	}
	block = strings.TrimSpace(block)
	block = strings.TrimPrefix(block, "```caddyfile")
	block = strings.TrimSuffix(block, "```")

	if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(block), nil); err != nil {
		t.Fatalf("the reference in %s does not adapt: %v", caddyfileReferencePage, err)
	}

	documented := make(map[string]bool)
	for _, line := range strings.Split(block, "\n") {
		line, _, _ = strings.Cut(line, "#")
		if fields := strings.Fields(line); len(fields) > 0 {
			documented[fields[0]] = true
		}
	}
	want := []string{"key"} // the auth keys block
	tables := []providers.Options{new(Gateway).caddyfileOptions(), new(providers.Base).BaseOptions(),
		new(KeyConfig).caddyfileOptions(), new(JWTConfig).caddyfileOptions(), new(ModelRoute).caddyfileOptions(),
		new(ResponseStoreConfig).caddyfileOptions(), new(CacheConfig).caddyfileOptions()}
	for _, info := range caddy.GetModules(providers.Namespace) {
		if doc, ok := info.New().(providers.OptionsDocumenter); ok {
			tables = append(tables, doc.CaddyfileOptions())
		}
	}
	for _, table := range tables {
		for name := range table {
			want = append(want, name)
		}
	}
	for _, name := range want {
		if !documented[name] {
			t.Errorf("the reference in %s does not show %q", caddyfileReferencePage, name)
		}
	}
}

// TestBuildManifestMatchesCustomBuild keeps xcaddy.json, go.mod and
// cmd/caddy in step: they must describe the same build.
func TestBuildManifestMatchesCustomBuild(t *testing.T) {
	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	modulePath := regexp.MustCompile(`(?m)^module (\S+)`).FindSubmatch(gomod)
	caddyVersion := regexp.MustCompile(`github\.com/caddyserver/caddy/v2 (v\S+)`).FindSubmatch(gomod)
	if modulePath == nil || caddyVersion == nil {
		t.Fatal("go.mod lacks the module path or the Caddy requirement")
	}

	raw, err := os.ReadFile("xcaddy.json")
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		CaddyVersion string `json:"caddy_version"`
		Dependencies []struct {
			Module  string `json:"module"`
			Version string `json:"version"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatalf("xcaddy.json: %v", err)
	}
	if manifest.CaddyVersion != string(caddyVersion[1]) {
		t.Errorf("xcaddy.json builds Caddy %s, go.mod requires %s", manifest.CaddyVersion, caddyVersion[1])
	}
	if len(manifest.Dependencies) != 1 || manifest.Dependencies[0].Module != string(modulePath[1]) {
		t.Errorf("xcaddy.json dependencies = %+v, want only %s", manifest.Dependencies, modulePath[1])
	}

	f, err := parser.ParseFile(token.NewFileSet(), "cmd/caddy/main.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	imports := make(map[string]bool)
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		imports[path] = true
	}
	for _, want := range []string{string(modulePath[1]), "github.com/caddyserver/caddy/v2/cmd", "github.com/caddyserver/caddy/v2/modules/standard"} {
		if !imports[want] {
			t.Errorf("cmd/caddy/main.go does not import %s, as xcaddy's generated main does", want)
		}
	}
}

// linkedPages are the Markdown files whose relative links must resolve;
// every page under docs/ is added to them.
var linkedPages = []string{"README.md", "CONTRIBUTING.md", "examples/README.md", "bench/README.md"}

var (
	markdownLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	markdownHeading = regexp.MustCompile(`^#{1,6} (.+)$`)
	urlScheme       = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// TestDocsLinksResolve keeps the documentation's relative links working:
// each must reach an existing file or folder, and a #anchor a heading of
// the Markdown page it points into.
func TestDocsLinksResolve(t *testing.T) {
	pages := append([]string(nil), linkedPages...)
	err := filepath.WalkDir("docs", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			pages = append(pages, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	anchors := make(map[string]map[string]bool)
	for _, page := range pages {
		forEachProseLine(t, page, func(n int, line string) {
			for _, m := range markdownLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if urlScheme.MatchString(target) {
					continue
				}
				path, anchor, _ := strings.Cut(target, "#")
				resolved := page
				if path != "" {
					resolved = filepath.Join(filepath.Dir(page), path)
				}
				if _, err := os.Stat(resolved); err != nil {
					t.Errorf("%s:%d: the link %s reaches no file", page, n, target)
					continue
				}
				if anchor == "" {
					continue
				}
				if !strings.HasSuffix(resolved, ".md") {
					t.Errorf("%s:%d: the link %s has an anchor into a file that is not Markdown", page, n, target)
					continue
				}
				if anchors[resolved] == nil {
					anchors[resolved] = headingAnchors(t, resolved)
				}
				if !anchors[resolved][anchor] {
					t.Errorf("%s:%d: the link %s names no heading of %s", page, n, target, resolved)
				}
			}
		})
	}
}

// forEachProseLine calls fn with each line of a Markdown file that is not
// inside a fenced code block, and its line number.
func forEachProseLine(t *testing.T, name string, fn func(n int, line string)) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inFence := false
	lines := bufio.NewScanner(f)
	for n := 1; lines.Scan(); n++ {
		line := lines.Text()
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if !inFence {
			fn(n, line)
		}
	}
	if err := lines.Err(); err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
}

// headingAnchors returns the anchors GitHub gives a page's headings: the
// heading lowercased, without punctuation, spaces turned into hyphens, and
// "-1", "-2", ... after a repeated one.
func headingAnchors(t *testing.T, page string) map[string]bool {
	anchors := make(map[string]bool)
	seen := make(map[string]int)
	forEachProseLine(t, page, func(_ int, line string) {
		m := markdownHeading.FindStringSubmatch(line)
		if m == nil {
			return
		}
		var anchor strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(m[1])) {
			switch {
			case r == ' ':
				anchor.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				anchor.WriteRune(r)
			}
		}
		name := anchor.String()
		if n := seen[name]; n > 0 {
			anchors[name+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[name] = true
		}
		seen[name]++
	})
	return anchors
}

// readmeMaxLines keeps README.md a front page; the guide lives in docs/.
const readmeMaxLines = 300

// TestReadmeIsAFrontPage keeps README.md short and one click away from
// every page of the documentation.
func TestReadmeIsAFrontPage(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(readme), "\n"); n > readmeMaxLines {
		t.Errorf("README.md has %d lines, more than %d: move the detail into docs/", n, readmeMaxLines)
	}
	linked := make(map[string]bool)
	forEachProseLine(t, "README.md", func(_ int, line string) {
		for _, m := range markdownLink.FindAllStringSubmatch(line, -1) {
			path, _, _ := strings.Cut(m[1], "#")
			linked[filepath.Clean(path)] = true
		}
	})
	var pages []string
	for _, page := range linkedPages {
		if page != "README.md" {
			pages = append(pages, page)
		}
	}
	err = filepath.WalkDir("docs", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			pages = append(pages, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range pages {
		if !linked[page] {
			t.Errorf("README.md has no link to %s", page)
		}
	}
}

var examplePlaceholder = regexp.MustCompile(`\{(?:env\.|\$)([A-Za-z0-9_]+)`)

// TestExamplesNameTheirVariables keeps each example's "Environment
// variables" comment naming every variable the file reads, so that a user
// knows what to export before running it.
func TestExamplesNameTheirVariables(t *testing.T) {
	files, err := filepath.Glob("examples/*.Caddyfile")
	nested, err2 := filepath.Glob("examples/*/*Caddyfile")
	files = append(files, nested...)
	if err != nil || err2 != nil || len(files) == 0 {
		t.Fatalf("no examples (%v, %v)", err, err2)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// The section runs from its heading to the comment's next blank line.
		var section, config strings.Builder
		inSection := false
		for _, line := range strings.Split(string(data), "\n") {
			switch {
			case strings.HasPrefix(line, "# Environment variables"):
				inSection = true
			case line == "#" || !strings.HasPrefix(line, "#"):
				inSection = false
			}
			if inSection {
				section.WriteString(line + "\n")
			}
			if code, _, _ := strings.Cut(line, "#"); strings.TrimSpace(code) != "" {
				config.WriteString(code + "\n")
			}
		}
		if section.Len() == 0 {
			t.Errorf("%s has no \"# Environment variables\" comment", file)
			continue
		}
		for _, m := range examplePlaceholder.FindAllStringSubmatch(config.String(), -1) {
			if !regexp.MustCompile(`\b` + m[1] + `\b`).MatchString(section.String()) {
				t.Errorf("%s reads %s, which its \"Environment variables\" comment does not name", file, m[1])
			}
		}
	}
}
