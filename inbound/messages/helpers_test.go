package messages

import (
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/inbound/inboundtest"
	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/anthropic"
	"github.com/llmgateway/caddy-llm-gateway/providers/openai"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// gatewayKey is the one key the test gateways accept.
const gatewayKey = "sk-gateway-test"

// gateway serves the pipeline with the Messages door over real HTTP, so
// flushing and client disconnects behave as in production: the model
// "fast" goes to up, an OpenAI-compatible upstream.
func gateway(t *testing.T, up *providertest.Upstream, cfg handler.Config) string {
	t.Helper()
	cfg.Routes = append(cfg.Routes, handler.Route{Name: "fast", Targets: []handler.Target{openAITarget(t, up)}})
	return serve(t, cfg)
}

// openAITarget is an openai provider in front of up.
func openAITarget(t *testing.T, up *providertest.Upstream) handler.Target {
	t.Helper()
	p := &openai.OpenAI{Base: providers.Base{Name: "up", BaseURL: up.URL + "/v1", APIKey: "sk-upstream-secret"}}
	if err := p.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	return handler.Target{Provider: p}
}

// anthropicTarget is an anthropic provider in front of up, asked for
// model.
func anthropicTarget(t *testing.T, up *providertest.Upstream, model string) handler.Target {
	t.Helper()
	p := &anthropic.Anthropic{Base: providers.Base{Name: "claude", BaseURL: up.URL, APIKey: "sk-ant-upstream"}}
	if err := p.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	return handler.Target{Provider: p, Model: model}
}

// serve serves cfg's routes behind the Messages door, for callers with
// gatewayKey. The settings a test leaves unset get the root module's
// defaults.
func serve(t *testing.T, cfg handler.Config) string {
	t.Helper()
	cfg.Auth = handler.NewKeyAuth([]handler.APIKey{{SHA256: sha256.Sum256([]byte(gatewayKey)), Name: "test"}})
	cfg.Doors = []inbound.Door{&Door{}}
	return inboundtest.Serve(t, cfg)
}

// spentCounter is a request counter whose every window is used up.
type spentCounter struct{}

func (spentCounter) Add(context.Context, string, int64, handler.Limit) (handler.Window, error) {
	return handler.Window{Reset: time.Now().Add(time.Minute), Reached: true}, nil
}

// post sends a Messages request as the Anthropic SDKs do, with the key
// in x-api-key unless header says otherwise.
func post(t *testing.T, url, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("x-api-key", gatewayKey)
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
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

// chatAnswerBody is an OpenAI chat completion with message as its
// message and finish as its finish reason.
func chatAnswerBody(message, finish string) string {
	return `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":` + message +
		`,"logprobs":null,"finish_reason":"` + finish + `"}],"usage":{"prompt_tokens":30,"completion_tokens":7,"total_tokens":37,"prompt_tokens_details":{"cached_tokens":10}}}`
}

// chatStream is an OpenAI event stream of the chunks in testdata/stream's
// file, ended by [DONE].
func chatStream(t *testing.T, name string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range providertest.Lines(providertest.ReadFile(t, "testdata/stream/"+name+".chunks.jsonl")) {
		if string(line) != "FAIL" {
			b.WriteString(providertest.OpenAIEvent(string(line)))
		}
	}
	return b.String()
}
