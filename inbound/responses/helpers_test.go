package responses

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/inbound/inboundtest"
	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/anthropic"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// claudeGateway serves the pipeline with door over real HTTP, the public
// model "claude" going to an anthropic provider in front of up as
// claude-sonnet-4-5. The settings cfg leaves unset get the root module's
// defaults.
func claudeGateway(t *testing.T, up *providertest.Upstream, cfg handler.Config, door *Door) string {
	t.Helper()
	p := providertest.Provision(t, &anthropic.Anthropic{Base: providers.Base{Name: "claude", BaseURL: up.URL, APIKey: "sk-ant-test"}})
	cfg.Routes = []handler.Route{{Name: "claude", Targets: []handler.Target{{Provider: p, Model: "claude-sonnet-4-5"}}}}
	cfg.Doors = []inbound.Door{door}
	return inboundtest.Serve(t, cfg)
}

// post sends a Responses request and reads the whole answer.
func post(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	return call(t, "POST", url+"/v1/responses", "", body)
}

// call sends a request with key as its bearer token (none when empty) and
// reads the whole answer.
func call(t *testing.T, method, url, key, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// anthropicStream is a Messages stream of the given content-block events
// between message_start and message_stop, ended with stopReason.
func anthropicStream(stopReason string, blocks ...string) string {
	var b strings.Builder
	b.WriteString(providertest.AnthropicEvent("message_start", `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":40,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":12}}}`))
	for _, block := range blocks {
		b.WriteString(block)
	}
	b.WriteString(providertest.AnthropicEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"`+stopReason+`","stop_sequence":null},"usage":{"output_tokens":9}}`))
	b.WriteString(providertest.AnthropicEvent("message_stop", `{"type":"message_stop"}`))
	return b.String()
}

// textBlock is the events of a text block at index i, in pieces.
func textBlock(i string, pieces ...string) string {
	var b strings.Builder
	b.WriteString(providertest.AnthropicEvent("content_block_start", `{"type":"content_block_start","index":`+i+`,"content_block":{"type":"text","text":""}}`))
	for _, p := range pieces {
		b.WriteString(providertest.AnthropicEvent("content_block_delta", `{"type":"content_block_delta","index":`+i+`,"delta":{"type":"text_delta","text":`+quote(p)+`}}`))
	}
	b.WriteString(providertest.AnthropicEvent("content_block_stop", `{"type":"content_block_stop","index":`+i+`}`))
	return b.String()
}

// toolBlock is the events of a tool_use block at index i, its input in
// pieces.
func toolBlock(i, id, name string, pieces ...string) string {
	var b strings.Builder
	b.WriteString(providertest.AnthropicEvent("content_block_start", `{"type":"content_block_start","index":`+i+`,"content_block":{"type":"tool_use","id":"`+id+`","name":"`+name+`","input":{}}}`))
	for _, p := range pieces {
		b.WriteString(providertest.AnthropicEvent("content_block_delta", `{"type":"content_block_delta","index":`+i+`,"delta":{"type":"input_json_delta","partial_json":`+quote(p)+`}}`))
	}
	b.WriteString(providertest.AnthropicEvent("content_block_stop", `{"type":"content_block_stop","index":`+i+`}`))
	return b.String()
}

// quote is s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
