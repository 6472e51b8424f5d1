package anthropic

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/internal/sse"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// streamEvent is one event of a Messages stream; which members are set
// depends on its type.
type streamEvent struct {
	Type    string `json:"type"`
	Index   int    `json:"index"`
	Message *struct {
		Usage *usage `json:"usage"`
	} `json:"message"`
	ContentBlock *contentBlock `json:"content_block"`
	Delta        *struct {
		Type        string  `json:"type"`
		Text        string  `json:"text"`
		PartialJSON string  `json:"partial_json"`
		Thinking    string  `json:"thinking"`
		StopReason  *string `json:"stop_reason"`
	} `json:"delta"`
	Usage *usage       `json:"usage"`
	Error *nativeError `json:"error"`
}

// blockKind says what a content block of the stream becomes.
type blockKind uint8

const (
	ignoredBlock  blockKind = iota // redacted thinking, server tools, ...
	textBlock                      // content
	thinkingBlock                  // reasoning_content
	toolBlock                      // a tool call
	jsonBlock                      // the response_format tool: content
)

type blockState struct {
	kind blockKind
	tool int  // the call's position in tool_calls
	args bool // some argument text was sent
}

// stream translates one Messages event stream into OpenAI chunks.
type stream struct {
	answer   translate.Answer
	events   *sse.Reader
	jsonTool string

	started    bool
	blocks     map[int]*blockState // by Anthropic's block index
	tools      int
	stopReason string
	usage      usage
}

func newStream(answer translate.Answer, events *sse.Reader, jsonTool string) *stream {
	return &stream{answer: answer, events: events, jsonTool: jsonTool, blocks: make(map[int]*blockState, 4)}
}

// badEvent reports an event that is not what Anthropic sends.
func badEvent() *providers.Error {
	return providers.NewError(http.StatusBadGateway, "upstream_error", "the upstream sent a malformed stream event")
}

// pull reads one event and pushes the chunks it makes.
func (s *stream) pull(out *translate.Stream) error {
	ev, err := s.events.Next()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// Anthropic always ends with message_stop.
			return providers.ErrTruncated
		}
		return err
	}
	if string(ev.Name) == "content_block_delta" {
		if d, ok := parseContentDelta(ev.Data); ok {
			s.delta(out, d.index, d.typ, d.text, d.partial, d.reasoning)
			return nil
		}
	}
	var e streamEvent
	if json.Unmarshal(ev.Data, &e) != nil {
		// The reader hands over an event cut off by the end of the body
		// before reporting the end: that is truncation, not a bad event.
		if _, err := s.events.Next(); errors.Is(err, io.EOF) {
			return providers.ErrTruncated
		}
		return badEvent()
	}
	if e.Type == "" {
		e.Type = string(ev.Name)
	}
	switch e.Type {
	case "message_start":
		s.start(out)
		if e.Message != nil {
			s.usage.merge(e.Message.Usage)
		}
	case "content_block_start":
		s.start(out)
		if e.ContentBlock != nil {
			s.openBlock(out, e.Index, e.ContentBlock)
		}
	case "content_block_delta":
		if e.Delta != nil {
			s.delta(out, e.Index, e.Delta.Type, e.Delta.Text, e.Delta.PartialJSON, e.Delta.Thinking)
		}
	case "content_block_stop":
		s.closeBlock(out, e.Index)
	case "message_delta":
		if e.Delta != nil && e.Delta.StopReason != nil {
			s.stopReason = *e.Delta.StopReason
		}
		s.usage.merge(e.Usage)
	case "message_stop":
		s.start(out)
		out.Push(s.answer.FinishChunk(0, finishReason(s.stopReason, s.jsonTool != "")))
		out.Push(s.answer.UsageChunk(s.usage.openAI()))
		return io.EOF
	case "error":
		if e.Error == nil {
			return badEvent()
		}
		return e.Error.toError(0)
	}
	// ping, and event types newer than this code, carry nothing to relay.
	return nil
}

// start sends the role chunk before anything else of the choice.
func (s *stream) start(out *translate.Stream) {
	if !s.started {
		s.started = true
		out.Push(s.answer.RoleChunk(0))
	}
}

func (s *stream) openBlock(out *translate.Stream, index int, b *contentBlock) {
	st := &blockState{}
	s.blocks[index] = st
	switch b.Type {
	case "text":
		st.kind = textBlock
		if b.Text != "" {
			out.Push(s.answer.TextChunk(0, b.Text))
		}
	case "thinking":
		st.kind = thinkingBlock
		if b.Thinking != "" {
			out.Push(s.answer.ReasoningChunk(0, b.Thinking))
		}
	case "tool_use":
		if s.jsonTool != "" && b.Name == s.jsonTool {
			st.kind = jsonBlock
			return
		}
		// The block's "input":{} is a placeholder, not arguments: the
		// arguments arrive as input_json_delta fragments.
		st.kind, st.tool = toolBlock, s.tools
		s.tools++
		out.Push(s.answer.ToolCallStart(0, st.tool, b.ID, b.Name, ""))
	}
}

func (s *stream) delta(out *translate.Stream, index int, typ, text, partialJSON, thought string) {
	st := s.blocks[index]
	if st == nil {
		return
	}
	switch {
	case typ == "text_delta" && st.kind == textBlock && text != "":
		out.Push(s.answer.TextChunk(0, text))
	case typ == "thinking_delta" && st.kind == thinkingBlock && thought != "":
		out.Push(s.answer.ReasoningChunk(0, thought))
	case typ == "input_json_delta" && partialJSON != "":
		switch st.kind {
		case toolBlock:
			st.args = true
			out.Push(s.answer.ToolCallArguments(0, st.tool, partialJSON))
		case jsonBlock:
			st.args = true
			out.Push(s.answer.TextChunk(0, partialJSON))
		}
	}
	// signature_delta and citations_delta have no OpenAI form.
}

// closeBlock gives a call without parameters its "{}": a tool that takes
// none may stream no argument text at all.
func (s *stream) closeBlock(out *translate.Stream, index int) {
	st := s.blocks[index]
	if st == nil || st.args {
		return
	}
	switch st.kind {
	case toolBlock:
		out.Push(s.answer.ToolCallArguments(0, st.tool, "{}"))
	case jsonBlock:
		out.Push(s.answer.TextChunk(0, "{}"))
	}
	st.args = true
}
