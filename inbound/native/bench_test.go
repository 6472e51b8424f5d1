package native

import (
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/inbound/inboundtest"
)

// BenchmarkGenerateStream relays a 50-chunk answer as the native stream:
// the door's cost per stream on top of the chat relay's.
func BenchmarkGenerateStream(b *testing.B) {
	inboundtest.Benchmark(b, &Door{BatchConcurrency: 4, BatchMax: 32}, inboundtest.Request{
		Name: "generate", Path: "/api/v1/generate/stream",
		Body: `{"model":"gpt-4o-mini","prompt":"Write one sentence about the sea."}`, End: `"finished":true`,
	})
}
