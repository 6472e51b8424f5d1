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
	completed := `{"type":"response.completed","sequence_number":3,"response":{"id":"resp_1","status":"completed","usage":{"input_tokens":21,"output_tokens":7,"total_tokens":28}}}`
	stream := providertest.ResponsesEvent("response.created", `{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","status":"in_progress","usage":null}}`) +
		providertest.ResponsesEvent("response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":1,"delta":"`+strings.Repeat("x", 100<<10)+`"}`) +
		providertest.ResponsesEvent("response.completed", completed)
	for _, tc := range []struct {
		name, body string
		streamed   bool
	}{
		{"whole", `{"id":"resp_1","object":"response","usage":{"input_tokens":21,"output_tokens":7}}`, false},
		{"streamed", stream, true},
		{"data only", strings.ReplaceAll(stream, "event: ", "x-ignored: "), true},
	} {
		for _, piece := range []int{1, 7, 4096, len(tc.body)} {
			m := newRelayMeter(tc.streamed).(*relayMeter)
			for b := tc.body; b != ""; {
				n := min(piece, len(b))
				_, _ = m.Write([]byte(b[:n]))
				b = b[n:]
			}
			u, ok := m.Usage()
			if !ok || u.PromptTokens != 21 || u.CompletionTokens != 7 || m.responseID() != "resp_1" {
				t.Errorf("%s in pieces of %d: %+v %v id %q", tc.name, piece, u, ok, m.responseID())
			}
		}
	}
}
