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
		err := verifyStream(tt.body, tt.want)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: verifyStream() error = %v, wantErr %v", tt.name, err, tt.wantErr)
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
