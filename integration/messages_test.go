package integration

import (
	"strings"
	"testing"
)

// messagesHeader is what the Anthropic SDKs send: the key in x-api-key.
var messagesHeader = map[string]string{"x-api-key": clientKey, "anthropic-version": "2023-06-01"}

// TestMessagesThroughCaddy runs Anthropic's Messages API translated to an
// OpenAI-compatible upstream, streamed and not, and its errors.
func TestMessagesThroughCaddy(t *testing.T) {
	up := fakeOpenAI(t)
	startGateway(t, openAIBlock(up.URL))
	ask := func(model, extra string) string {
		return `{"model":"` + model + `","max_tokens":64,` + extra + `"messages":[{"role":"user","content":"Say hello"}]}`
	}
	cases := []struct {
		name, path, body string
		header           map[string]string
		status           int
		want             []string
	}{
		{"message", "/v1/messages", ask("fast", ""), messagesHeader, 200,
			[]string{`"type":"message"`, `"role":"assistant"`, `"model":"fast"`, `"content":[{"type":"text","text":"Hello from upstream."}]`, `"stop_reason":"end_turn"`, `"input_tokens":9`, `"output_tokens":3`}},
		{"stream", "/v1/messages?beta=true", ask("fast", `"stream":true,`), messagesHeader, 200,
			[]string{"event: message_start\n", `"delta":{"type":"text_delta","text":"Hello "}`, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"", "event: message_stop\n"}},
		{"bearer key", "/v1/messages", ask("fast", ""), map[string]string{"Authorization": "Bearer " + clientKey}, 200, []string{`"text":"Hello from upstream."`}},
		{"count tokens", "/v1/messages/count_tokens", `{"model":"fast","messages":[{"role":"user","content":"Say hello"}]}`, messagesHeader, 200, []string{`{"input_tokens":6}`}},
		{"no key", "/v1/messages", ask("fast", ""), nil, 401, []string{`{"type":"error","error":{"type":"authentication_error"`}},
		{"no max_tokens", "/v1/messages", `{"model":"fast","messages":[]}`, messagesHeader, 400, []string{`"type":"invalid_request_error","message":"max_tokens: Field required"`}},
		{"unknown model", "/v1/messages", ask("claude-nope", ""), messagesHeader, 404, []string{`"type":"not_found_error"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, "POST", tc.path, tc.body, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %s:\n%s", want, body)
				}
			}
		})
	}
	resp, body := do(t, "GET", "/v1/messages", "", messagesHeader)
	if resp.StatusCode != 405 || !strings.Contains(body, `"type":"invalid_request_error"`) {
		t.Errorf("GET: %d %s", resp.StatusCode, body)
	}
}

// TestMessagesNativeThroughCaddy relays Messages requests to an anthropic
// provider untouched, streamed and not.
func TestMessagesNativeThroughCaddy(t *testing.T) {
	up := newFakeAnthropicAPI(t)
	startGateway(t, anthropicBlock(up.URL))
	const req = `{"model":"sonnet","max_tokens":64,STREAM"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}]}`
	resp, body := do(t, "POST", "/v1/messages", strings.Replace(req, "STREAM", "", 1), messagesHeader)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, `{"id":"msg_02","type":"message"`) {
		t.Fatalf("%d: %s", resp.StatusCode, body)
	}
	if sent := string(up.Last(t).Body); sent != strings.Replace(strings.Replace(req, "STREAM", "", 1), `"sonnet"`, `"claude-sonnet-4-5"`, 1) {
		t.Errorf("the upstream got %s", sent)
	}
	resp, body = do(t, "POST", "/v1/messages", strings.Replace(req, "STREAM", `"stream":true,`, 1), messagesHeader)
	if resp.StatusCode != 200 || body != anthropicStream(false) {
		t.Errorf("%d: %s", resp.StatusCode, body)
	}
}
