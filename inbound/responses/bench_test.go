package responses

import (
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/inbound/inboundtest"
)

// BenchmarkStream relays a 50-chunk answer as the Responses event stream,
// and as the chat stream it is, for the door's cost on top of the chat
// relay's; both ask the upstream for the same stream, usage included.
func BenchmarkStream(b *testing.B) {
	inboundtest.Benchmark(b, &Door{Store: &Store{TTL: time.Hour, MaxBytes: 64 << 20}},
		inboundtest.Request{Name: "chat", Path: "/v1/chat/completions",
			Body: `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Write one sentence about the sea."}]}`, End: "[DONE]"},
		inboundtest.Request{Name: "responses", Path: "/v1/responses",
			Body: `{"model":"gpt-4o-mini","stream":true,"input":"Write one sentence about the sea."}`, End: "response.completed"},
		inboundtest.Request{Name: "responses-unstored", Path: "/v1/responses",
			Body: `{"model":"gpt-4o-mini","stream":true,"store":false,"input":"Write one sentence about the sea."}`, End: "response.completed"},
	)
}

// BenchmarkAnswer is BenchmarkStream for the answer as a whole.
func BenchmarkAnswer(b *testing.B) {
	inboundtest.Benchmark(b, &Door{Store: &Store{TTL: time.Hour, MaxBytes: 64 << 20}},
		inboundtest.Request{Name: "chat", Path: "/v1/chat/completions",
			Body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Write one sentence about the sea."}]}`, End: `"finish_reason":"stop"`},
		inboundtest.Request{Name: "responses", Path: "/v1/responses",
			Body: `{"model":"gpt-4o-mini","input":"Write one sentence about the sea."}`, End: `"status":"completed"`},
	)
}
