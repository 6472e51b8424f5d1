package translate

import (
	"strconv"
	"unicode/utf8"
)

// The chunks a stream sends most, one per token (text, reasoning, tool
// arguments), are written by hand instead of through encoding/json: the
// same bytes json.Marshal makes of the chunk type, without reflection and
// with one allocation.

// deltaChunk appends the chunk of one choice whose delta is a single
// string member, `{"<member>":<value>}`, or for a tool call's arguments
// `{"tool_calls":[{"index":N,"function":{"arguments":<value>}}]}`.
func (a Answer) deltaChunk(choice int, member, value string, tool int) []byte {
	b := make([]byte, 0, 160+len(a.ID)+len(a.Model)+len(value)+len(value)/8)
	b = append(b, `{"id":`...)
	b = AppendJSONString(b, a.ID)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, a.Created, 10)
	b = append(b, `,"model":`...)
	b = AppendJSONString(b, a.Model)
	b = append(b, `,"choices":[{"index":`...)
	b = strconv.AppendInt(b, int64(choice), 10)
	if member == "arguments" {
		b = append(b, `,"delta":{"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(tool), 10)
		b = append(b, `,"function":{"arguments":`...)
		b = AppendJSONString(b, value)
		b = append(b, `}}]}`...)
	} else {
		b = append(b, `,"delta":{"`...)
		b = append(b, member...)
		b = append(b, `":`...)
		b = AppendJSONString(b, value)
		b = append(b, '}')
	}
	return append(b, `,"logprobs":null,"finish_reason":null}]}`...)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as encoding/json writes a string by default:
// HTML-sensitive characters and U+2028/U+2029 escaped, invalid UTF-8 as
// U+FFFD.
func AppendJSONString(b []byte, s string) []byte { return appendJSONString(b, s, true) }

// AppendJSONStringKeepHTML appends s as providers.MarshalJSON writes a
// string: as AppendJSONString does, but for <, > and &, which stay as they
// are.
func AppendJSONStringKeepHTML(b []byte, s string) []byte { return appendJSONString(b, s, false) }

func appendJSONString(b []byte, s string, escapeHTML bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!escapeHTML || c != '<' && c != '>' && c != '&') {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
