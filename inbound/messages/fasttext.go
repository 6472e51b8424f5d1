package messages

import (
	"strconv"
	"unicode/utf8"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

// fastText reads a chunk that holds nothing but a piece of answer text
// (nearly every chunk of a stream) without reflection, and returns the
// text as the raw JSON string the upstream wrote, which goes out as it
// is. ok is false for any other chunk (a finish reason, usage, reasoning,
// tool calls, a key json.Unmarshal could read otherwise) and for text
// that is not valid UTF-8, all of which the full decoding reads.
func fastText(chunk []byte) (text []byte, ok bool) {
	var choices []byte
	if !jsonscan.EachMember(chunk, func(key, value []byte) bool {
		switch string(key) {
		case "choices":
			choices = value
			return true
		case "usage":
			return jsonscan.IsNull(value)
		}
		return jsonscan.PlainKey(key, "choices", "usage")
	}) || choices == nil {
		return nil, false
	}
	choice, ok := onlyElement(choices)
	var delta []byte
	if !ok || !jsonscan.EachMember(choice, func(key, value []byte) bool {
		switch string(key) {
		case "delta":
			delta = value
			return true
		case "finish_reason", "stop_reason":
			return jsonscan.IsNull(value)
		}
		return jsonscan.PlainKey(key, "delta", "finish_reason", "stop_reason")
	}) || delta == nil {
		return nil, false
	}
	if !jsonscan.EachMember(delta, func(key, value []byte) bool {
		switch string(key) {
		case "content":
			text = value
			return len(value) >= 2 && value[0] == '"' && utf8.Valid(value)
		case "role":
			return true
		case "refusal":
			return jsonscan.IsNull(value)
		}
		return false
	}) {
		return nil, false
	}
	return text, true
}

// onlyElement is the one element of the array arr.
func onlyElement(arr []byte) ([]byte, bool) {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return nil, false
	}
	start := skipSpace(arr, i+1)
	end, err := jsonscan.Skip(arr, start)
	if err != nil {
		return nil, false
	}
	if j := skipSpace(arr, end); j != len(arr)-1 || arr[j] != ']' {
		return nil, false
	}
	return arr[start:end], true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// appendTextDelta appends a text_delta event for block index; text is a
// raw JSON string.
func appendTextDelta(buf []byte, index int, text []byte) []byte {
	buf = append(buf, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":"...)
	buf = strconv.AppendInt(buf, int64(index), 10)
	buf = append(buf, ",\"delta\":{\"type\":\"text_delta\",\"text\":"...)
	buf = append(buf, text...)
	return append(buf, "}}\n\n"...)
}
