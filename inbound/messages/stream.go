package messages

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// The kinds of content block a stream opens.
const (
	noBlock = iota
	textKind
	thinkingKind
	toolKind
)

// eventStream renders a chat stream as Anthropic's event stream:
// message_start once, then content blocks one at a time, indexes from 0
// (content_block_start, its deltas, content_block_stop), then
// message_delta with the stop reason and usage, and message_stop. A
// tool call's block stays open until the next block begins, so the
// arguments of several tool calls never interleave; argument deltas for
// a tool call whose block is closed (chat streams send tool calls one
// after another, so none do in practice) are dropped.
type eventStream struct {
	model string
	stops []string

	// texts reads the chunks that repeat an earlier one but for its text.
	texts inbound.TextChunks

	started  bool
	open     int    // the kind of the open block; noBlock when none is
	index    int    // the open block's index, or the next block's
	toolCall int    // the chat index of the open tool call
	toolID   string // and its id
	tools    bool   // a tool call was seen
	lastTool int    // the highest chat index of a tool call seen
	finish   string
	matched  json.RawMessage
	usage    *chatUsage
}

func (s *eventStream) Chunk(buf, chunk []byte) []byte {
	if text, ok := s.texts.Text(chunk); ok && utf8.Valid(text) {
		buf = s.start(buf)
		if len(text) > len(`""`) {
			buf = s.keepOrOpen(buf, textKind)
			buf = appendTextDelta(buf, s.index, text)
		}
		return buf
	}
	d, ok := readChunk(chunk)
	if !ok {
		return buf
	}
	if d.onlyText != nil {
		s.texts.Learn(chunk, d.onlyText)
	}
	if d.usage != nil {
		s.usage = d.usage
	}
	buf = s.start(buf)
	if !d.choices {
		return buf
	}
	if d.reasoning != "" {
		thinking := d.reasoning
		buf = s.keepOrOpen(buf, thinkingKind)
		buf = appendEvent(buf, "content_block_delta", blockDelta{Type: "content_block_delta", Index: s.index,
			Delta: delta{Type: "thinking_delta", Thinking: &thinking}})
	}
	switch {
	case d.rawText != nil:
		buf = s.keepOrOpen(buf, textKind)
		buf = appendTextDelta(buf, s.index, d.rawText)
	case d.text != "":
		text := d.text
		buf = s.keepOrOpen(buf, textKind)
		buf = appendEvent(buf, "content_block_delta", blockDelta{Type: "content_block_delta", Index: s.index,
			Delta: delta{Type: "text_delta", Text: &text}})
	}
	for _, tc := range d.toolCalls {
		// Some upstreams number every tool call 0: a new id is a new call.
		current := s.open == toolKind && tc.Index == s.toolCall && (tc.ID == "" || tc.ID == s.toolID)
		if !current {
			if tc.ID == "" && s.tools && tc.Index <= s.lastTool {
				continue // the arguments of a call whose block is closed
			}
			s.tools = true
			s.toolCall, s.toolID, s.lastTool = tc.Index, tc.ID, max(s.lastTool, tc.Index)
			buf = s.openBlock(buf, toolKind, toolUseBlock(tc.ID, tc.Function.Name, emptyInput))
		}
		if tc.Function.Arguments != "" {
			buf = appendEvent(buf, "content_block_delta", blockDelta{Type: "content_block_delta", Index: s.index,
				Delta: delta{Type: "input_json_delta", PartialJSON: &tc.Function.Arguments}})
		}
	}
	if d.finish != nil {
		s.finish, s.matched = *d.finish, d.stop
	}
	return buf
}

func (s *eventStream) End(buf []byte) []byte {
	buf = s.closeBlock(s.start(buf))
	reason, sequence := stopReason(s.finish, s.matched, s.stops, s.tools)
	buf = appendEvent(buf, "message_delta", messageDelta{Type: "message_delta",
		Delta: stopDelta{StopReason: reason, StopSequence: sequence}, Usage: s.usage.toUsage()})
	return append(buf, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

// Fail ends the stream with an `error` event, as Anthropic ends one it
// cannot finish; the SDKs raise it as an API error.
func (s *eventStream) Fail(buf []byte, e *providers.Error) []byte {
	return appendEvent(buf, "error", toEnvelope(e))
}

// start sends message_start before anything else.
func (s *eventStream) start(buf []byte) []byte {
	if s.started {
		return buf
	}
	s.started = true
	return appendEvent(buf, "message_start", messageStart{Type: "message_start", Message: messageAnswer{
		ID: newMessageID(), Type: "message", Role: "assistant", Model: s.model,
		Content: []contentBlock{}, Usage: s.usage.toUsage()}})
}

// keepOrOpen makes a text or thinking block the open one: the open block
// is kept when it is of that kind.
func (s *eventStream) keepOrOpen(buf []byte, kind int) []byte {
	switch {
	case s.open == kind:
		return buf
	case kind == thinkingKind:
		return s.openBlock(buf, kind, thinkingBlock(""))
	}
	return s.openBlock(buf, kind, textBlock(""))
}

// openBlock opens a block of kind, after closing the open one.
func (s *eventStream) openBlock(buf []byte, kind int, b contentBlock) []byte {
	buf = s.closeBlock(buf)
	s.open = kind
	return appendEvent(buf, "content_block_start", blockStart{Type: "content_block_start", Index: s.index, ContentBlock: b})
}

func (s *eventStream) closeBlock(buf []byte) []byte {
	if s.open == noBlock {
		return buf
	}
	buf = appendEvent(buf, "content_block_stop", blockStop{Type: "content_block_stop", Index: s.index})
	s.open = noBlock
	s.index++
	return buf
}

type messageStart struct {
	Type    string        `json:"type"`
	Message messageAnswer `json:"message"`
}

type blockStart struct {
	Type         string       `json:"type"`
	Index        int          `json:"index"`
	ContentBlock contentBlock `json:"content_block"`
}

type blockDelta struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
	Delta delta  `json:"delta"`
}

type delta struct {
	Type        string  `json:"type"`
	Text        *string `json:"text,omitempty"`
	Thinking    *string `json:"thinking,omitempty"`
	PartialJSON *string `json:"partial_json,omitempty"`
}

type blockStop struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
}

type messageDelta struct {
	Type  string    `json:"type"`
	Delta stopDelta `json:"delta"`
	Usage usage     `json:"usage"`
}

type stopDelta struct {
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

// appendEvent appends one event: its `event:` line, then v as its data.
func appendEvent(buf []byte, name string, v any) []byte {
	data, err := providers.MarshalJSON(v)
	if err != nil { // cannot happen for these field types
		return buf
	}
	buf = append(buf, "event: "...)
	buf = append(buf, name...)
	buf = append(buf, '\n')
	return inbound.AppendData(buf, data)
}

// Interface guards
var _ inbound.StreamEncoder = (*eventStream)(nil)
