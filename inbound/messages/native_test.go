package messages

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// nativeRequest has what no translation keeps: cache_control, a signed
// thinking block, a document, a server tool and a field newer than any
// struct.
const nativeRequest = `{"model":"claude-sonnet-4-5-20250929","max_tokens":64,STREAM` +
	`"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],` +
	`"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"notes"}},{"type":"text","text":"hi"}]},` +
	`{"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"EqQBCgIYAhIM"},{"type":"text","text":"Hello."}]},` +
	`{"role":"user","content":"Search it."}],` +
	`"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":2}],"future_field":{"x":1}}`

// TestNativeRelay sends a Messages request to an anthropic target as the
// client wrote it, only model rewritten, with the client's version and
// beta headers and the provider's key, and relays the answer untouched.
func TestNativeRelay(t *testing.T) {
	const message = `{"id":"msg_01XF","type":"message","role":"assistant","model":"claude-upstream-1","content":[{"type":"text","text":"Hi."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`
	stream := providertest.AnthropicEvent("message_start", `{"type":"message_start","message":{"id":"msg_01XF","type":"message","role":"assistant","model":"claude-upstream-1","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}`) +
		providertest.AnthropicEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`) +
		providertest.AnthropicEvent("ping", `{"type":"ping"}`) +
		providertest.AnthropicEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi."}}`) +
		providertest.AnthropicEvent("content_block_stop", `{"type":"content_block_stop","index":0}`) +
		providertest.AnthropicEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}}`) +
		providertest.AnthropicEvent("message_stop", `{"type":"message_stop"}`)
	for _, tc := range []struct {
		name, stream string
		reply        providertest.Reply
		want         string
	}{
		{"whole", ``, providertest.Anthropic.JSON(200, message), message},
		{"streamed", `"stream":true,`, providertest.Anthropic.Stream(stream), stream},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, tc.reply)
			base := serve(t, handler.Config{Routes: []handler.Route{{Name: "claude-*", Targets: []handler.Target{anthropicTarget(t, up, "claude-upstream-1")}}}})
			sent := strings.Replace(nativeRequest, "STREAM", tc.stream, 1)
			resp, body := post(t, base+"/v1/messages?beta=true", sent, map[string]string{
				"anthropic-version": "2026-10-21", "anthropic-beta": "mid-conversation-system-2026-04-07"})
			if resp.StatusCode != 200 || string(body) != tc.want {
				t.Fatalf("%d:\n%s\nwant\n%s", resp.StatusCode, body, tc.want)
			}
			got := up.Last(t)
			want := providertest.SetMembers(t, []byte(sent), "model", `"claude-upstream-1"`)
			if got.Path != "/v1/messages" || !bytes.Equal(got.Body, want) {
				t.Errorf("the upstream got %s %s\nwant %s", got.Path, got.Body, want)
			}
			for k, v := range map[string]string{"X-Api-Key": "sk-ant-upstream", "Anthropic-Version": "2026-10-21", "Anthropic-Beta": "mid-conversation-system-2026-04-07"} {
				if got.Header.Get(k) != v {
					t.Errorf("the upstream got %s %q, want %q", k, got.Header.Get(k), v)
				}
			}
		})
	}
}

// TestNativeError answers an error of the native upstream in Anthropic's
// shape, with its message.
func TestNativeError(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Anthropic.JSON(400, providertest.AnthropicError("invalid_request_error", "messages.0: bad block")))
	base := serve(t, handler.Config{Routes: []handler.Route{{Name: "claude-*", Targets: []handler.Target{anthropicTarget(t, up, "")}}}})
	resp, body := post(t, base+"/v1/messages", strings.Replace(nativeRequest, "STREAM", "", 1), nil)
	if resp.StatusCode != 400 {
		t.Fatalf("%d: %s", resp.StatusCode, body)
	}
	checkErrorBody(t, body, "invalid_request_error", "messages.0: bad block")
}

// TestNativeFallsBackToTranslated sends the translated request to the
// next target when the native one fails.
func TestNativeFallsBackToTranslated(t *testing.T) {
	native := providertest.NewUpstream(t, providertest.Anthropic.JSON(529, providertest.AnthropicError("overloaded_error", "Overloaded")))
	chat := providertest.NewUpstream(t, providertest.OpenAI.JSON(200, chatAnswerBody(`{"role":"assistant","content":"from chat"}`, "stop")))
	base := serve(t, handler.Config{Routes: []handler.Route{{Name: "claude-*", Targets: []handler.Target{anthropicTarget(t, native, ""), openAITarget(t, chat)}}}})
	resp, body := post(t, base+"/v1/messages", `{"model":"claude-x","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"text":"from chat"`) || native.Count() == 0 {
		t.Fatalf("%d: %s", resp.StatusCode, body)
	}
	var chatReq struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(chat.Last(t).Body, &chatReq); err != nil || len(chatReq.Messages) != 1 {
		t.Errorf("the chat upstream got %s", chat.Last(t).Body)
	}
}

// TestCountTokens asks Anthropic to count for an anthropic route and
// estimates for others.
func TestCountTokens(t *testing.T) {
	const req = `{"model":"MODEL","system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"What is in this picture?"},` +
		`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}],` +
		`"tools":[{"name":"look","description":"look closer","input_schema":{"type":"object"}}]}`
	native := providertest.NewUpstream(t, providertest.Anthropic.JSON(200, `{"input_tokens":1234}`))
	chat := providertest.NewUpstream(t, nil)
	base := gateway(t, chat, handler.Config{Routes: []handler.Route{{Name: "claude-*", Targets: []handler.Target{anthropicTarget(t, native, "claude-upstream-1")}}}})

	resp, body := post(t, base+"/v1/messages/count_tokens", strings.Replace(req, "MODEL", "claude-x", 1), map[string]string{"anthropic-beta": "token-counting-2024-11-01"})
	if resp.StatusCode != 200 || string(body) != `{"input_tokens":1234}` {
		t.Fatalf("%d: %s", resp.StatusCode, body)
	}
	got := native.Last(t)
	want := providertest.SetMembers(t, []byte(strings.Replace(req, "MODEL", "claude-x", 1)), "model", `"claude-upstream-1"`)
	if got.Path != "/v1/messages/count_tokens" || !bytes.Equal(got.Body, want) || got.Header.Get("X-Api-Key") != "sk-ant-upstream" || got.Header.Get("Anthropic-Beta") != "token-counting-2024-11-01" {
		t.Errorf("the upstream got %s %s %v", got.Path, got.Body, got.Header)
	}

	// The estimate: 9 + 24 characters of text and 4 + 11 + 17 of the
	// tool, 65 in all, are 17 tokens; 3 per message (system, user) and
	// tool; 1600 for the image.
	resp, body = post(t, base+"/v1/messages/count_tokens", strings.Replace(req, "MODEL", "fast", 1), nil)
	if resp.StatusCode != 200 || string(body) != `{"input_tokens":1626}` || chat.Count() != 0 {
		t.Fatalf("%d: %s", resp.StatusCode, body)
	}

	resp, body = post(t, base+"/v1/messages/count_tokens", strings.Replace(req, "MODEL", "nope", 1), nil)
	if resp.StatusCode != 404 {
		t.Fatalf("%d: %s", resp.StatusCode, body)
	}
	checkErrorBody(t, body, "not_found_error", "nope")
	resp, body = post(t, base+"/v1/messages/count_tokens", strings.Replace(req, "MODEL", "fast", 1), map[string]string{"x-api-key": "sk-wrong"})
	if resp.StatusCode != 401 {
		t.Fatalf("%d: %s", resp.StatusCode, body)
	}
	checkErrorBody(t, body, "authentication_error", "")
}
