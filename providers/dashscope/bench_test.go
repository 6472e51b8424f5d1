package dashscope

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
		r := &reader{src: sseSource{sse.NewReader(body, providers.MaxEvent)}}
		s := translate.NewStream(func(*translate.Stream) error { return r.step() }, nil)
		r.ans = newAnswer(translate.NewAnswer("qwen"), 1, s.Push)
		return s
	}, "testdata/stream/cumulative.sse", "testdata/stream/tools_parallel.sse")
}
