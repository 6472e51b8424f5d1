package messages

import (
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/gemini"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestCountTokensGemini asks Gemini's countTokens for a gemini route, with
// the request translated as for generateContent, and answers its errors in
// Anthropic's shape.
func TestCountTokensGemini(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Gemini.JSON(http.StatusOK, `{"totalTokens":42}`))
	p := &gemini.Gemini{Base: providers.Base{Name: "gem", BaseURL: up.URL, APIKey: "gemini-upstream-key"}}
	if err := p.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	base := gateway(t, providertest.NewUpstream(t, nil), handler.Config{Routes: []handler.Route{
		{Name: "claude-*", Targets: []handler.Target{{Provider: p, Model: "gemini-2.5-flash"}}}}})
	const req = `{"model":"claude-haiku-4-5","system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],` +
		`"messages":[{"role":"user","content":"Hello"}],"tools":[{"name":"look","input_schema":{"type":"object"}}]}`

	resp, body := post(t, base+"/v1/messages/count_tokens", req, nil)
	if resp.StatusCode != 200 || string(body) != `{"input_tokens":42}` {
		t.Fatalf("%d: %s", resp.StatusCode, body)
	}
	got := up.Last(t)
	want := `{"generateContentRequest":{"model":"models/gemini-2.5-flash","systemInstruction":{"parts":[{"text":"Be brief."}]},` +
		`"contents":[{"role":"user","parts":[{"text":"Hello"}]}],"tools":[{"functionDeclarations":[{"name":"look","parametersJsonSchema":{"type":"object"}}]}]}}`
	if got.Path != "/v1beta/models/gemini-2.5-flash:countTokens" || got.Header.Get("X-Goog-Api-Key") != "gemini-upstream-key" ||
		providertest.Canonical(t, got.Body) != providertest.Canonical(t, []byte(want)) {
		t.Errorf("gemini got %s %s", got.Path, got.Body)
	}

	up.Reply(providertest.Gemini.JSON(http.StatusTooManyRequests, providertest.GoogleError(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", "")))
	resp, body = post(t, base+"/v1/messages/count_tokens", req, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%d %v: %s", resp.StatusCode, resp.Header, body)
	}
	checkErrorBody(t, body, "rate_limit_error", "Quota exceeded.")

	// A request that cannot be translated is refused before Gemini is asked.
	asked := up.Count()
	resp, body = post(t, base+"/v1/messages/count_tokens", strings.Replace(req, `"content":"Hello"`, `"content":[{"type":"document","source":{}}]`, 1), nil)
	if resp.StatusCode != 400 || up.Count() != asked {
		t.Fatalf("%d, %d calls: %s", resp.StatusCode, up.Count()-asked, body)
	}
	checkErrorBody(t, body, "invalid_request_error", "messages.0.content.0.type")
}
