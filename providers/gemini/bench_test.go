package gemini

import (
	"io"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/streambench"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

func BenchmarkStream(b *testing.B) {
	streambench.Run(b, func(body io.Reader) providers.EventStream {
		return newStream(io.NopCloser(body), "gemini")
	}, "testdata/stream_text.sse", "testdata/stream_tools.sse")
}
