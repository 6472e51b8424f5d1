// Package providertest is the test kit of the provider packages and of the
// gateway's integration tests, in the style of net/http/httptest: an
// Upstream that records what it receives and answers scripted replies in
// each provider's wire format (Anthropic, DashScope, Gemini, Ollama,
// OpenAI), golden files with -update, canonical JSON, draining and
// checking the OpenAI answers and chunk streams the providers make, and
// the stream benchmarks and fuzz seeds every translating provider runs.
package providertest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// A Request is one request an Upstream received.
type Request struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// An Upstream is a fake provider on 127.0.0.1. It records every request
// and answers it with its reply, which a test may change between calls.
type Upstream struct {
	*httptest.Server

	mu       sync.Mutex
	requests []Request
	reply    http.Handler
}

// NewUpstream starts an Upstream that answers with reply (a 404 while it
// is nil) and is closed when the test ends.
func NewUpstream(t testing.TB, reply http.Handler) *Upstream {
	t.Helper()
	u := &Upstream{reply: reply}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

// serve records the request, then hands it to the reply with its body
// still readable.
func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	u.mu.Lock()
	u.requests = append(u.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	reply := u.reply
	u.mu.Unlock()
	if reply == nil {
		http.NotFound(w, r)
		return
	}
	reply.ServeHTTP(w, r)
}

// Reply sets how the following requests are answered.
func (u *Upstream) Reply(reply http.Handler) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reply = reply
}

// Requests returns the requests received so far, oldest first.
func (u *Upstream) Requests() []Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Request(nil), u.requests...)
}

// Count returns how many requests were received.
func (u *Upstream) Count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.requests)
}

// Last returns the latest request, and fails t when there was none.
func (u *Upstream) Last(t testing.TB) Request {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.requests) == 0 {
		t.Fatal("the fake upstream received no request")
	}
	return u.requests[len(u.requests)-1]
}
