package handler

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// callErr is the error of a GET to url through a plain client.
func callErr(t *testing.T, url string) error {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s succeeded", url)
	}
	return err
}

func TestFailureCauseNamesWhyTheUpstreamGaveNoAnswer(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tlsServer := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	tlsServer.StartTLS()
	t.Cleanup(tlsServer.Close)
	plainServer := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plainServer.Close)

	for _, tc := range []struct {
		name        string
		err         error
		cause       string
		unreachable bool
	}{
		{"refused", callErr(t, closedURL), "connection refused", true},
		{"untrusted certificate", callErr(t, tlsServer.URL), "TLS certificate not accepted: signed by an unknown authority", true},
		{"https to an http server", callErr(t, strings.Replace(plainServer.URL, "http:", "https:", 1)), "does not speak TLS", true},
		{"no such host", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "llm.invalid", IsNotFound: true}}, "DNS lookup failed: no such host", true},
		{"dial timeout", &net.OpError{Op: "dial", Err: timeoutError{}}, "connecting timed out", true},
		{"read timeout", &net.OpError{Op: "read", Err: timeoutError{}}, "timed out", false},
		{"the upstream's own answer", providers.NewError(http.StatusBadGateway, "", "bad gateway"), "", false},
		{"unknown", errors.New("something else"), "", false},
	} {
		cause, unreachable := failureCause(tc.err)
		if !strings.Contains(cause, tc.cause) || (tc.cause == "" && cause != "") || unreachable != tc.unreachable {
			t.Errorf("%s: %q, unreachable %v; want %q, %v (error: %v)", tc.name, cause, unreachable, tc.cause, tc.unreachable, tc.err)
		}
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
