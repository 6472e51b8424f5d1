// Package integration runs llm_gateway inside a real Caddy: Caddyfile
// adaptation, and requests through Caddy's HTTP server to fake upstreams
// that speak each provider's wire format. It links all of Caddy, so these
// tests live in this one package; `go test -short` skips the ones that
// start a server.
package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/llmgateway/caddy-llm-gateway"
)

var envPlaceholder = regexp.MustCompile(`\{env\.([A-Za-z0-9_]+)\}`)

// TestCaddyfileAdapt compares each testdata/adapt/*.caddyfiletest file's
// Caddyfile (before the ---------- line) with its expected JSON, or with an
// expected error substring when the second part is not JSON.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob("testdata/adapt/*.caddyfiletest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no adapt test files (%v)", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, expected, ok := strings.Cut(string(data), "----------")
			if !ok {
				t.Fatal("no ---------- separator")
			}
			input, expected = strings.TrimSpace(input)+"\n", strings.TrimSpace(expected)
			if strings.HasPrefix(expected, "{") {
				if !caddytest.CompareAdapt(t, file, input, "caddyfile", expected) {
					t.Error("adapted JSON differs (diff above)")
				}
				return
			}
			_, _, err = caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), nil)
			if err == nil || !strings.Contains(err.Error(), expected) {
				t.Errorf("error = %v, want it to contain %q", err, expected)
			}
		})
	}
}

// TestExamplesAdapt keeps every example Caddyfile formatted, adaptable and
// valid: each is provisioned as `caddy validate` does, with its {env.*}
// placeholders set to stand-in values.
func TestExamplesAdapt(t *testing.T) {
	files, err := filepath.Glob("../examples/*.Caddyfile")
	nested, err2 := filepath.Glob("../examples/*/*Caddyfile")
	files = append(files, nested...)
	if err != nil || err2 != nil || len(files) == 0 {
		t.Fatalf("no examples (%v, %v)", err, err2)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if formatted := caddyfile.Format(data); string(formatted) != string(data) {
				t.Errorf("%s is not formatted; run caddy fmt --overwrite", file)
			}
			for _, name := range envPlaceholder.FindAllStringSubmatch(string(data), -1) {
				value := "stand-in-" + strings.ToLower(name[1]) + "-0123456789abcdef0123456789"
				switch {
				case strings.HasSuffix(name[1], "_URL") && strings.Contains(name[1], "REDIS"):
					value = "redis://127.0.0.1:1/0"
				case strings.HasSuffix(name[1], "_URL") || strings.HasSuffix(name[1], "_ENDPOINT"):
					value = "https://stand-in.example"
				}
				t.Setenv(name[1], value)
			}
			adapted, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(data, map[string]any{"filename": file})
			if err != nil {
				t.Fatalf("adapting: %v", err)
			}
			for _, w := range warnings {
				t.Errorf("warning: %s", w.Message)
			}
			var cfg caddy.Config
			if err := json.Unmarshal(adapted, &cfg); err != nil {
				t.Fatal(err)
			}
			if err := caddy.Validate(&cfg); err != nil {
				t.Errorf("validating: %v", err)
			}
		})
	}
}
