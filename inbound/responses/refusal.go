package responses

// A chat stream's `delta.refusal` becomes a message whose one content
// part is a refusal, streamed as OpenAI streams one:
// response.output_item.added, response.content_part.added (an empty
// refusal part), response.refusal.delta events, then
// response.refusal.done, response.content_part.done and
// response.output_item.done.

// refusalDelta streams a refusal, opening its message first.
func (s *events) refusalDelta(buf []byte, delta string) []byte {
	if s.refusal == nil {
		buf = s.closeAll(buf)
		it := s.newItem("msg_")
		s.refusal = it
		item := &messageItem{ID: it.id, Type: "message", Status: statusInProgress, Role: "assistant", Content: []any{}}
		s.opened(item)
		buf = s.appendItemEvent(buf, "response.output_item.added", it, item)
		buf = s.appendRefusalPart(buf, "response.content_part.added", it, &refusalPart{Type: "refusal"})
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
	buf = s.appendHead(buf, "response.refusal.done")
	buf = append(buf, it.ref...)
	buf = appendMember(buf, `,"content_index":0,"refusal":`, part.Refusal)
	buf = append(buf, "}\n\n"...)
	buf = s.appendRefusalPart(buf, "response.content_part.done", it, part)
	return s.appendItemEvent(buf, "response.output_item.done", it, item)
}

// appendRefusalPart appends content_part.added or .done for the refusal
// it.
func (s *events) appendRefusalPart(buf []byte, typ string, it *openItem, part *refusalPart) []byte {
	buf = s.appendHead(buf, typ)
	buf = append(buf, it.ref...)
	buf = append(buf, `,"content_index":0,"part":`...)
	buf = part.appendJSON(buf)
	return append(buf, "}\n\n"...)
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
