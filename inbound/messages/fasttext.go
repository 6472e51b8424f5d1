package messages

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

// fastText reads a chunk that holds nothing but a piece of answer text
// (nearly every chunk of a stream) without reflection, and returns the
// text as the raw JSON string the upstream wrote, which goes out as it
// is. ok is false for any other chunk (a finish reason, usage, reasoning,
// tool calls, a key json.Unmarshal would match in another case) and for
// text that is not valid UTF-8, all of which the full decoding reads.
func fastText(chunk []byte) (text []byte, ok bool) {
	var choices []byte
	ok = members(chunk, func(key, value []byte) bool {
		switch string(key) {
		case "choices":
			choices = value
		case "usage":
			return jsonscan.IsNull(value)
		default:
			return !strings.EqualFold(string(key), "choices") && !strings.EqualFold(string(key), "usage")
		}
		return true
	})
	if !ok || choices == nil {
		return nil, false
	}
	choice, ok := onlyElement(choices)
	var delta []byte
	if !ok || !members(choice, func(key, value []byte) bool {
		switch string(key) {
		case "delta":
			delta = value
		case "finish_reason":
			return jsonscan.IsNull(value)
		default:
			return !strings.EqualFold(string(key), "delta") && !strings.EqualFold(string(key), "finish_reason") && !strings.EqualFold(string(key), "stop_reason")
		}
		return true
	}) || delta == nil {
		return nil, false
	}
	if !members(delta, func(key, value []byte) bool {
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

// members calls fn with each member of the object obj and its raw value;
// false when obj is no object or fn said no.
func members(obj []byte, fn func(key, value []byte) bool) bool {
	ok := true
	err := jsonscan.Members(obj, func(key []byte, start, end int) bool {
		ok = fn(key, obj[start:end])
		return ok
	})
	return ok && err == nil
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
