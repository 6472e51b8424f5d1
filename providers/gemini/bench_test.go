package gemini

import (
	"io"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

func BenchmarkStream(b *testing.B) {
	providertest.BenchmarkStream(b, func(body io.Reader) providers.EventStream {
		return newStream(io.NopCloser(body), "gemini")
	}, "testdata/stream_text.sse", "testdata/stream_tools.sse")
}
