package inbound

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

// ChunkLevel is where a member of a chat.completion.chunk sits.
type ChunkLevel uint8

// The levels ReadChunk reads.
const (
	// InChunk is a member of the chunk itself: choices, usage, id…
	InChunk ChunkLevel = iota
	// InChoice is a member of the chunk's first choice: delta,
	// finish_reason…
	InChoice
	// InDelta is a member of the first choice's delta: content,
	// tool_calls…
	InDelta
)

// ReadChunk reads a chat.completion.chunk in one pass, as a stream
// encoder must for each chunk, calling fn with each member of the chunk,
// of its first choice and of that choice's delta, in order, with its raw
// key (escapes not decoded) and its raw value. The members of the first
// choice come before the chunk's `choices` member itself, and those of
// the delta before the choice's `delta`. It returns how many choices the
// chunk has (2 for two or more), and whether the chunk is one well-formed
// JSON object; when it is not, fn has seen the members before the flaw.
func ReadChunk(chunk []byte, fn func(at ChunkLevel, key, value []byte)) (choices int, ok bool) {
	return readChoices(chunk, "delta", fn)
}

// readChoices reads body, calling fn with each member of it, of its first
// choice, and of that choice's member inner.
func readChoices(body []byte, inner string, fn func(at ChunkLevel, key, value []byte)) (choices int, ok bool) {
	r := chunkReader{b: body, inner: inner}
	end, ok := r.object(skipSpace(body, 0), InChunk, fn)
	return r.choices, ok && skipSpace(body, end) == len(body)
}

// chunkReader is ReadChunk's state. fn goes from call to call rather than
// in it, so that it does not escape: a door's reader costs no allocation.
type chunkReader struct {
	b       []byte
	inner   string
	choices int
}

// object reads the members of the object at r.b[i], of level at, and
// returns the index past it.
func (r *chunkReader) object(i int, at ChunkLevel, fn func(ChunkLevel, []byte, []byte)) (int, bool) {
	b := r.b
	if i >= len(b) || b[i] != '{' {
		return i, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		keyEnd, err := jsonscan.Skip(b, i)
		if err != nil {
			return keyEnd, false
		}
		key := b[i+1 : keyEnd-1]
		if i = skipSpace(b, keyEnd); i >= len(b) || b[i] != ':' {
			return i, false
		}
		start := skipSpace(b, i+1)
		end, ok := r.value(start, at, key, fn)
		if !ok {
			return end, false
		}
		fn(at, key, b[start:end])
		if i = skipSpace(b, end); i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// value reads the value at r.b[i] of the member key of level at: into
// the choices and the first choice's delta, past any other.
func (r *chunkReader) value(i int, at ChunkLevel, key []byte, fn func(ChunkLevel, []byte, []byte)) (int, bool) {
	if i < len(r.b) {
		switch {
		case at == InChunk && r.b[i] == '[' && string(key) == "choices":
			return r.list(i, fn)
		case at == InChoice && r.b[i] == '{' && string(key) == r.inner:
			return r.object(i, InDelta, fn)
		}
	}
	end, err := jsonscan.Skip(r.b, i)
	return end, err == nil
}

// list reads the choices, the array at r.b[i], into the first of them.
func (r *chunkReader) list(i int, fn func(ChunkLevel, []byte, []byte)) (int, bool) {
	b := r.b
	r.choices = 0
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for n := 0; ; n++ {
		var end int
		if n == 0 && i < len(b) && b[i] == '{' {
			var ok bool
			if end, ok = r.object(i, InChoice, fn); !ok {
				return end, false
			}
		} else {
			var err error
			if end, err = jsonscan.Skip(b, i); err != nil {
				return end, false
			}
		}
		r.choices = min(n+1, 2)
		if i = skipSpace(b, end); i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return i + 1, true
		default:
			return i, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// TextChunks recognizes the chunks of one stream that repeat an earlier
// chunk of nothing but text, but for the text: nearly every chunk of a
// stream from an OpenAI-compatible upstream, whose chunks differ only in
// their delta's content. Such a chunk reads as the earlier one did, with
// its own text, and is as well-formed, without reading the rest of it.
type TextChunks struct {
	head, tail []byte // the earlier chunk, up to its text and after it
}

// Learn remembers chunk, which was read in full and holds nothing but
// its text, the JSON string text within it.
func (t *TextChunks) Learn(chunk, text []byte) {
	start := cap(chunk) - cap(text)
	if len(text) == 0 || start < 0 || start+len(text) > len(chunk) || &chunk[start] != &text[0] {
		return
	}
	t.head = append(t.head[:0], chunk[:start]...)
	t.tail = append(t.tail[:0], chunk[start+len(text):]...)
}

// Text returns the text of a chunk that repeats the chunk learned but for
// its text, a JSON string as the chunk writes it; ok is false for any
// other chunk.
func (t *TextChunks) Text(chunk []byte) (text []byte, ok bool) {
	if len(t.head) == 0 || len(chunk) < len(t.head)+len(t.tail)+len(`""`) ||
		!bytes.HasPrefix(chunk, t.head) || !bytes.HasSuffix(chunk, t.tail) {
		return nil, false
	}
	text = chunk[len(t.head) : len(chunk)-len(t.tail)]
	if end, err := jsonscan.Skip(text, 0); text[0] != '"' || err != nil || end != len(text) {
		return nil, false
	}
	return text, true
}

// ChatUsage is a chat completion's usage, as the doors read it.
type ChatUsage struct {
	PromptTokens, CompletionTokens, TotalTokens int
	// From prompt_tokens_details.
	CachedTokens, CacheWriteTokens int
	// From completion_tokens_details.
	ReasoningTokens int
}

// ReadChatUsage reads a usage object as json.Unmarshal reads it into
// integer fields of those names, without reflection; ok is false for an
// object it might read otherwise (keys json.Unmarshal would match in
// another case, values other than integers or null), which a door
// decodes with json.Unmarshal instead.
func ReadChatUsage(raw []byte) (u ChatUsage, ok bool) {
	ok = jsonscan.EachMember(raw, func(key, value []byte) bool {
		switch string(key) {
		case "prompt_tokens":
			return readInt(value, &u.PromptTokens)
		case "completion_tokens":
			return readInt(value, &u.CompletionTokens)
		case "total_tokens":
			return readInt(value, &u.TotalTokens)
		case "prompt_tokens_details":
			return jsonscan.IsNull(value) || jsonscan.EachMember(value, func(key, value []byte) bool {
				switch string(key) {
				case "cached_tokens":
					return readInt(value, &u.CachedTokens)
				case "cache_write_tokens":
					return readInt(value, &u.CacheWriteTokens)
				}
				return jsonscan.PlainKey(key, "cached_tokens", "cache_write_tokens")
			})
		case "completion_tokens_details":
			return jsonscan.IsNull(value) || jsonscan.EachMember(value, func(key, value []byte) bool {
				if string(key) == "reasoning_tokens" {
					return readInt(value, &u.ReasoningTokens)
				}
				return jsonscan.PlainKey(key, "reasoning_tokens")
			})
		}
		return jsonscan.PlainKey(key, "prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details")
	})
	return u, ok
}

// ParseChatUsage reads a usage object: ReadChatUsage's way when it can,
// else with json.Unmarshal, whose partial result it returns too. ok is
// false when the object could not be read whole.
func ParseChatUsage(raw []byte) (u ChatUsage, ok bool) {
	if u, ok := ReadChatUsage(raw); ok {
		return u, true
	}
	var decoded struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		TotalTokens         int `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens     int `json:"cached_tokens"`
			CacheWriteTokens int `json:"cache_write_tokens"`
		} `json:"prompt_tokens_details"`
		CompletionTokensDetails struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	}
	err := json.Unmarshal(raw, &decoded)
	return ChatUsage{
		PromptTokens: decoded.PromptTokens, CompletionTokens: decoded.CompletionTokens, TotalTokens: decoded.TotalTokens,
		CachedTokens: decoded.PromptTokensDetails.CachedTokens, CacheWriteTokens: decoded.PromptTokensDetails.CacheWriteTokens,
		ReasoningTokens: decoded.CompletionTokensDetails.ReasoningTokens,
	}, err == nil
}

// readInt reads a JSON number that is an integer, or null, which leaves
// n as it is.
func readInt(value []byte, n *int) bool {
	if jsonscan.IsNull(value) {
		return true
	}
	v, err := strconv.Atoi(string(value))
	if err != nil {
		return false
	}
	*n = v
	return true
}

// Completion is what the doors read of a chat completion: its number of
// choices (2 for two or more), and the raw values of the members of it,
// of its first choice and of that choice's message that they use; nil
// when a member is absent or null, but for StopReason.
type Completion struct {
	Choices                                       int
	Content, Refusal, ReasoningContent, ToolCalls []byte
	FinishReason, Usage                           []byte
	StopReason                                    []byte
}

// ReadCompletion reads a chat completion in one pass; ok is false when
// json.Unmarshal might read it otherwise into fields of the names of
// Completion's (keys it would match in another case, members given twice,
// values of other types: strings for the message's text and the finish
// reason, an array for tool calls, objects for the usage, the choices
// and the message), and when it has more than one choice.
func ReadCompletion(body []byte) (c Completion, ok bool) {
	var seen uint16
	exact := true
	once := func(member uint16, typed bool) {
		exact = exact && seen&member == 0 && typed
		seen |= member
	}
	choices, wellFormed := readChoices(body, "message", func(at ChunkLevel, key, value []byte) {
		null := jsonscan.IsNull(value)
		str := null || value[0] == '"'
		switch at {
		case InChunk:
			switch string(key) {
			case "choices":
				once(1<<0, value[0] == '[')
			case "usage":
				once(1<<1, null || value[0] == '{')
				c.Usage = nonNull(value, null)
			default:
				exact = exact && jsonscan.PlainKey(key, "choices", "usage")
			}
		case InChoice:
			switch string(key) {
			case "message":
				once(1<<2, value[0] == '{')
			case "finish_reason":
				once(1<<3, str)
				c.FinishReason = nonNull(value, null)
			case "stop_reason":
				once(1<<4, true)
				c.StopReason = value
			default:
				exact = exact && jsonscan.PlainKey(key, "message", "finish_reason", "stop_reason")
			}
		case InDelta:
			switch string(key) {
			case "content":
				once(1<<5, str)
				c.Content = nonNull(value, null)
			case "refusal":
				once(1<<6, str)
				c.Refusal = nonNull(value, null)
			case "reasoning_content":
				once(1<<7, str)
				c.ReasoningContent = nonNull(value, null)
			case "tool_calls":
				once(1<<8, null || value[0] == '[')
				c.ToolCalls = nonNull(value, null)
			default:
				exact = exact && jsonscan.PlainKey(key, "content", "refusal", "reasoning_content", "tool_calls")
			}
		}
	})
	c.Choices = choices
	return c, wellFormed && exact && choices == 1 && seen&(1<<2) != 0
}

func nonNull(value []byte, null bool) []byte {
	if null {
		return nil
	}
	return value
}
