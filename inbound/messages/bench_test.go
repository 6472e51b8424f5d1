package messages

import (
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/inbound/inboundtest"
)

// BenchmarkStream relays one streamed answer to a chat client and to a
// Messages client: the door's cost per stream is the difference.
func BenchmarkStream(b *testing.B) {
	inboundtest.Benchmark(b, &Door{},
		inboundtest.Request{Name: "chat", Path: "/v1/chat/completions",
			Body: `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Write one sentence about the sea."}]}`, End: "[DONE]"},
		inboundtest.Request{Name: "messages", Path: "/v1/messages",
			Body: `{"model":"m","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Write one sentence about the sea."}]}`, End: "message_stop"},
	)
}

// BenchmarkAnswer is BenchmarkStream for the answer as a whole.
func BenchmarkAnswer(b *testing.B) {
	inboundtest.Benchmark(b, &Door{},
		inboundtest.Request{Name: "chat", Path: "/v1/chat/completions",
			Body: `{"model":"m","max_tokens":256,"messages":[{"role":"user","content":"Write one sentence about the sea."}]}`, End: `"finish_reason":"stop"`},
		inboundtest.Request{Name: "messages", Path: "/v1/messages",
			Body: `{"model":"m","max_tokens":256,"messages":[{"role":"user","content":"Write one sentence about the sea."}]}`, End: `"stop_reason":"end_turn"`},
	)
}
