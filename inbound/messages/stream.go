package messages

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
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
	buf = appendMember(append(buf, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"...), "", reason)
	buf = append(buf, `,"stop_sequence":`...)
	if sequence == nil {
		buf = append(buf, "null"...)
	} else {
		buf = appendMember(buf, "", *sequence)
	}
	buf = s.usage.toUsage().appendJSON(append(buf, `},"usage":`...))
	return append(buf, "}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
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
	buf = appendMember(buf, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":", newMessageID())
	buf = appendMember(buf, `,"type":"message","role":"assistant","model":`, s.model)
	buf = append(buf, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	buf = s.usage.toUsage().appendJSON(buf)
	return append(buf, "}}\n\n"...)
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
	buf = s.closeBlock(buf)
	s.open = kind
	buf = strconv.AppendInt(append(buf, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":"...), int64(s.index), 10)
	return append(buf, `,"content_block":{"type":"text","text":""}}`+"\n\n"...)
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
	buf = strconv.AppendInt(append(buf, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":"...), int64(s.index), 10)
	buf = append(buf, "}\n\n"...)
	s.open = noBlock
	s.index++
	return buf
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

// The events every stream sends once, and those of its text blocks, are
// written by hand, the same JSON appendEvent makes of them.

// appendMember appends head, the JSON up to a string's value, and the
// value s.
func appendMember(buf []byte, head, s string) []byte {
	return translate.AppendJSONStringKeepHTML(append(buf, head...), s)
}

// appendJSON appends u.
func (u usage) appendJSON(buf []byte) []byte {
	buf = strconv.AppendInt(append(buf, `{"input_tokens":`...), int64(u.InputTokens), 10)
	buf = strconv.AppendInt(append(buf, `,"output_tokens":`...), int64(u.OutputTokens), 10)
	buf = strconv.AppendInt(append(buf, `,"cache_creation_input_tokens":`...), int64(u.CacheCreationInputTokens), 10)
	buf = strconv.AppendInt(append(buf, `,"cache_read_input_tokens":`...), int64(u.CacheReadInputTokens), 10)
	return append(buf, '}')
}

// Interface guards
var _ inbound.StreamEncoder = (*eventStream)(nil)
