package integration

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/goleak"
)

// goroutineBaseline notes the goroutines running now. Take it once Caddy
// and the test's upstreams are up, so their long-lived goroutines are not
// counted against the test. The Caddy under test must run in this
// process: caddytest uses any Caddy already answering on its admin port,
// and the goroutines of another process's gateway are not seen here.
func goroutineBaseline(t *testing.T) goleak.Option {
	t.Helper()
	if _, err := caddy.ActiveContext().AppIfConfigured("http"); err != nil {
		t.Fatalf("the Caddy on the admin port is not this test process's (is another test run using it?): %v", err)
	}
	return goleak.IgnoreCurrent()
}

// configGoroutines are the goroutines each loaded Caddy config runs until
// the next load replaces it: a server's accept loop, storage cleaning, CA
// maintenance, the lock file of a storage lock. A reload during a test
// starts new ones in place of the baseline's; none is the gateway's.
var configGoroutines = []goleak.Option{
	goleak.IgnoreAnyFunction("net/http.(*Server).Serve"),
	goleak.IgnoreAnyFunction("github.com/caddyserver/caddy/v2/modules/caddytls.(*TLS).keepStorageClean.func1"),
	goleak.IgnoreAnyFunction("github.com/caddyserver/caddy/v2/modules/caddypki.(*PKI).maintenanceForCA"),
	goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.keepLockfileFresh"),
}

// checkNoLeaks fails t when a goroutine started since baseline outlives
// the test. It first closes what may rightly still hold goroutines: the
// idle connections of the test's clients, of the clients caddytest loads
// configs with (http.DefaultTransport), and every connection to the test's
// upstreams (the gateway pools them). Goroutines take a moment to end
// once their connection closes, so it polls for up to ten seconds.
func checkNoLeaks(t *testing.T, baseline goleak.Option, clients []*http.Client, upstreams ...*httptest.Server) {
	t.Helper()
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	http.DefaultClient.CloseIdleConnections()
	for _, u := range upstreams {
		u.CloseClientConnections()
	}
	opts := append([]goleak.Option{baseline}, configGoroutines...)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := goleak.Find(opts...)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("goroutines outlived the test: %v", err)
			return
		}
	}
}
