package llmgateway

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// TestReadmeReferenceMatchesParser keeps the README's Caddyfile reference
// in step with the parser: the block must adapt, and it must show every
// subdirective of the parser's tables.
func TestReadmeReferenceMatchesParser(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- caddyfile-reference:start -->")
	block, _, ok2 := strings.Cut(rest, "<!-- caddyfile-reference:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no caddyfile-reference markers")
	}
	block = strings.TrimSpace(block)
	block = strings.TrimPrefix(block, "```caddyfile")
	block = strings.TrimSuffix(block, "```")

	if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(block), nil); err != nil {
		t.Fatalf("the README reference does not adapt: %v", err)
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
		new(KeyConfig).caddyfileOptions(), new(JWTConfig).caddyfileOptions(), new(ModelRoute).caddyfileOptions()}
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
			t.Errorf("the README reference does not show %q", name)
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
