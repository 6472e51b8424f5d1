package handler

import (
	"runtime/debug"
	"sync"
)

// modulePath is this Go module's path, to find its version in the build.
const modulePath = "github.com/llmgateway/caddy-llm-gateway"

var version = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Path == modulePath && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, dep := range bi.Deps {
		if dep.Path == modulePath && dep.Version != "" && dep.Version != "(devel)" {
			return dep.Version
		}
	}
	return "devel"
})

// Version is the module's version when Caddy was built with it as a
// dependency (as xcaddy does), else "devel".
func Version() string { return version() }
