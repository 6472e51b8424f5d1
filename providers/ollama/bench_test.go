package ollama

import (
	"io"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

func BenchmarkStream(b *testing.B) {
	providertest.BenchmarkStream(b, func(body io.Reader) providers.EventStream {
		cs := &chatStream{lines: newLineReader(body, providers.MaxEvent), answer: translate.NewAnswer("llama")}
		return translate.NewStream(cs.pull, nil)
	}, "testdata/streams/text.ndjson", "testdata/streams/tools.ndjson")
}
