package anthropic

import (
	"strconv"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

// contentDelta is a content_block_delta event, nearly every event of a
// stream.
type contentDelta struct {
	index                         int
	typ, text, partial, reasoning string
}

// parseContentDelta reads a content_block_delta event without reflection.
// It reports ok only when it read the event exactly as json.Unmarshal
// into streamEvent would; any other shape (a repeated or differently
// cased member, an escaped key, a null) is left to encoding/json.
func parseContentDelta(data []byte) (d contentDelta, ok bool) {
	var typ, index, delta []byte
	if !jsonscan.EachMember(data, func(key, value []byte) bool {
		switch string(key) {
		case "type":
			return take(&typ, value)
		case "index":
			return take(&index, value)
		case "delta":
			return take(&delta, value)
		}
		return jsonscan.PlainKey(key, "type", "index", "delta")
	}) || string(typ) != `"content_block_delta"` || index == nil || delta == nil {
		return d, false
	}
	n, err := strconv.Atoi(string(index))
	if err != nil {
		return d, false
	}
	d.index = n
	var fields [4][]byte // type, text, partial_json, thinking
	if !jsonscan.EachMember(delta, func(key, value []byte) bool {
		switch string(key) {
		case "type":
			return take(&fields[0], value)
		case "text":
			return take(&fields[1], value)
		case "partial_json":
			return take(&fields[2], value)
		case "thinking":
			return take(&fields[3], value)
		}
		return jsonscan.PlainKey(key, "type", "text", "partial_json", "thinking")
	}) {
		return d, false
	}
	for i, dst := range []*string{&d.typ, &d.text, &d.partial, &d.reasoning} {
		if fields[i] == nil {
			continue
		}
		s, ok := jsonscan.String(fields[i])
		if !ok {
			return d, false
		}
		*dst = s
	}
	return d, true
}

// take stores the first value of a member; a repeated one is refused.
func take(dst *[]byte, value []byte) bool {
	if *dst != nil {
		return false
	}
	*dst = value
	return true
}
