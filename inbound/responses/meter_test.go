package responses

import (
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestRelayMeter reads the id and usage of a relayed Response, and of an
// event stream written in pieces that cut its lines anywhere, past a
// long text delta and with or without `event:` lines.
func TestRelayMeter(t *testing.T) {
	completed := `{"type":"response.completed","sequence_number":3,"response":{"id":"resp_1","status":"completed","usage":{"input_tokens":21,"input_tokens_details":{"cached_tokens":16},"output_tokens":7,"total_tokens":28}}}`
	stream := providertest.ResponsesEvent("response.created", `{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","status":"in_progress","usage":null}}`) +
		providertest.ResponsesEvent("response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":1,"delta":"`+strings.Repeat("x", 100<<10)+`"}`) +
		providertest.ResponsesEvent("response.completed", completed)
	for _, tc := range []struct {
		name, body string
		streamed   bool
	}{
		{"whole", `{"id":"resp_1","object":"response","usage":{"input_tokens":21,"input_tokens_details":{"cached_tokens":16},"output_tokens":7}}`, false},
		{"streamed", stream, true},
		{"data only", strings.ReplaceAll(stream, "event: ", "x-ignored: "), true},
		// A delta that names a lifecycle event in its text is not one; an
		// event without an `event:` line after one with it is still read.
		{"mixed", providertest.ResponsesEvent("response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":1,"delta":"{\"type\":\"response.completed\",\"response\":{\"id\":\"resp_x\"}}"}`) +
			"data: " + completed + "\n\n", true},
	} {
		for _, piece := range []int{1, 7, 4096, len(tc.body)} {
			m := newRelayMeter(tc.streamed).(*relayMeter)
			for b := tc.body; b != ""; {
				n := min(piece, len(b))
				_, _ = m.Write([]byte(b[:n]))
				b = b[n:]
			}
			u, ok := m.Usage()
			if !ok || u.PromptTokens != 21 || u.CachedTokens != 16 || u.CompletionTokens != 7 || m.responseID() != "resp_1" {
				t.Errorf("%s in pieces of %d: %+v %v id %q", tc.name, piece, u, ok, m.responseID())
			}
		}
	}
}

// FuzzRelayMeter writes an upstream's bytes to the meter whole and cut
// in two: what it reads must not depend on where the reads fell.
func FuzzRelayMeter(f *testing.F) {
	f.Add([]byte(providertest.ResponsesEvent("response.completed", `{"type":"response.completed","response":{"id":"resp_1","usage":{"input_tokens":2,"output_tokens":1}}}`)), 17, true)
	f.Add([]byte(`{"id":"resp_1","usage":{"input_tokens":2,"output_tokens":1}}`), 5, false)
	f.Add([]byte("data: {\"type\":\"response.created\",\"response\":{\"id\":\"r\"}}\r\n\r\n"), 3, true)
	f.Fuzz(func(t *testing.T, body []byte, cut int, streamed bool) {
		cut = min(max(cut, 0), len(body))
		whole := newRelayMeter(streamed).(*relayMeter)
		_, _ = whole.Write(body)
		split := newRelayMeter(streamed).(*relayMeter)
		_, _ = split.Write(body[:cut])
		_, _ = split.Write(body[cut:])
		u1, ok1 := whole.Usage()
		u2, ok2 := split.Usage()
		if u1 != u2 || ok1 != ok2 || whole.responseID() != split.responseID() {
			t.Errorf("whole %+v %v %q, cut at %d %+v %v %q", u1, ok1, whole.responseID(), cut, u2, ok2, split.responseID())
		}
	})
}
