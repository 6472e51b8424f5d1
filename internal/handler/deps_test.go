package handler

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPipelineImportsNoRedis keeps the Redis client out of the pipeline's
// build: the stores that speak Redis (internal/limitstore,
// internal/answercache/rediscache, the Responses door's store) are the
// root module's to choose, and the pipeline sees them through its own
// interfaces.
func TestPipelineImportsNoRedis(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("listing the package's imports: %v", err)
		}
		t.Skipf("listing the package's imports needs the go command: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/redis/") {
			t.Errorf("the pipeline imports %s", pkg)
		}
	}
}
