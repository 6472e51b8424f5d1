package native

import (
	"encoding/json"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// streamChunk is what the native streams read of an OpenAI chunk.
type streamChunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *generateUsage `json:"usage"`
}

// chatStream is what the native streams keep of the chat stream they
// translate.
type chatStream struct {
	finishReason string
	usage        *generateUsage
}

// text notes a chunk's finish reason and usage and returns its text;
// empty when it has none.
func (s *chatStream) text(chunk []byte) string {
	var c streamChunk
	if json.Unmarshal(chunk, &c) != nil {
		return ""
	}
	if c.Usage != nil {
		s.usage = c.Usage
	}
	if len(c.Choices) == 0 {
		return ""
	}
	if f := c.Choices[0].FinishReason; f != nil {
		s.finishReason = *f
	}
	return c.Choices[0].Delta.Content
}

// generateEvent is an event of /api/v1/generate/stream.
type generateEvent struct {
	Token        string          `json:"token"`
	Finished     bool            `json:"finished"`
	FinishReason string          `json:"finish_reason,omitempty"`
	Usage        *generateUsage  `json:"usage,omitempty"`
	Latency      *float64        `json:"latency,omitempty"`
	Error        json.RawMessage `json:"error,omitempty"`
}

// generateStream renders /api/v1/generate/stream: `{"token","finished"}`
// for each piece of text, then a final event with `finished: true`, the
// finish reason, usage and latency. An upstream failure mid-stream ends it
// with `finished: true` and an `error` object.
type generateStream struct {
	chatStream
	start time.Time
}

func (s *generateStream) Chunk(buf, chunk []byte) []byte {
	text := s.text(chunk)
	if text == "" {
		return buf
	}
	return appendEvent(buf, generateEvent{Token: text})
}

func (s *generateStream) End(buf []byte) []byte {
	latency := time.Since(s.start).Seconds()
	ev := generateEvent{Finished: true, FinishReason: s.finishReason, Latency: &latency}
	if s.usage != nil {
		u := s.usage.withTotal()
		ev.Usage = &u
	}
	return appendEvent(buf, ev)
}

func (s *generateStream) Fail(buf []byte, e *providers.Error) []byte {
	failure, _ := providers.MarshalJSON(streamFailure(e).Error)
	return appendEvent(buf, generateEvent{Finished: true, Error: failure})
}

// chatEvents renders the streaming chat at /api/chat: `{"content"}` per
// piece of text, then `[DONE]`; a failure mid-stream is a native error
// event with no [DONE].
type chatEvents struct {
	chatStream
}

var doneEvent = []byte("data: [DONE]\n\n")

func (s *chatEvents) Chunk(buf, chunk []byte) []byte {
	text := s.text(chunk)
	if text == "" {
		return buf
	}
	return appendEvent(buf, struct {
		Content string `json:"content"`
	}{text})
}

func (s *chatEvents) End(buf []byte) []byte { return append(buf, doneEvent...) }

func (s *chatEvents) Fail(buf []byte, e *providers.Error) []byte {
	return appendEvent(buf, streamFailure(e))
}

// appendEvent appends v as a `data:` event.
func appendEvent(buf []byte, v any) []byte {
	body, _ := providers.MarshalJSON(v)
	return inbound.AppendData(buf, body)
}

// Interface guards
var (
	_ inbound.StreamEncoder = (*generateStream)(nil)
	_ inbound.StreamEncoder = (*chatEvents)(nil)
)
