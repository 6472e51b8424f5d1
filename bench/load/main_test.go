package main

import (
	"strings"
	"testing"
	"time"
)

// sse returns an SSE body with one data event per argument.
func sse(events ...string) []byte {
	var b strings.Builder
	for _, e := range events {
		b.WriteString("data: " + e + "\n\n")
	}
	return []byte(b.String())
}

// TestVerifyStream checks stream verification on good and broken streams.
func TestVerifyStream(t *testing.T) {
	role := `{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`
	tok := `{"choices":[{"index":0,"delta":{"content":"tok "}}]}`
	spaced := `{"choices": [{"index": 0, "delta": {"content": "tok "}}]}`
	finish := `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`
	usage := `{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`
	tests := []struct {
		name    string
		body    []byte
		want    int
		wantErr bool
	}{
		{"ok", sse(role, tok, tok, finish, "[DONE]"), 2, false},
		{"usage chunk", sse(role, tok, spaced, finish, usage, "[DONE]"), 2, false},
		{"too few", sse(role, tok, finish, "[DONE]"), 2, true},
		{"no done", sse(role, tok, tok, finish), 2, true},
		{"empty", nil, 2, true},
	}
	for _, tt := range tests {
		err := verifyStream(tt.body, tt.want, apis["chat"])
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: verifyStream() error = %v, wantErr %v", tt.name, err, tt.wantErr)
		}
	}
}

// TestVerifyDoorStreams checks the verification of Responses and
// Messages streams.
func TestVerifyDoorStreams(t *testing.T) {
	event := func(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }
	responses := event("response.created", `{"type":"response.created","response":{"output":[]}}`) +
		event("response.content_part.added", `{"type":"response.content_part.added","part":{"type":"output_text","text":""}}`) +
		event("response.output_text.delta", `{"type":"response.output_text.delta","delta":"tok "}`) +
		event("response.output_text.delta", `{"type":"response.output_text.delta","delta":"tok "}`) +
		event("response.output_text.done", `{"type":"response.output_text.done","text":"tok tok "}`)
	completed := event("response.completed", `{"type":"response.completed","response":{"status":"completed"}}`)
	messages := event("message_start", `{"type":"message_start","message":{"content":[]}}`) +
		event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`) +
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"tok "}}`) +
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"tok "}}`) +
		event("content_block_stop", `{"type":"content_block_stop","index":0}`) +
		event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"}}`)
	stop := event("message_stop", `{"type":"message_stop"}`)
	for _, tc := range []struct {
		api, body string
		ok        bool
	}{
		{"responses", responses + completed, true},
		{"responses", responses, false},
		{"messages", messages + stop, true},
		{"messages", messages, false},
		{"messages", messages + stop + stop, true},
	} {
		if err := verifyStream([]byte(tc.body), 2, apis[tc.api]); (err == nil) != tc.ok {
			t.Errorf("%s: verifyStream() error = %v, want ok %v", tc.api, err, tc.ok)
		}
	}
}

// TestParseStatTicks checks reading utime+stime, with a command name that
// holds spaces and parentheses.
func TestParseStatTicks(t *testing.T) {
	stat := "1234 (caddy (x) y) S 1 2 3 4 5 6 7 8 9 10 250 40 0 0 20 0 8 0 100\n"
	got, err := parseStatTicks([]byte(stat))
	if err != nil || got != 290 {
		t.Fatalf("parseStatTicks() = %d, %v; want 290", got, err)
	}
	if _, err := parseStatTicks([]byte("1234 (caddy) S 1")); err == nil {
		t.Fatal("parseStatTicks() accepted a short line")
	}
}

// TestPercentileMs checks nearest-rank percentiles.
func TestPercentileMs(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if got := percentileMs(d, 50); got != 50 {
		t.Errorf("p50 = %v, want 50", got)
	}
	if got := percentileMs(d, 99); got != 99 {
		t.Errorf("p99 = %v, want 99", got)
	}
	if got := percentileMs(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %v, want 0", got)
	}
}
