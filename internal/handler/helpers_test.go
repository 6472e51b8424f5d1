package handler

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/inbound/native"
	"github.com/llmgateway/caddy-llm-gateway/internal/limitstore"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/azure"
	"github.com/llmgateway/caddy-llm-gateway/providers/openai"
)

// upstream is a fake provider server that records what it received.
type upstream struct {
	*httptest.Server
	requests chan recorded
}

type recorded struct {
	method, path, query string
	header              http.Header
	body                []byte
}

func newUpstream(t *testing.T, serve http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{requests: make(chan recorded, 64)}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.requests <- recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body}
		r.Body = io.NopCloser(bytes.NewReader(body))
		serve(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

// last returns the request the upstream received.
func (u *upstream) last(t *testing.T) recorded {
	t.Helper()
	select {
	case r := <-u.requests:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream received no request")
		return recorded{}
	}
}

func openAIProvider(t *testing.T, name, baseURL string) providers.Provider {
	t.Helper()
	return openAIProviderWithKey(t, name, baseURL, "sk-upstream-secret")
}

func openAIProviderWithKey(t *testing.T, name, baseURL, key string) providers.Provider {
	t.Helper()
	p := &openai.OpenAI{Base: providers.Base{Name: name, BaseURL: baseURL + "/v1", APIKey: key}}
	if err := p.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	return p
}

func azureProvider(t *testing.T, name, endpoint, version string, deployments map[string]string) providers.Provider {
	t.Helper()
	p := &azure.Azure{Base: providers.Base{Name: name, BaseURL: endpoint, APIKey: "azure-secret"}, APIVersion: version, Deployments: deployments}
	if err := p.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// ready gives the bounds a test leaves unset the values the root module's
// Provision would, its defaults (a smaller body bound and timeout here),
// so a test names only what it is about. Circuit breaking stays off.
func ready(cfg Config) Config {
	cfg.MaxBody = cmp.Or(cfg.MaxBody, 1<<20)
	cfg.Timeout = cmp.Or(cfg.Timeout, time.Minute)
	cfg.FirstTokenTimeout = cmp.Or(cfg.FirstTokenTimeout, 60*time.Second)
	cfg.StreamIdleTimeout = cmp.Or(cfg.StreamIdleTimeout, 5*time.Minute)
	cfg.Cooldown = cmp.Or(cfg.Cooldown, 10*time.Second)
	return cfg
}

// gateway serves a Handler over real HTTP, so flushing and client
// disconnects behave as in production. Unless cfg names its doors, the
// native API is its door: the pipeline's tests reach doors through it.
func gateway(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	if cfg.Doors == nil {
		cfg.Doors = []inbound.Door{&native.Door{BatchConcurrency: 4, BatchMax: 32}}
	}
	h, err := New(ready(cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.ServeHTTP(w, r) {
			http.Error(w, "next handler", http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// memoryCounter is a limit store in this process, counting for the
// pipeline as the root module's stores do.
func memoryCounter() Counter { return storeCounter{limitstore.NewMemory()} }

// storeCounter counts in a limit store.
type storeCounter struct{ store *limitstore.Store }

func (c storeCounter) Add(ctx context.Context, key string, n int64, l Limit) (Window, error) {
	w, err := c.store.Add(ctx, key, n, l.N, l.Window)
	return Window(w), err
}

func (c storeCounter) Reserve(ctx context.Context, accounts []Account, n int64) (int, int64, error) {
	var buf [2]limitstore.Account
	return c.store.Reserve(ctx, storeAccounts(accounts, &buf), n)
}

func (c storeCounter) Spend(ctx context.Context, accounts []Account, n int64) error {
	var buf [2]limitstore.Account
	return c.store.Spend(ctx, storeAccounts(accounts, &buf), n)
}

func (c storeCounter) Spent(ctx context.Context, key string) (int64, error) {
	return c.store.Spent(ctx, key)
}

func storeAccounts(accounts []Account, buf *[2]limitstore.Account) []limitstore.Account {
	out := buf[:0]
	for _, a := range accounts {
		out = append(out, limitstore.Account(a))
	}
	return out
}

// memoryStore counts limits and keeps budgets in this process.
func memoryStore() storeCounter { return storeCounter{limitstore.NewMemory()} }

func route(name string, targets ...Target) Route { return Route{Name: name, Targets: targets} }

func postWith(t *testing.T, url, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp, readAll(t, resp.Body)
}

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sseEvents splits an SSE body into its data payloads.
func sseEvents(body string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, data)
		}
	}
	return out
}

// writeSSE writes events as an upstream would, flushing each.
func writeSSE(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		_, _ = io.WriteString(w, e+"\n\n")
		w.(http.Flusher).Flush()
	}
}

func chunk(id, content string) string {
	return `data: {"id":"` + id + `","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","system_fingerprint":"fp_1a2b","choices":[{"index":0,"delta":{"content":"` + content + `"},"logprobs":null,"finish_reason":null}],"usage":null}`
}

const (
	roleChunk     = `data: {"id":"chatcmpl-9x2","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","system_fingerprint":"fp_1a2b","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`
	finishChunk   = `data: {"id":"chatcmpl-9x2","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","system_fingerprint":"fp_1a2b","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`
	usageChunk    = `data: {"id":"chatcmpl-9x2","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","system_fingerprint":"fp_1a2b","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`
	doneEventLine = `data: [DONE]`

	chatCompletion = `{"id":"chatcmpl-9x1","object":"chat.completion","created":1735689600,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1a2b","service_tier":"default","choices":[{"index":0,"logprobs":null,"finish_reason":"stop","message":{"role":"assistant","content":"Hello.","refusal":null,"annotations":[]}}],"usage":{"prompt_tokens":82,"completion_tokens":17,"total_tokens":99,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`
)
