package messages

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

// streamChunk is a chat.completion.chunk as json.Unmarshal reads it, the
// reading every other is measured against: the door decodes a chunk
// this way only when its one-pass reading (chunkFields) could differ.
type streamChunk struct {
	Choices []struct {
		Delta struct {
			Content          string `json:"content"`
			ReasoningContent string `json:"reasoning_content"`
			// Reasoning is vLLM's and OpenRouter's name for it.
			Reasoning string          `json:"reasoning"`
			ToolCalls []toolCallDelta `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string         `json:"finish_reason"`
		StopReason   json.RawMessage `json:"stop_reason"`
	} `json:"choices"`
	Usage *chatUsage `json:"usage"`
}

type toolCallDelta struct {
	Index    int          `json:"index"`
	ID       string       `json:"id"`
	Function chatFunction `json:"function"`
}

// chunkDelta is what a chunk says, whichever way it was read.
type chunkDelta struct {
	usage   *chatUsage
	choices bool // whether it has a choice; the rest is its first's
	// text is the delta's content, or rawText the JSON string that
	// writes it, to be sent as it is.
	text      string
	rawText   []byte
	reasoning string
	toolCalls []toolCallDelta
	finish    *string
	stop      json.RawMessage
	// onlyText is the text of a chunk of nothing else, for
	// inbound.TextChunks to learn.
	onlyText []byte
}

// decodeChunk reads a chunk with json.Unmarshal; ok is false when it
// cannot, and the chunk is ignored.
func decodeChunk(chunk []byte) (d chunkDelta, ok bool) {
	var c streamChunk
	if json.Unmarshal(chunk, &c) != nil {
		return d, false
	}
	d.usage = c.Usage
	if len(c.Choices) == 0 {
		return d, true
	}
	ch := &c.Choices[0]
	d.choices, d.text, d.reasoning = true, ch.Delta.Content, ch.Delta.ReasoningContent+ch.Delta.Reasoning
	d.toolCalls, d.finish, d.stop = ch.Delta.ToolCalls, ch.FinishReason, ch.StopReason
	return d, true
}

// readChunk reads a chunk as decodeChunk does, without reflection for
// the chunks of nearly every stream: it finds the members it needs in one
// pass and decodes only those, and leaves a chunk it might read otherwise
// than json.Unmarshal (keys json.Unmarshal would match in another case,
// members given twice, values of other types, several choices) to
// decodeChunk. A chunk of nothing but text keeps its text as the upstream
// wrote it.
func readChunk(chunk []byte) (d chunkDelta, ok bool) {
	var f chunkFields
	choices, ok := inbound.ReadChunk(chunk, f.read)
	if !ok || f.inexact || choices > 1 {
		return decodeChunk(chunk)
	}
	if f.usage != nil {
		if d.usage, ok = readUsage(f.usage); !ok {
			return d, false
		}
	}
	if f.toolCalls != nil {
		var calls []toolCallDelta
		if json.Unmarshal(f.toolCalls, &calls) != nil {
			return d, false
		}
		d.toolCalls = calls
	}
	if d.choices = choices == 1; !d.choices {
		return d, true
	}
	switch {
	case !f.extra && utf8.Valid(f.content):
		d.rawText, d.onlyText = f.content, f.content
	case plainString(f.content):
		d.rawText = f.content
	default:
		d.text, _ = jsonscan.String(f.content)
	}
	if len(d.rawText) <= len(`""`) {
		d.rawText = nil
	}
	rc, _ := jsonscan.String(f.reasoningContent)
	r, _ := jsonscan.String(f.reasoning)
	d.reasoning = rc + r
	if f.finishReason != nil {
		finish, _ := jsonscan.String(f.finishReason)
		d.finish = &finish
	}
	// Kept past the chunk, whose bytes are reused.
	d.stop = bytes.Clone(f.stopReason)
	return d, true
}

// readUsage reads a chat usage object; ok is false when it cannot.
func readUsage(raw []byte) (_ *chatUsage, ok bool) {
	read, ok := inbound.ParseChatUsage(raw)
	u := &chatUsage{PromptTokens: read.PromptTokens, CompletionTokens: read.CompletionTokens}
	if read.CachedTokens != 0 || read.CacheWriteTokens != 0 {
		u.PromptTokensDetails = &cachedTokens{read.CachedTokens, read.CacheWriteTokens}
	}
	return u, ok
}

// chunkFields are the raw values of the members of a chunk the door
// reads, as inbound.ReadChunk finds them; null ones are left out.
type chunkFields struct {
	usage, content, reasoningContent, reasoning, toolCalls, finishReason, stopReason []byte
	// seen marks the members read, to tell one given twice.
	seen uint16
	// inexact is set when json.Unmarshal might read the chunk otherwise.
	inexact bool
	// extra is set when the chunk has more than text: usage, a finish or
	// stop reason, a refusal, any other member of the delta than its
	// content and role.
	extra bool
}

// The members chunkFields.seen marks.
const (
	seenChoices = 1 << iota
	seenUsage
	seenDelta
	seenFinish
	seenStop
	seenContent
	seenReasoningContent
	seenReasoning
	seenToolCalls
)

func (f *chunkFields) read(at inbound.ChunkLevel, key, value []byte) {
	null := jsonscan.IsNull(value)
	switch at {
	case inbound.InChunk:
		switch string(key) {
		case "choices":
			f.once(seenChoices, null || value[0] == '[' && firstIsObject(value))
		case "usage":
			f.once(seenUsage, null || value[0] == '{')
			f.usage, f.extra = nonNull(value, null), f.extra || !null
		default:
			f.inexact = f.inexact || !jsonscan.PlainKey(key, "choices", "usage")
		}
	case inbound.InChoice:
		switch string(key) {
		case "delta":
			f.once(seenDelta, null || value[0] == '{')
		case "finish_reason":
			f.once(seenFinish, null || value[0] == '"')
			f.finishReason, f.extra = nonNull(value, null), f.extra || !null
		case "stop_reason":
			f.once(seenStop, true)
			f.stopReason, f.extra = value, f.extra || !null
		default:
			f.inexact = f.inexact || !jsonscan.PlainKey(key, "delta", "finish_reason", "stop_reason")
		}
	case inbound.InDelta:
		switch string(key) {
		case "content":
			f.once(seenContent, null || value[0] == '"')
			f.content, f.extra = nonNull(value, null), f.extra || null
		case "reasoning_content":
			f.once(seenReasoningContent, null || value[0] == '"')
			f.reasoningContent, f.extra = nonNull(value, null), true
		case "reasoning":
			f.once(seenReasoning, null || value[0] == '"')
			f.reasoning, f.extra = nonNull(value, null), true
		case "tool_calls":
			f.once(seenToolCalls, null || value[0] == '[')
			f.toolCalls, f.extra = nonNull(value, null), true
		case "role":
		case "refusal":
			f.extra = f.extra || !null
		default:
			f.extra = true
			f.inexact = f.inexact || !jsonscan.PlainKey(key, "content", "reasoning_content", "reasoning", "tool_calls")
		}
	}
}

// once marks member as read, and the chunk as inexact when it was read
// before or its value is not of a type the door's decoding takes.
func (f *chunkFields) once(member uint16, typed bool) {
	f.inexact = f.inexact || f.seen&member != 0 || !typed
	f.seen |= member
}

// firstIsObject reports whether the first element of the array arr, if
// any, is an object or null, as a choice must be.
func firstIsObject(arr []byte) bool {
	i := 1
	for i < len(arr) && (arr[i] == ' ' || arr[i] == '\t' || arr[i] == '\n' || arr[i] == '\r') {
		i++
	}
	return i < len(arr) && (arr[i] == '{' || arr[i] == ']' || arr[i] == 'n')
}

func nonNull(value []byte, null bool) []byte {
	if null {
		return nil
	}
	return value
}

// plainString reports whether the JSON string raw is written as
// providers.MarshalJSON writes its value: no escapes, valid UTF-8, and no
// U+2028 or U+2029, which it escapes.
func plainString(raw []byte) bool {
	return len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) &&
		!bytes.Contains(raw, []byte("\u2028")) && !bytes.Contains(raw, []byte("\u2029"))
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
