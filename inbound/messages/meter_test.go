package messages

import (
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

func TestUsageMeter(t *testing.T) {
	stream := providertest.AnthropicEvent("message_start", `{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":50,"output_tokens":1}}}`) +
		providertest.AnthropicEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\"usage\" is a word"}}`) +
		providertest.AnthropicEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}`) +
		providertest.AnthropicEvent("message_delta", `{"type":"message_delta","delta":{}}`) +
		providertest.AnthropicEvent("message_stop", `{"type":"message_stop"}`)
	want := inbound.Usage{PromptTokens: 162, CompletionTokens: 7, CachedTokens: 50, CacheWriteTokens: 100}
	// Written in pieces of every size, lines cut anywhere.
	for size := 1; size <= len(stream); size *= 3 {
		m := newUsageMeter(true)
		for i := 0; i < len(stream); i += size {
			_, _ = m.Write([]byte(stream[i:min(i+size, len(stream))]))
		}
		if got, ok := m.Usage(); !ok || got != want {
			t.Errorf("pieces of %d: %+v %v, want %+v", size, got, ok, want)
		}
	}

	m := newUsageMeter(false)
	_, _ = m.Write([]byte(`{"id":"msg_1","content":[],"usage":{"input_tokens":3,`))
	_, _ = m.Write([]byte(`"output_tokens":4,"cache_read_input_tokens":2}}`))
	if got, ok := m.Usage(); !ok || got != (inbound.Usage{PromptTokens: 5, CompletionTokens: 4, CachedTokens: 2}) {
		t.Errorf("whole answer: %+v %v", got, ok)
	}
	if _, ok := newUsageMeter(false).Usage(); ok {
		t.Error("usage of nothing")
	}
}
