package responses

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// cannedProvider streams cannedStream at once from memory, so a benchmark
// measures the gateway's own work on a request.
type cannedProvider struct{ providers.Base }

func (p *cannedProvider) Send(_ context.Context, call *providers.Call) (*providers.Response, error) {
	resp := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(cannedStream))}
	return providers.OpenAIResponse(resp, true), nil
}

// cannedStream is a 50-chunk answer as OpenAI streams it.
var cannedStream = func() string {
	const head = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","choices":[`
	var b strings.Builder
	b.WriteString(head + `{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	for range 50 {
		b.WriteString(head + `{"index":0,"delta":{"content":"tok "},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	}
	b.WriteString(head + `{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}` + "\n\n")
	b.WriteString(head + `],"usage":{"prompt_tokens":21,"completion_tokens":50,"total_tokens":71}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}()

// BenchmarkStream relays a 50-chunk answer as the Responses event stream,
// and as the chat stream it is, for the door's cost on top of the chat
// relay's.
func BenchmarkStream(b *testing.B) {
	h, err := handler.New(handler.Config{
		Routes:  []handler.Route{{Name: handler.Wildcard, Targets: []handler.Target{{Provider: &cannedProvider{Base: providers.Base{Name: "canned"}}}}}},
		MaxBody: 1 << 20, Timeout: time.Minute, FirstTokenTimeout: time.Minute, StreamIdleTimeout: time.Minute,
		Logger: zap.NewNop(), Doors: []inbound.Door{&Door{Store: &Store{TTL: time.Hour, MaxBytes: 64 << 20}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, path, body, end string }{
		{"chat", "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Write one sentence about the sea."}]}`, "[DONE]"},
		{"responses", "/v1/responses", `{"model":"gpt-4o-mini","stream":true,"input":"Write one sentence about the sea."}`, "response.completed"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, bc.path, strings.NewReader(bc.body))
				req = caddyhttp.PrepareRequest(req, caddy.NewReplacer(), nil, &caddyhttp.Server{})
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), bc.end) {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
