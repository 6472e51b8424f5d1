package handler

import (
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/internal/pricing"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// cannedProvider answers at once from memory, so a benchmark measures the
// gateway's own work on a request.
type cannedProvider struct{ providers.Base }

func (p *cannedProvider) Send(_ context.Context, call *providers.Call) (*providers.Response, error) {
	if call.Stream {
		resp := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(cannedStream))}
		return providers.OpenAIResponse(resp, true), nil
	}
	return providers.BytesResponse([]byte(chatCompletion)), nil
}

// cannedStream is a 50-chunk answer as OpenAI streams it.
var cannedStream = func() string {
	var b strings.Builder
	b.WriteString(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	for range 50 {
		b.WriteString(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"tok "},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	}
	b.WriteString(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}` + "\n\n")
	b.WriteString(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":21,"completion_tokens":50,"total_tokens":71}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}()

const benchBody = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Write one sentence about the sea."}],"temperature":0.2,"max_tokens":64}`

func benchmarkServe(b *testing.B, cfg Config) {
	benchmarkServeBody(b, cfg, benchBody)
}

// BenchmarkStream relays a 50-chunk streamed answer: the handler's cost
// per stream, which the relay's per-event work dominates.
func BenchmarkStream(b *testing.B) {
	benchmarkServeBody(b, Config{}, `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Write one sentence about the sea."}]}`)
}

func benchmarkServeBody(b *testing.B, cfg Config, body string) {
	if cfg.Routes == nil {
		cfg.Routes = []Route{route(Wildcard, Target{Provider: &cannedProvider{Base: providers.Base{Name: "canned"}}})}
	}
	cfg.Logger = zap.NewNop()
	h, err := New(ready(cfg))
	if err != nil {
		b.Fatal(err)
	}
	serve := func() {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer bench-key")
		req = caddyhttp.PrepareRequest(req, caddy.NewReplacer(), nil, &caddyhttp.Server{})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	// One request before the clock starts: what a first request fills
	// (pools, a cache) is every later request's.
	serve()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		serve()
	}
}

// BenchmarkAuthAndLimits compares the non-streaming path without auth and
// limits to the same path with key auth and a memory-store request limit,
// and with a token limit as well.
func BenchmarkAuthAndLimits(b *testing.B) {
	keys := func() Authenticator {
		return NewKeyAuth([]APIKey{{SHA256: sha256.Sum256([]byte("bench-key")), Name: "bench"}})
	}
	big := &Limit{N: 1 << 62, Window: time.Hour}
	b.Run("none", func(b *testing.B) { benchmarkServe(b, Config{}) })
	b.Run("keys+rate_limit", func(b *testing.B) {
		benchmarkServe(b, Config{Auth: keys(), Limits: Limits{Requests: big, Counter: memoryCounter()}})
	})
	b.Run("keys+rate_limit+token_limit", func(b *testing.B) {
		benchmarkServe(b, Config{Auth: keys(), Limits: Limits{Requests: big, Tokens: big, CompletionReserve: 1024, Counter: memoryCounter()}})
	})
}

// BenchmarkBudgets compares a priced call without a budget to the same
// call under a budget in the memory store: one reservation and one
// settlement more per request.
func BenchmarkBudgets(b *testing.B) {
	auth := NewKeyAuth([]APIKey{{SHA256: sha256.Sum256([]byte("bench-key")), Name: "bench"}})
	prices := &pricing.Book{Models: map[string]pricing.Price{"gpt-4o-mini": {Input: 150_000_000, Output: 600_000_000, CachedInput: 75_000_000, CacheWrite: 150_000_000}}}
	store := memoryStore()
	b.Run("prices", func(b *testing.B) {
		benchmarkServe(b, Config{Auth: auth, Prices: prices})
	})
	b.Run("prices+budget", func(b *testing.B) {
		budget := &Budget{Limit: 1 << 53, Period: Period{Calendar: Monthly}}
		benchmarkServe(b, Config{Auth: auth, Prices: prices, Limits: Limits{Budget: budget, Spender: store, Counter: store}})
	})
}
