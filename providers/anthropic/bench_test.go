package anthropic

import (
	"io"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/sse"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

func BenchmarkStream(b *testing.B) {
	providertest.BenchmarkStream(b, func(body io.Reader) providers.EventStream {
		events := sse.NewReader(body, providers.MaxEvent)
		return translate.NewStream(newStream(translate.NewAnswer("claude"), events, "").pull, nil)
	}, "testdata/stream/text.sse", "testdata/stream/tools.sse")
}
