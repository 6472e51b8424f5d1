package messages

import (
	"encoding/json"
	"strings"
	"testing"
)

// event is one Server-Sent Event of a Messages stream.
type event struct {
	name string
	data map[string]any
}

// parseEvents reads a Messages event stream; every event has an
// `event:` line and a `data:` line whose type is the event's name.
func parseEvents(t *testing.T, stream []byte) []event {
	t.Helper()
	var out []event
	for _, raw := range strings.Split(strings.TrimSuffix(string(stream), "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(raw, "\n")
		if !ok || !strings.HasPrefix(name, "event: ") || !strings.HasPrefix(data, "data: ") || strings.Contains(data, "\n") {
			t.Fatalf("not an event line and a data line: %q", raw)
		}
		ev := event{name: strings.TrimPrefix(name, "event: ")}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &ev.data); err != nil {
			t.Fatalf("data of %s: %v", ev.name, err)
		}
		if ev.data["type"] != ev.name {
			t.Fatalf("event %s has data of type %v", ev.name, ev.data["type"])
		}
		out = append(out, ev)
	}
	return out
}

// checkEventOrder checks a stream against Anthropic's order: one
// message_start first (pings aside), then blocks one at a time with indexes counting
// from 0, each started, given deltas of its own type and stopped, then
// message_delta and message_stop last; or an error event last.
func checkEventOrder(t *testing.T, stream []byte) {
	t.Helper()
	events := parseEvents(t, stream)
	open, next, started := -1, 0, false
	var blockType string
	for i, ev := range events {
		if ev.name == "ping" {
			continue
		}
		if ev.name == "error" {
			if i != len(events)-1 {
				t.Errorf("event %d: error is not the last event", i)
			}
			return
		}
		if started == (ev.name == "message_start") {
			t.Fatalf("event %d is %s: message_start must come first, and once", i, ev.name)
		}
		started = true
		index := -1
		if f, ok := ev.data["index"].(float64); ok {
			index = int(f)
		}
		switch ev.name {
		case "content_block_start":
			if open >= 0 || index != next {
				t.Fatalf("event %d starts block %d while block %d is open, next %d", i, index, open, next)
			}
			open, next = index, next+1
			blockType = ev.data["content_block"].(map[string]any)["type"].(string)
		case "content_block_delta":
			want := map[string]string{"text": "text_delta", "thinking": "thinking_delta", "tool_use": "input_json_delta"}[blockType]
			if index != open || ev.data["delta"].(map[string]any)["type"] != want {
				t.Fatalf("event %d: a delta for block %d (%v) while block %d (%s) is open", i, index, ev.data["delta"], open, blockType)
			}
		case "content_block_stop":
			if index != open {
				t.Fatalf("event %d stops block %d while block %d is open", i, index, open)
			}
			open = -1
		case "message_delta":
			if open >= 0 || i != len(events)-2 || events[i+1].name != "message_stop" {
				t.Fatalf("event %d: message_delta must follow the last block and precede message_stop", i)
			}
		}
	}
	if last := events[len(events)-1].name; last != "message_stop" {
		t.Errorf("the stream ends with %s", last)
	}
}
