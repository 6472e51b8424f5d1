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
// first choice's delta and finish reason, and its usage.
type chunkDelta struct {
	// content is the text as the chunk writes it, a JSON string: it goes
	// into the text delta event as it is.
	content      []byte
	refusal      string
	reasoning    string
	toolCalls    []toolCallDelta
	finishReason string
	usage        *chatUsage
	// contents counts the content members read, and others the other
	// members of the delta, choice and chunk read, but null ones.
	contents, others int
}

// toolCallDelta is a piece of a streamed tool call.
type toolCallDelta struct {
	Index    int          `json:"index"`
	ID       string       `json:"id"`
	Function chatFunction `json:"function"`
}

// read takes in one member of a chunk, as inbound.ReadChunk finds it;
// what it cannot read stays empty.
func (d *chunkDelta) read(at inbound.ChunkLevel, key, value []byte) {
	switch at {
	case inbound.InChunk:
		if string(key) == "usage" && !jsonscan.IsNull(value) {
			d.others++
			if u, ok := readUsage(value); ok {
				d.usage = u
			}
		}
	case inbound.InChoice:
		if string(key) == "finish_reason" {
			d.finishReason, _ = jsonscan.String(value)
			if d.finishReason != "" {
				d.others++
			}
		}
	case inbound.InDelta:
		switch string(key) {
		case "content":
			if len(value) > 0 && value[0] == '"' {
				d.content = value
				d.contents++
			}
		case "refusal":
			if d.refusal, _ = jsonscan.String(value); d.refusal != "" {
				d.others++
			}
		case "reasoning_content", "reasoning": // how some OpenAI-compatible servers name it
			if r, _ := jsonscan.String(value); r != "" {
				d.reasoning += r
				d.others++
			}
		case "tool_calls":
			var calls []toolCallDelta
			if json.Unmarshal(value, &calls) == nil {
				d.toolCalls = calls
			}
			if !jsonscan.IsNull(value) {
				d.others++
			}
		}
	}
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
	// texts reads the chunks that repeat an earlier one but for its text.
	texts inbound.TextChunks

	// The item being streamed: at most one of these is set.
	reasoning *openItem
	message   *openItem
	refusal   *openItem
	call      *openItem
	// calls are the function calls by their index in the chat stream.
	calls map[int]*openItem
	// done holds the output items ended, encoded, by output index.
	done []json.RawMessage
	// scratch is where an item is encoded before it is kept.
	scratch []byte

	finishReason string
	usage        *chatUsage
}

// openItem is an output item still being streamed.
type openItem struct {
	index int
	id    string
	// ref is the members that name the item in its events: item_id and
	// output_index.
	ref  []byte
	text strings.Builder // the summary, text or arguments so far
	call *functionCallItem
}

// newItem is the output item of the next output index.
func (s *events) newItem(prefix string) *openItem {
	it := &openItem{index: len(s.r.Output), id: translate.NewID(prefix)}
	// Enough for the text of most answers.
	it.text.Grow(512)
	it.ref = translate.AppendJSONString(append(make([]byte, 0, 64), `,"item_id":`...), it.id)
	it.ref = strconv.AppendInt(append(it.ref, `,"output_index":`...), int64(it.index), 10)
	return it
}

func (s *events) Chunk(buf, chunk []byte) []byte {
	buf = s.begin(buf)
	if text, ok := s.texts.Text(chunk); ok {
		if len(text) > len(`""`) {
			buf = s.textDelta(buf, text)
		}
		return buf
	}
	var d chunkDelta
	choices, ok := inbound.ReadChunk(chunk, d.read)
	if ok && choices == 1 && d.contents == 1 && d.others == 0 {
		s.texts.Learn(chunk, d.content)
	}
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
	buf, body := s.appendResponse(buf, end)
	s.t.keep(s.r.ID, body, s.done)
	return buf
}

// Fail ends the stream with response.failed, its output as far as it
// came; the item still open is incomplete.
func (s *events) Fail(buf []byte, e *providers.Error) []byte {
	buf = s.begin(buf)
	if it := s.message; it != nil {
		item := s.r.Output[it.index].(*messageItem)
		item.Status, item.Content = statusIncomplete, []any{newText(it.text.String())}
		s.ended(it.index)
	}
	if it := s.call; it != nil {
		it.call.Status, it.call.Arguments = statusIncomplete, it.text.String()
		s.ended(it.index)
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
	buf, _ = s.appendResponse(buf, "response.failed")
	return buf
}

// begin writes response.created and response.in_progress, once.
func (s *events) begin(buf []byte) []byte {
	if s.started {
		return buf
	}
	s.started = true
	buf, _ = s.appendResponse(buf, "response.created")
	buf, _ = s.appendResponse(buf, "response.in_progress")
	return buf
}

// reasoningDelta streams reasoning as the summary of a reasoning item.
func (s *events) reasoningDelta(buf []byte, delta string) []byte {
	if s.reasoning == nil {
		buf = s.closeAll(buf)
		it := s.newItem("rs_")
		s.reasoning = it
		item := &reasoningItem{ID: it.id, Type: "reasoning", Summary: []summaryText{}}
		s.opened(item)
		buf = s.appendItemEvent(buf, "response.output_item.added", it, item)
		buf = s.appendSummaryPart(buf, "response.reasoning_summary_part.added", it, summaryText{Type: "summary_text"})
	}
	s.reasoning.text.WriteString(delta)
	return s.appendDelta(buf, "response.reasoning_summary_text.delta", s.reasoning, `,"summary_index":0`, delta)
}

// textDelta streams text, a JSON string, as a message's output_text.
func (s *events) textDelta(buf, quoted []byte) []byte {
	if s.message == nil {
		buf = s.closeAll(buf)
		it := s.newItem("msg_")
		s.message = it
		item := &messageItem{ID: it.id, Type: "message", Status: statusInProgress, Role: "assistant", Content: []any{}}
		s.opened(item)
		buf = s.appendItemEvent(buf, "response.output_item.added", it, item)
		buf = s.appendPart(buf, "response.content_part.added", it, newText(""))
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
		it = s.newItem("fc_")
		it.call = &functionCallItem{ID: it.id, Type: "function_call", Status: statusInProgress, CallID: id, Name: fn.Name}
		if s.calls == nil {
			s.calls = make(map[int]*openItem)
		}
		s.calls[index], s.call = it, it
		s.opened(it.call)
		buf = s.appendItemEvent(buf, "response.output_item.added", it, it.call)
	}
	if fn.Arguments == "" {
		return buf
	}
	if it != s.call {
		it.call.Arguments += fn.Arguments
		s.done[it.index] = nil // to be encoded again, with them
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
		buf = s.appendHead(buf, "response.function_call_arguments.done")
		buf = append(buf, it.ref...)
		buf = appendMember(buf, `,"name":`, it.call.Name)
		buf = appendMember(buf, `,"arguments":`, args)
		buf = append(buf, "}\n\n"...)
		buf = s.appendItemEvent(buf, "response.output_item.done", it, it.call)
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
		buf = s.appendHead(buf, "response.reasoning_summary_text.done")
		buf = append(buf, it.ref...)
		buf = appendMember(buf, `,"summary_index":0,"text":`, summary)
		buf = append(buf, "}\n\n"...)
		buf = s.appendSummaryPart(buf, "response.reasoning_summary_part.done", it, part)
		buf = s.appendItemEvent(buf, "response.output_item.done", it, item)
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
		buf = s.appendHead(buf, "response.output_text.done")
		buf = append(buf, it.ref...)
		buf = appendMember(buf, `,"content_index":0,"text":`, text)
		buf = append(buf, `,"logprobs":[]}`+"\n\n"...)
		buf = s.appendPart(buf, "response.content_part.done", it, part)
		buf = s.appendItemEvent(buf, "response.output_item.done", it, item)
	}
	return s.closeRefusal(buf)
}

// opened adds an output item, still to be encoded.
func (s *events) opened(item any) {
	s.r.Output = append(s.r.Output, item)
	s.done = append(s.done, nil)
}

// ended encodes output item i as it stands.
func (s *events) ended(i int) json.RawMessage {
	if s.scratch == nil {
		s.scratch = make([]byte, 0, 1<<10)
	}
	s.scratch = appendOutputItem(s.scratch[:0], s.r.Output[i])
	s.done[i] = bytes.Clone(s.scratch)
	return s.done[i]
}

// appendResponse appends a lifecycle event, which carries the response
// as it stands, its output items encoded once; body is the response
// within buf.
func (s *events) appendResponse(buf []byte, typ string) (_, body []byte) {
	for i, raw := range s.done {
		if raw == nil {
			s.ended(i)
		}
	}
	buf = append(s.appendHead(buf, typ), `,"response":`...)
	start := len(buf)
	buf = s.r.appendJSON(buf, s.done)
	body = buf[start:]
	return append(buf, "}\n\n"...), body
}

// appendItemEvent appends output_item.added or .done for it, whose item
// is encoded as it stands; an ended one is kept encoded.
func (s *events) appendItemEvent(buf []byte, typ string, it *openItem, item any) []byte {
	buf = s.appendHead(buf, typ)
	buf = strconv.AppendInt(append(buf, `,"output_index":`...), int64(it.index), 10)
	buf = append(buf, `,"item":`...)
	if typ == "response.output_item.done" {
		buf = append(buf, s.ended(it.index)...)
	} else {
		buf = appendOutputItem(buf, item)
	}
	return append(buf, "}\n\n"...)
}

// appendPart appends content_part.added or .done for the message it.
func (s *events) appendPart(buf []byte, typ string, it *openItem, part *outputText) []byte {
	buf = s.appendHead(buf, typ)
	buf = append(buf, it.ref...)
	buf = append(buf, `,"content_index":0,"part":`...)
	buf = part.appendJSON(buf)
	return append(buf, "}\n\n"...)
}

// appendSummaryPart appends reasoning_summary_part.added or .done for
// the reasoning it.
func (s *events) appendSummaryPart(buf []byte, typ string, it *openItem, part summaryText) []byte {
	buf = s.appendHead(buf, typ)
	buf = append(buf, it.ref...)
	buf = append(buf, `,"summary_index":0,"part":`...)
	buf = part.appendJSON(buf)
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

// appendDelta appends a delta event of the open item it, the event that
// comes once a token. index is the event's members between output_index
// and delta.
func (s *events) appendDelta(buf []byte, typ string, it *openItem, index, delta string) []byte {
	buf = s.appendDeltaHead(buf, typ, it, index)
	buf = translate.AppendJSONString(buf, delta)
	return append(buf, "}\n\n"...)
}

// appendDeltaHead appends a delta event up to its delta's value.
func (s *events) appendDeltaHead(buf []byte, typ string, it *openItem, index string) []byte {
	buf = s.appendHead(buf, typ)
	buf = append(buf, it.ref...)
	buf = append(buf, index...)
	return append(buf, `,"delta":`...)
}

// Interface guards
var _ inbound.StreamEncoder = (*events)(nil)
