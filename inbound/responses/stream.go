package responses

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// chunkDelta is what the door reads of a chat.completion.chunk: its
// first choice's delta and finish reason, and its usage. It is read with
// jsonscan rather than decoded, as it comes once a token.
type chunkDelta struct {
	// content is the text as the chunk writes it, a JSON string: it goes
	// into the text delta event as it is.
	content      []byte
	refusal      string
	reasoning    string
	toolCalls    []toolCallDelta
	finishReason string
	usage        *chatUsage
}

// toolCallDelta is a piece of a streamed tool call.
type toolCallDelta struct {
	Index    int          `json:"index"`
	ID       string       `json:"id"`
	Function chatFunction `json:"function"`
}

// readChunk reads a chunk; what it cannot read stays empty.
func readChunk(chunk []byte) chunkDelta {
	var d chunkDelta
	var choices, delta []byte
	_ = jsonscan.Members(chunk, func(key []byte, start, end int) bool {
		switch raw := chunk[start:end]; string(key) {
		case "choices":
			choices = raw
		case "usage":
			var u chatUsage
			if !jsonscan.IsNull(raw) && json.Unmarshal(raw, &u) == nil {
				d.usage = &u
			}
		}
		return true
	})
	choice, ok := firstElement(choices)
	if !ok {
		return d
	}
	_ = jsonscan.Members(choice, func(key []byte, start, end int) bool {
		switch raw := choice[start:end]; string(key) {
		case "delta":
			delta = raw
		case "finish_reason":
			d.finishReason, _ = jsonscan.String(raw)
		}
		return true
	})
	_ = jsonscan.Members(delta, func(key []byte, start, end int) bool {
		switch raw := delta[start:end]; string(key) {
		case "content":
			if len(raw) > 0 && raw[0] == '"' {
				d.content = raw
			}
		case "refusal":
			d.refusal, _ = jsonscan.String(raw)
		case "reasoning_content", "reasoning": // how some OpenAI-compatible servers name it
			r, _ := jsonscan.String(raw)
			d.reasoning += r
		case "tool_calls":
			var calls []toolCallDelta
			if json.Unmarshal(raw, &calls) == nil {
				d.toolCalls = calls
			}
		}
		return true
	})
	return d
}

// firstElement is the first value of a JSON array.
func firstElement(arr []byte) ([]byte, bool) {
	i := bytes.IndexByte(arr, '[')
	if i < 0 {
		return nil, false
	}
	start := i + 1
	for start < len(arr) && (arr[start] == ' ' || arr[start] == '\n' || arr[start] == '\r' || arr[start] == '\t') {
		start++
	}
	if start >= len(arr) || arr[start] == ']' {
		return nil, false
	}
	end, err := jsonscan.Skip(arr, start)
	if err != nil {
		return nil, false
	}
	return arr[start:end], true
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
	refusal   *openItem
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
	d := readChunk(chunk)
	if d.usage != nil {
		s.usage = d.usage
	}
	if d.reasoning != "" {
		buf = s.reasoningDelta(buf, d.reasoning)
	}
	if len(d.content) > 2 { // not ""
		buf = s.textDelta(buf, d.content)
	}
	if d.refusal != "" {
		buf = s.refusalDelta(buf, d.refusal)
	}
	for _, tc := range d.toolCalls {
		buf = s.callDelta(buf, tc.Index, tc.ID, tc.Function)
	}
	if d.finishReason != "" {
		s.finishReason = d.finishReason
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
	body := s.response()
	s.t.keep(s.r, body)
	return s.appendResponse(buf, end, body)
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
	if s.refusal != nil {
		s.endRefusal(statusIncomplete)
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
	return s.appendResponse(buf, "response.failed", s.response())
}

// begin writes response.created and response.in_progress, once.
func (s *events) begin(buf []byte) []byte {
	if s.started {
		return buf
	}
	s.started = true
	body := s.response()
	buf = s.appendResponse(buf, "response.created", body)
	return s.appendResponse(buf, "response.in_progress", body)
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
	return s.appendDelta(buf, "response.reasoning_summary_text.delta", s.reasoning, `,"summary_index":0`, delta)
}

// textDelta streams text, a JSON string, as a message's output_text.
func (s *events) textDelta(buf, quoted []byte) []byte {
	if s.message == nil {
		buf = s.closeAll(buf)
		it := &openItem{index: len(s.r.Output), id: translate.NewID("msg_")}
		s.message = it
		item := &messageItem{ID: it.id, Type: "message", Status: statusInProgress, Role: "assistant", Content: []any{}}
		s.r.Output = append(s.r.Output, item)
		buf = s.append(buf, &itemEvent{head: typed("response.output_item.added"), OutputIndex: it.index, Item: item})
		buf = s.append(buf, &partEvent{head: typed("response.content_part.added"), ItemID: it.id, OutputIndex: it.index, Part: newText("")})
	}
	if body := quoted[1 : len(quoted)-1]; bytes.IndexByte(body, '\\') < 0 {
		s.message.text.Write(body)
	} else {
		text, _ := jsonscan.String(quoted)
		s.message.text.WriteString(text)
	}
	buf = s.appendDeltaHead(buf, "response.output_text.delta", s.message, `,"content_index":0`)
	buf = append(buf, quoted...)
	return append(buf, `,"logprobs":[]}`+"\n\n"...)
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
	return s.appendDelta(buf, "response.function_call_arguments.delta", it, "", fn.Arguments)
}

// closeAll finishes the open item.
func (s *events) closeAll(buf []byte) []byte {
	buf = s.closeText(buf)
	if it := s.call; it != nil {
		s.call = nil
		args := it.text.String()
		it.call.Arguments, it.call.Status = args, statusCompleted
		buf = s.append(buf, &argumentsEvent{head: typed("response.function_call_arguments.done"), ItemID: it.id, OutputIndex: it.index,
			Name: it.call.Name, Arguments: args})
		buf = s.append(buf, &itemEvent{head: typed("response.output_item.done"), OutputIndex: it.index, Item: it.call})
	}
	return buf
}

// closeText finishes the open reasoning, message and refusal.
func (s *events) closeText(buf []byte) []byte {
	if it := s.reasoning; it != nil {
		s.reasoning = nil
		summary := it.text.String()
		part := summaryText{Type: "summary_text", Text: summary}
		item := s.r.Output[it.index].(*reasoningItem)
		item.Summary = []summaryText{part}
		buf = s.append(buf, &summaryTextEvent{head: typed("response.reasoning_summary_text.done"), ItemID: it.id, OutputIndex: it.index, Text: summary})
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
		buf = s.append(buf, &textEvent{head: typed("response.output_text.done"), ItemID: it.id, OutputIndex: it.index, Text: text, Logprobs: []any{}})
		buf = s.append(buf, &partEvent{head: typed("response.content_part.done"), ItemID: it.id, OutputIndex: it.index, Part: part})
		buf = s.append(buf, &itemEvent{head: typed("response.output_item.done"), OutputIndex: it.index, Item: item})
	}
	return s.closeRefusal(buf)
}

// response is the response as it stands, encoded.
func (s *events) response() []byte {
	body, err := providers.MarshalJSON(s.r)
	if err != nil { // cannot happen for these types
		return []byte("null")
	}
	return body
}

// appendResponse appends a lifecycle event, which carries the response,
// encoded as body; written by hand, as the same body goes into several.
func (s *events) appendResponse(buf []byte, typ string, body []byte) []byte {
	buf = s.appendHead(buf, typ)
	buf = append(buf, `,"response":`...)
	buf = append(buf, body...)
	return append(buf, "}\n\n"...)
}

// appendHead numbers the next event, of type typ, and appends its
// `event:` line and the beginning of its data, up to sequence_number.
func (s *events) appendHead(buf []byte, typ string) []byte {
	buf = append(buf, "event: "...)
	buf = append(buf, typ...)
	buf = append(buf, "\ndata: {\"type\":\""...)
	buf = append(buf, typ...)
	buf = append(buf, `","sequence_number":`...)
	buf = strconv.AppendInt(buf, int64(s.seq), 10)
	s.seq++
	return buf
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

// appendDelta appends a delta event of the open item it, the event that
// comes once a token: written by hand, the same JSON the event types
// encode to, without reflection. index is the event's members between
// output_index and delta.
func (s *events) appendDelta(buf []byte, typ string, it *openItem, index, delta string) []byte {
	buf = s.appendDeltaHead(buf, typ, it, index)
	buf = translate.AppendJSONString(buf, delta)
	return append(buf, "}\n\n"...)
}

// appendDeltaHead appends a delta event up to its delta's value.
func (s *events) appendDeltaHead(buf []byte, typ string, it *openItem, index string) []byte {
	buf = s.appendHead(buf, typ)
	buf = append(buf, `,"item_id":`...)
	buf = translate.AppendJSONString(buf, it.id)
	buf = append(buf, `,"output_index":`...)
	buf = strconv.AppendInt(buf, int64(it.index), 10)
	buf = append(buf, index...)
	return append(buf, `,"delta":`...)
}

// Interface guards
var _ inbound.StreamEncoder = (*events)(nil)
