// Package integration runs llm_gateway inside a real Caddy: Caddyfile
// adaptation, and requests through Caddy's HTTP server to fake upstreams
// that speak each provider's wire format. It links all of Caddy, so these
// tests live in this one package; `go test -short` skips the ones that
// start a server.
package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/llmgateway/caddy-llm-gateway"
)

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

// TestExamplesAdapt keeps every example Caddyfile valid and formatted.
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
			if _, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(data, map[string]any{"filename": file}); err != nil {
				t.Errorf("adapting: %v", err)
			} else {
				for _, w := range warnings {
					t.Errorf("warning: %s", w.Message)
				}
			}
		})
	}
}
