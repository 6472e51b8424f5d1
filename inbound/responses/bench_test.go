package responses

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/inbound/inboundtest"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
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

// BenchmarkNativeStream relays a 52-event Responses stream from a
// provider that serves the Responses API itself, untouched, next to a
// 50-chunk chat stream passed through to the same provider: what a
// native relay costs above chat passthrough.
func BenchmarkNativeStream(b *testing.B) {
	p := &cannedNative{inboundtest.CannedProvider{Base: providers.Base{Name: "canned"}, Stream: inboundtest.CannedStream(50), Answer: inboundtest.CannedAnswer(50)}}
	inboundtest.BenchmarkBehind(b, p, &Door{Store: &Store{TTL: time.Hour, MaxBytes: 64 << 20}},
		inboundtest.Request{Name: "chat", Path: "/v1/chat/completions",
			Body: `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Write one sentence about the sea."}]}`, End: "[DONE]"},
		inboundtest.Request{Name: "responses-native", Path: "/v1/responses",
			Body: `{"model":"gpt-4o-mini","stream":true,"store":false,"input":"Write one sentence about the sea."}`, End: "response.completed"},
	)
}

// cannedNative serves the Responses API itself: a Responses call gets
// cannedResponsesStream, every other one the canned chat answers.
type cannedNative struct{ inboundtest.CannedProvider }

func (p *cannedNative) ServesNatively(api providers.Operation) bool {
	return api == providers.Responses
}

func (p *cannedNative) Send(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	if call.Op != providers.Responses {
		return p.CannedProvider.Send(ctx, call)
	}
	return &providers.Response{Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(strings.NewReader(cannedResponsesStream)), Length: -1}, nil
}

// cannedResponsesStream is a Responses event stream of 50 text deltas, as
// OpenAI writes them: an `event:` line before each data line.
var cannedResponsesStream = func() string {
	var b strings.Builder
	b.WriteString(providertest.ResponsesEvent("response.created", `{"type":"response.created","sequence_number":0,"response":{"id":"resp_bench","object":"response","status":"in_progress","usage":null}}`))
	for i := range 50 {
		b.WriteString(providertest.ResponsesEvent("response.output_text.delta",
			`{"type":"response.output_text.delta","sequence_number":`+strconv.Itoa(i+1)+`,"item_id":"msg_bench","output_index":0,"content_index":0,"delta":"tok "}`))
	}
	b.WriteString(providertest.ResponsesEvent("response.completed", `{"type":"response.completed","sequence_number":51,"response":{"id":"resp_bench","object":"response","status":"completed","usage":{"input_tokens":21,"output_tokens":50,"total_tokens":71}}}`))
	return b.String()
}()
