package responses

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// chatChunk is what the door reads of a chat.completion.chunk.
type chatChunk struct {
	Choices []struct {
		Delta struct {
			Content          string `json:"content"`
			ReasoningContent string `json:"reasoning_content"`
			// Reasoning is how some OpenAI-compatible servers name
			// reasoning_content.
			Reasoning string `json:"reasoning"`
			ToolCalls []struct {
				Index    int          `json:"index"`
				ID       string       `json:"id"`
				Function chatFunction `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *chatUsage `json:"usage"`
}

// events renders a chat stream as the Responses event stream, in
// OpenAI's order: response.created and response.in_progress; for each
// output item its output_item.added, its content as it comes (a
// reasoning summary's part and text events, a message's content part and
// text deltas, a function call's argument deltas), its .done events and
// output_item.done; then response.completed, or response.incomplete when
// the answer was cut by max_output_tokens or a content filter. A stream
// cut by its upstream ends with response.failed. Each event is an
// `event:` line and a `data:` line, numbered by sequence_number from 0.
type events struct {
	r       *response
	t       *translator // keeps the response once answered
	seq     int
	started bool

	// The item being streamed: at most one of these is set.
	reasoning *openItem
	message   *openItem
	call      *openItem
	// calls are the function calls by their index in the chat stream.
	calls map[int]*openItem

	finishReason string
	usage        *chatUsage
}

// openItem is an output item still being streamed.
type openItem struct {
	index int
	id    string
	text  strings.Builder // the summary, text or arguments so far
	call  *functionCallItem
}

func (s *events) Chunk(buf, chunk []byte) []byte {
	buf = s.begin(buf)
	var c chatChunk
	if json.Unmarshal(chunk, &c) != nil {
		return buf
	}
	if c.Usage != nil {
		s.usage = c.Usage
	}
	if len(c.Choices) == 0 {
		return buf
	}
	ch := &c.Choices[0]
	d := &ch.Delta
	if reasoning := d.ReasoningContent + d.Reasoning; reasoning != "" {
		buf = s.reasoningDelta(buf, reasoning)
	}
	if d.Content != "" {
		buf = s.textDelta(buf, d.Content)
	}
	for _, tc := range d.ToolCalls {
		buf = s.callDelta(buf, tc.Index, tc.ID, tc.Function)
	}
	if ch.FinishReason != nil && *ch.FinishReason != "" {
		s.finishReason = *ch.FinishReason
	}
	return buf
}

func (s *events) End(buf []byte) []byte {
	buf = s.begin(buf)
	s.r.finish(s.finishReason, time.Now().Unix())
	buf = s.closeAll(buf)
	if s.usage != nil {
		s.r.Usage = s.usage.responseUsage()
	}
	end := "response.completed"
	if s.r.Status == statusIncomplete {
		end = "response.incomplete"
	}
	if body, err := providers.MarshalJSON(s.r); err == nil {
		s.t.keep(s.r, body)
	}
	return s.appendResponse(buf, end)
}

// Fail ends the stream with response.failed, its output as far as it
// came; the item still open is incomplete.
func (s *events) Fail(buf []byte, e *providers.Error) []byte {
	buf = s.begin(buf)
	if it := s.message; it != nil {
		item := s.r.Output[it.index].(*messageItem)
		item.Status, item.Content = statusIncomplete, []any{newText(it.text.String())}
	}
	if it := s.call; it != nil {
		it.call.Status, it.call.Arguments = statusIncomplete, it.text.String()
	}
	code := "server_error"
	if e.Status == http.StatusTooManyRequests {
		code = "rate_limit_exceeded"
	}
	// A failed response is not kept.
	s.r.Status, s.r.Error, s.r.Store = statusFailed, &responseError{Code: code, Message: e.Message}, false
	if s.usage != nil {
		s.r.Usage = s.usage.responseUsage()
	}
	return s.appendResponse(buf, "response.failed")
}

// begin writes response.created and response.in_progress, once.
func (s *events) begin(buf []byte) []byte {
	if s.started {
		return buf
	}
	s.started = true
	buf = s.appendResponse(buf, "response.created")
	return s.appendResponse(buf, "response.in_progress")
}

// reasoningDelta streams reasoning as the summary of a reasoning item.
func (s *events) reasoningDelta(buf []byte, delta string) []byte {
	if s.reasoning == nil {
		buf = s.closeAll(buf)
		it := &openItem{index: len(s.r.Output), id: translate.NewID("rs_")}
		s.reasoning = it
		item := &reasoningItem{ID: it.id, Type: "reasoning", Summary: []summaryText{}}
		s.r.Output = append(s.r.Output, item)
		buf = s.append(buf, &itemEvent{head: typed("response.output_item.added"), OutputIndex: it.index, Item: item})
		buf = s.append(buf, &summaryPartEvent{head: typed("response.reasoning_summary_part.added"), ItemID: it.id, OutputIndex: it.index,
			Part: summaryText{Type: "summary_text"}})
	}
	s.reasoning.text.WriteString(delta)
	return s.append(buf, &summaryTextEvent{head: typed("response.reasoning_summary_text.delta"), ItemID: s.reasoning.id,
		OutputIndex: s.reasoning.index, Delta: &delta})
}

// textDelta streams text as a message's output_text.
func (s *events) textDelta(buf []byte, delta string) []byte {
	if s.message == nil {
		buf = s.closeAll(buf)
		it := &openItem{index: len(s.r.Output), id: translate.NewID("msg_")}
		s.message = it
		item := &messageItem{ID: it.id, Type: "message", Status: statusInProgress, Role: "assistant", Content: []any{}}
		s.r.Output = append(s.r.Output, item)
		buf = s.append(buf, &itemEvent{head: typed("response.output_item.added"), OutputIndex: it.index, Item: item})
		buf = s.append(buf, &partEvent{head: typed("response.content_part.added"), ItemID: it.id, OutputIndex: it.index, Part: newText("")})
	}
	s.message.text.WriteString(delta)
	return s.append(buf, &textEvent{head: typed("response.output_text.delta"), ItemID: s.message.id, OutputIndex: s.message.index,
		Delta: &delta, Logprobs: []any{}})
}

// callDelta streams a function call. A call begins with the first delta
// of its chat index, which carries its id and name, and ends the one
// before it, as OpenAI streams calls one after the other. A delta for a
// call already ended (a stream that interleaves its calls) still reaches
// the call's arguments in the final response, without an event of its
// own.
func (s *events) callDelta(buf []byte, index int, id string, fn chatFunction) []byte {
	it, ok := s.calls[index]
	if !ok {
		buf = s.closeAll(buf)
		if id == "" {
			id = translate.NewID("call_")
		}
		it = &openItem{index: len(s.r.Output), id: translate.NewID("fc_")}
		it.call = &functionCallItem{ID: it.id, Type: "function_call", Status: statusInProgress, CallID: id, Name: fn.Name}
		if s.calls == nil {
			s.calls = make(map[int]*openItem)
		}
		s.calls[index], s.call = it, it
		s.r.Output = append(s.r.Output, it.call)
		buf = s.append(buf, &itemEvent{head: typed("response.output_item.added"), OutputIndex: it.index, Item: it.call})
	}
	if fn.Arguments == "" {
		return buf
	}
	if it != s.call {
		it.call.Arguments += fn.Arguments
		return buf
	}
	it.text.WriteString(fn.Arguments)
	return s.append(buf, &argumentsEvent{head: typed("response.function_call_arguments.delta"), ItemID: it.id, OutputIndex: it.index,
		Delta: &fn.Arguments})
}

// closeAll finishes the open item.
func (s *events) closeAll(buf []byte) []byte {
	buf = s.closeText(buf)
	if it := s.call; it != nil {
		s.call = nil
		args := it.text.String()
		it.call.Arguments, it.call.Status = args, statusCompleted
		buf = s.append(buf, &argumentsEvent{head: typed("response.function_call_arguments.done"), ItemID: it.id, OutputIndex: it.index,
			Name: it.call.Name, Arguments: &args})
		buf = s.append(buf, &itemEvent{head: typed("response.output_item.done"), OutputIndex: it.index, Item: it.call})
	}
	return buf
}

// closeText finishes the open reasoning and message.
func (s *events) closeText(buf []byte) []byte {
	if it := s.reasoning; it != nil {
		s.reasoning = nil
		summary := it.text.String()
		part := summaryText{Type: "summary_text", Text: summary}
		item := s.r.Output[it.index].(*reasoningItem)
		item.Summary = []summaryText{part}
		buf = s.append(buf, &summaryTextEvent{head: typed("response.reasoning_summary_text.done"), ItemID: it.id, OutputIndex: it.index, Text: &summary})
		buf = s.append(buf, &summaryPartEvent{head: typed("response.reasoning_summary_part.done"), ItemID: it.id, OutputIndex: it.index, Part: part})
		buf = s.append(buf, &itemEvent{head: typed("response.output_item.done"), OutputIndex: it.index, Item: item})
	}
	if it := s.message; it != nil {
		s.message = nil
		text := it.text.String()
		part := newText(text)
		item := s.r.Output[it.index].(*messageItem)
		item.Content = []any{part}
		status := statusCompleted
		if s.r.Status == statusIncomplete {
			status = statusIncomplete
		}
		item.Status = status
		buf = s.append(buf, &textEvent{head: typed("response.output_text.done"), ItemID: it.id, OutputIndex: it.index, Text: &text, Logprobs: []any{}})
		buf = s.append(buf, &partEvent{head: typed("response.content_part.done"), ItemID: it.id, OutputIndex: it.index, Part: part})
		buf = s.append(buf, &itemEvent{head: typed("response.output_item.done"), OutputIndex: it.index, Item: item})
	}
	return buf
}

// appendResponse appends a lifecycle event, which carries the response.
func (s *events) appendResponse(buf []byte, typ string) []byte {
	return s.append(buf, &responseEvent{head: typed(typ), Response: s.r})
}

// append numbers ev and appends it as an `event:` and a `data:` line.
func (s *events) append(buf []byte, ev sequenced) []byte {
	ev.number(s.seq)
	s.seq++
	body, err := providers.MarshalJSON(ev)
	if err != nil { // cannot happen for these types
		return buf
	}
	buf = append(buf, "event: "...)
	buf = append(buf, ev.eventType()...)
	buf = append(buf, '\n')
	return inbound.AppendData(buf, body)
}

// Interface guards
var _ inbound.StreamEncoder = (*events)(nil)
