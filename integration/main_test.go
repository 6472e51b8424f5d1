package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// failures names the tests that started a Caddy (in process or as a
// binary) and failed.
var failures struct {
	sync.Mutex
	names []string
}

// noteFailure has t named at the end of the run if it fails.
func noteFailure(t testing.TB) {
	t.Cleanup(func() {
		if t.Failed() {
			failures.Lock()
			if !slices.Contains(failures.names, t.Name()) { // a test may start Caddy twice
				failures.names = append(failures.names, t.Name())
			}
			failures.Unlock()
		}
	})
}

// TestMain holds a machine-wide lock while the tests run: they listen on
// fixed loopback ports (caddytest's admin endpoint on 2999, sites on 9080
// and 9443), so two test processes at once, say `go test` and
// `go test -race` in two terminals, would load configs into each other's
// Caddy. The second process waits for the first instead.
func TestMain(m *testing.M) {
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "caddy-llm-gateway-integration.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: opening the lock file:", err)
		os.Exit(1)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		fmt.Fprintln(os.Stderr, "integration: taking the lock:", err)
		os.Exit(1)
	}
	// caddytest loads each config with a POST through
	// http.DefaultTransport, and every load replaces Caddy's admin server,
	// shutting the old one down in the background: a POST on a kept-alive
	// connection to the old one can meet its close and fail with EOF, and
	// a POST is not retried. A new connection per request never does.
	http.DefaultTransport.(*http.Transport).DisableKeepAlives = true
	code := m.Run()
	failures.Lock()
	if len(failures.names) > 0 {
		// Last, where a log that keeps only the end of the output still
		// has it: Caddy's request logs push the --- FAIL lines far up.
		fmt.Println("integration: failed:", strings.Join(failures.names, ", "))
	}
	failures.Unlock()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	// The lock is held by the open file: without this the file could be
	// collected and closed, and the lock released, while tests still run.
	runtime.KeepAlive(lock)
	os.Exit(code)
}
