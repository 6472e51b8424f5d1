package messages

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

// benchProvider streams the chat stream of testdata/stream/text at once
// from memory, so a benchmark measures the gateway's own work.
type benchProvider struct {
	providers.Base
	stream string
}

func (p *benchProvider) Send(_ context.Context, call *providers.Call) (*providers.Response, error) {
	resp := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(p.stream))}
	return providers.OpenAIResponse(resp, true), nil
}

// BenchmarkStream relays one streamed answer to a chat client and to a
// Messages client: the door's cost per stream is the difference.
func BenchmarkStream(b *testing.B) {
	var stream strings.Builder
	stream.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n")
	for range 50 {
		stream.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}]}` + "\n\n")
	}
	stream.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n")
	stream.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":21,"completion_tokens":50,"total_tokens":71}}` + "\n\ndata: [DONE]\n\n")
	h, err := handler.New(handler.Config{
		Routes:  []handler.Route{{Name: handler.Wildcard, Targets: []handler.Target{{Provider: &benchProvider{Base: providers.Base{Name: "canned"}, stream: stream.String()}}}}},
		MaxBody: 1 << 20, Timeout: time.Minute, FirstTokenTimeout: time.Minute, StreamIdleTimeout: time.Minute,
		Logger: zap.NewNop(), Doors: []inbound.Door{&Door{}},
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, api := range []struct{ path, body, last string }{
		{"/v1/chat/completions", `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Write one sentence about the sea."}]}`, "[DONE]"},
		{"/v1/messages", `{"model":"m","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Write one sentence about the sea."}]}`, "message_stop"},
	} {
		b.Run(strings.TrimPrefix(api.path, "/v1/"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, api.path, strings.NewReader(api.body))
				req = caddyhttp.PrepareRequest(req, caddy.NewReplacer(), nil, &caddyhttp.Server{})
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), api.last) {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
