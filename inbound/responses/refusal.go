package responses

import "github.com/llmgateway/caddy-llm-gateway/providers/translate"

// A chat stream's `delta.refusal` becomes a message whose one content
// part is a refusal, streamed as OpenAI streams one:
// response.output_item.added, response.content_part.added (an empty
// refusal part), response.refusal.delta events, then
// response.refusal.done, response.content_part.done and
// response.output_item.done.

// refusalPartEvent is response.content_part.added or .done of a refusal.
type refusalPartEvent struct {
	head
	ItemID       string       `json:"item_id"`
	OutputIndex  int          `json:"output_index"`
	ContentIndex int          `json:"content_index"`
	Part         *refusalPart `json:"part"`
}

// refusalDoneEvent is response.refusal.done.
type refusalDoneEvent struct {
	head
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Refusal      string `json:"refusal"`
}

// refusalDelta streams a refusal, opening its message first.
func (s *events) refusalDelta(buf []byte, delta string) []byte {
	if s.refusal == nil {
		buf = s.closeAll(buf)
		it := &openItem{index: len(s.r.Output), id: translate.NewID("msg_")}
		s.refusal = it
		item := &messageItem{ID: it.id, Type: "message", Status: statusInProgress, Role: "assistant", Content: []any{}}
		s.r.Output = append(s.r.Output, item)
		buf = s.append(buf, &itemEvent{head: typed("response.output_item.added"), OutputIndex: it.index, Item: item})
		buf = s.append(buf, &refusalPartEvent{head: typed("response.content_part.added"), ItemID: it.id, OutputIndex: it.index,
			Part: &refusalPart{Type: "refusal"}})
	}
	s.refusal.text.WriteString(delta)
	return s.appendDelta(buf, "response.refusal.delta", s.refusal, `,"content_index":0`, delta)
}

// closeRefusal finishes the open refusal's message.
func (s *events) closeRefusal(buf []byte) []byte {
	it := s.refusal
	if it == nil {
		return buf
	}
	item, part := s.endRefusal(statusCompleted)
	buf = s.append(buf, &refusalDoneEvent{head: typed("response.refusal.done"), ItemID: it.id, OutputIndex: it.index, Refusal: part.Refusal})
	buf = s.append(buf, &refusalPartEvent{head: typed("response.content_part.done"), ItemID: it.id, OutputIndex: it.index, Part: part})
	return s.append(buf, &itemEvent{head: typed("response.output_item.done"), OutputIndex: it.index, Item: item})
}

// endRefusal puts the open refusal, as far as it came, into its message,
// which ends with status unless the response is incomplete.
func (s *events) endRefusal(status string) (*messageItem, *refusalPart) {
	it := s.refusal
	s.refusal = nil
	part := &refusalPart{Type: "refusal", Refusal: it.text.String()}
	item := s.r.Output[it.index].(*messageItem)
	if s.r.Status == statusIncomplete {
		status = statusIncomplete
	}
	item.Content, item.Status = []any{part}, status
	return item, part
}
