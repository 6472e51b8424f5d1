package openaischema

import (
	"bytes"
	"errors"
	"fmt"
)

// done is the sentinel data OpenAI sends as the last event of a stream.
const done = "[DONE]"

// ValidateStream checks a whole SSE body as written by an OpenAI-compatible
// server: every `data:` event except the final `data: [DONE]` must
// validate against ChatCompletionChunk (or, when the first chunk's object
// is "text_completion", against Completion with a null finish_reason
// allowed, as OpenAI streams it), and `[DONE]` must be the last event. An
// event whose JSON has a top-level "error" key is validated as Error and
// must be the last event, with no [DONE] after it. Every event must end
// with a blank line, since clients discard an unterminated one. Returns
// the first problem, naming the event's zero-based index.
func ValidateStream(body []byte) error {
	events, terminated := parseSSE(body)
	if len(events) == 0 {
		return errors.New("stream: no data events")
	}
	chunkSchema := ""
	for i, ev := range events {
		if err := checkEvent(i, i == len(events)-1, ev.data, &chunkSchema); err != nil {
			return err
		}
	}
	if !terminated {
		return fmt.Errorf("stream event %d: not terminated by a blank line", len(events)-1)
	}
	return nil
}

// checkEvent checks event i, whose payload is data. chunkSchema is fixed
// by the first chunk so that one stream cannot mix chunk kinds.
func checkEvent(i int, last bool, data string, chunkSchema *string) error {
	if data == done {
		return checkDone(i, last)
	}
	v, err := decodeJSON([]byte(data))
	if err != nil {
		return fmt.Errorf("stream event %d: %w", i, err)
	}
	if isErrorEvent(v) {
		return checkErrorEvent(i, last, v)
	}
	if *chunkSchema == "" {
		*chunkSchema = chunkSchemaFor(v)
	}
	if err := validateValue(*chunkSchema, v); err != nil {
		return fmt.Errorf("stream event %d: %w", i, err)
	}
	if last {
		return fmt.Errorf("stream event %d: stream ends without data: [DONE]", i)
	}
	return nil
}

// checkDone requires [DONE] to close a stream that carried at least one
// chunk.
func checkDone(i int, last bool) error {
	if i == 0 {
		return errors.New("stream event 0: [DONE] before any chunk")
	}
	if !last {
		return fmt.Errorf("stream event %d: data after [DONE] (event %d)", i+1, i)
	}
	return nil
}

// checkErrorEvent validates an in-stream error, which ends the stream.
func checkErrorEvent(i int, last bool, v any) error {
	if err := validateValue(Error, v); err != nil {
		return fmt.Errorf("stream event %d: %w", i, err)
	}
	if !last {
		return fmt.Errorf("stream event %d: data after an error event (event %d)", i+1, i)
	}
	return nil
}

// isErrorEvent reports whether a decoded event is an error report rather
// than a chunk.
func isErrorEvent(v any) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, ok = obj["error"]
	return ok
}

// chunkSchemaFor picks the schema for a stream's chunks from its first one.
func chunkSchemaFor(first any) string {
	if obj, ok := first.(map[string]any); ok && obj["object"] == "text_completion" {
		return completionChunk
	}
	return ChatCompletionChunk
}

// sseEvent is one dispatched event: its `event:` name (empty when it has
// none) and its data.
type sseEvent struct {
	name, data string
}

// parseSSE returns every dispatched event, following the WHATWG
// event-stream rules: lines end in CRLF, LF or CR; a line starting with
// ':' is a comment; "data" lines are joined with "\n"; a blank line
// dispatches the event if it has data. terminated is false when the body
// ends inside an event that a client would therefore drop; that event is
// still returned so it gets validated too.
func parseSSE(body []byte) (events []sseEvent, terminated bool) {
	body = bytes.TrimPrefix(body, []byte("\uFEFF"))
	var data []byte
	var name string
	pending := false
	for len(body) > 0 {
		var line []byte
		line, body = nextLine(body)
		if len(line) == 0 {
			if pending {
				events = append(events, sseEvent{name, string(data[:len(data)-1])})
			}
			data, name, pending = data[:0], "", false
			continue
		}
		if value, ok := field(line, "data"); ok {
			data = append(append(data, value...), '\n')
			pending = true
		} else if value, ok := field(line, "event"); ok {
			name = string(value)
		}
	}
	if pending {
		events = append(events, sseEvent{name, string(data[:len(data)-1])})
	}
	return events, !pending
}

// nextLine splits off the first line, accepting any of the three line
// endings SSE allows.
func nextLine(b []byte) (line, rest []byte) {
	i := bytes.IndexAny(b, "\r\n")
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	if b[i] == '\r' && len(rest) > 0 && rest[0] == '\n' {
		rest = rest[1:]
	}
	return line, rest
}

// field returns the value of a line of the named field, minus the single
// optional space after the colon. Comments and other fields report false.
func field(line []byte, want string) ([]byte, bool) {
	name, value, found := bytes.Cut(line, []byte(":"))
	if string(name) != want {
		return nil, false
	}
	if found {
		value = bytes.TrimPrefix(value, []byte(" "))
	}
	return value, true
}
