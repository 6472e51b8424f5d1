package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// post sends body to handleChat and returns the recorded response.
func post(t *testing.T, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	rec := httptest.NewRecorder()
	handleChat(rec, req)
	return rec
}

// dataEvents returns the payloads of the SSE data events in body.
func dataEvents(t *testing.T, body string) []string {
	t.Helper()
	if !strings.HasSuffix(body, "\n\n") {
		t.Fatalf("stream does not end with a blank line: %q", body)
	}
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		payload, ok := strings.CutPrefix(ev, "data: ")
		if !ok {
			t.Fatalf("event %q is not a data event", ev)
		}
		out = append(out, payload)
	}
	return out
}

// TestCompletion checks the non-streaming response.
func TestCompletion(t *testing.T) {
	rec := post(t, `{"model":"m","messages":[]}`)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var v struct {
		Object  string            `json:"object"`
		Choices []json.RawMessage `json:"choices"`
		Usage   map[string]any    `json:"usage"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Object != "chat.completion" || len(v.Choices) != 1 || v.Usage["total_tokens"] != 63.0 {
		t.Fatalf("unexpected completion %s", rec.Body)
	}
}

// TestStream checks the order and shape of the streamed events.
func TestStream(t *testing.T) {
	for _, tc := range []struct {
		body       string
		tokens     int
		wantEvents int
	}{
		{`{"stream":true,"max_tokens":3}`, 3, 3 + 3},
		{`{"stream":true}`, defaultMaxTokens, defaultMaxTokens + 3},
		{`{"stream":true,"max_tokens":2,"stream_options":{"include_usage":true}}`, 2, 2 + 4},
	} {
		rec := post(t, tc.body)
		if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("%s: Content-Type %q", tc.body, ct)
		}
		events := dataEvents(t, rec.Body.String())
		if len(events) != tc.wantEvents {
			t.Fatalf("%s: %d events, want %d", tc.body, len(events), tc.wantEvents)
		}
		if !strings.Contains(events[0], `"delta":{"role":"assistant","content":""}`) {
			t.Errorf("%s: first event %s", tc.body, events[0])
		}
		if got := strings.Count(rec.Body.String(), `"delta":{"content":"tok "}`); got != tc.tokens {
			t.Errorf("%s: %d content chunks, want %d", tc.body, got, tc.tokens)
		}
		if events[len(events)-1] != "[DONE]" {
			t.Errorf("%s: last event %s", tc.body, events[len(events)-1])
		}
		for _, e := range events[:len(events)-1] {
			if !json.Valid([]byte(e)) {
				t.Errorf("%s: invalid JSON event %s", tc.body, e)
			}
		}
	}
}

// TestMessagesStream checks the Anthropic stream: one text delta per
// max_tokens, between message_start and message_stop.
func TestMessagesStream(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/v1/messages", strings.NewReader(`{"model":"m","max_tokens":3,"stream":true,"messages":[]}`))
	rec := httptest.NewRecorder()
	handleMessages(rec, req)
	body := rec.Body.String()
	if rec.Header().Get("Content-Type") != "text/event-stream" || strings.Count(body, `"text_delta"`) != 3 ||
		!strings.HasPrefix(body, "event: message_start\n") || !strings.HasSuffix(body, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n") {
		t.Fatalf("stream = %q", body)
	}
	rec = httptest.NewRecorder()
	handleMessages(rec, httptest.NewRequest(http.MethodPost, "/v1/messages", strings.NewReader(`{"model":"m","max_tokens":3,"messages":[]}`)))
	var msg struct {
		Type    string `json:"type"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &msg); err != nil || msg.Type != "message" || len(msg.Content) != 1 {
		t.Fatalf("answer = %s (%v)", rec.Body, err)
	}
}
