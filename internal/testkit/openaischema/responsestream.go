package openaischema

import (
	"errors"
	"fmt"
	"sync"
)

// responseEnds are the events that end a Responses stream.
var responseEnds = map[string]bool{
	"response.completed": true, "response.incomplete": true, "response.failed": true, "error": true,
}

// ValidateResponseStream checks a whole SSE body of a streamed Responses
// API answer: every event has an `event:` line naming its data's `type`,
// and its data validates against that event's schema; sequence_number
// counts the events from 0; the first event is response.created and the
// last one, and only it, ends the response (response.completed,
// response.incomplete, response.failed or error). Every event must end
// with a blank line. Returns the first problem, naming the event's
// zero-based index.
func ValidateResponseStream(body []byte) error {
	byType, err := loadEventSchemas()
	if err != nil {
		return err
	}
	events, terminated := parseSSE(body)
	if len(events) == 0 {
		return errors.New("stream: no data events")
	}
	for i, ev := range events {
		if err := checkResponseEvent(byType, i, ev); err != nil {
			return fmt.Errorf("stream event %d: %w", i, err)
		}
		switch end := responseEnds[ev.name]; {
		case i == 0 && ev.name != "response.created":
			return fmt.Errorf("stream event 0: %s, want response.created first", ev.name)
		case end && i != len(events)-1:
			return fmt.Errorf("stream event %d: %s, yet more events follow", i, ev.name)
		case !end && i == len(events)-1:
			return fmt.Errorf("stream event %d: the stream ends with %s, want an event that ends the response", i, ev.name)
		}
	}
	if !terminated {
		return fmt.Errorf("stream event %d: not terminated by a blank line", len(events)-1)
	}
	return nil
}

// checkResponseEvent checks event i of a Responses stream on its own.
func checkResponseEvent(byType map[string]*schema, i int, ev sseEvent) error {
	v, err := decodeJSON([]byte(ev.data))
	if err != nil {
		return err
	}
	obj, _ := v.(map[string]any)
	typ, _ := obj["type"].(string)
	s, ok := byType[typ]
	switch {
	case !ok:
		return fmt.Errorf("type %q is no Responses stream event", typ)
	case ev.name != typ:
		return fmt.Errorf("event: %q, yet its data is a %q", ev.name, typ)
	case obj["sequence_number"] != nil && render(obj["sequence_number"]) != fmt.Sprint(i):
		return fmt.Errorf("sequence_number %s, want %d", render(obj["sequence_number"]), i)
	}
	if vs := s.validate(v, "$"); len(vs) > 0 {
		return &ValidationError{Schema: typ, Violations: vs}
	}
	return nil
}

// loadEventSchemas maps each event type to its schema: the branch of
// ResponseStreamEvent whose `type` is that name, for precise reports.
var loadEventSchemas = sync.OnceValues(func() (map[string]*schema, error) {
	schemas, err := loadSchemas()
	if err != nil {
		return nil, err
	}
	byType := make(map[string]*schema)
	for i, b := range schemas[ResponseStreamEvent].anyOf {
		def := b.ref
		if def == nil || def.properties["type"] == nil || len(def.properties["type"].enum) != 1 {
			return nil, fmt.Errorf("openaischema: %s branch %d names no single event type", ResponseStreamEvent, i)
		}
		typ, _ := def.properties["type"].enum[0].(string)
		byType[typ] = def
	}
	return byType, nil
})
