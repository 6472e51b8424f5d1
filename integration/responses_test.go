package integration

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
)

// TestResponsesThroughCaddy runs OpenAI's Responses API through a real
// Caddy: translated onto an OpenAI-compatible upstream's chat API
// (`responses translate`), answered whole and streamed, kept by the
// default response store and continued with previous_response_id.
func TestResponsesThroughCaddy(t *testing.T) {
	up := fakeOpenAI(t)
	startGateway(t, strings.Replace(openAIBlock(up.URL), "api_key sk-upstream", "api_key sk-upstream\n\t\t\tresponses translate", 1))

	resp, body := do(t, "POST", "/v1/responses", `{"model":"fast","instructions":"Be brief.","input":"Say hello"}`, auth)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if err := openaischema.Validate(openaischema.Response, []byte(body)); err != nil {
		t.Errorf("%v\n%s", err, body)
	}
	var first struct {
		ID    string `json:"id"`
		Model string `json:"model"`
		Store bool   `json:"store"`
	}
	if err := json.Unmarshal([]byte(body), &first); err != nil || first.Model != "fast" || !first.Store ||
		!strings.Contains(body, `"text":"Hello from upstream."`) {
		t.Fatalf("%v %s", err, body)
	}
	if resp, got := do(t, "GET", "/v1/responses/"+first.ID, "", auth); resp.StatusCode != 200 || got != body {
		t.Errorf("GET: %d %s", resp.StatusCode, got)
	}

	resp, stream := do(t, "POST", "/v1/responses", `{"model":"fast","stream":true,"previous_response_id":"`+first.ID+`","input":"Again"}`, auth)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), stream)
	}
	if err := openaischema.ValidateResponseStream([]byte(stream)); err != nil {
		t.Errorf("%v\n%s", err, stream)
	}
	var sent struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(up.Last(t).Body, &sent); err != nil || len(sent.Messages) != 3 ||
		sent.Messages[0].Content != "Say hello" || sent.Messages[1].Role != "assistant" || sent.Messages[2].Content != "Again" {
		t.Errorf("the upstream got %s", up.Last(t).Body)
	}

	if resp, body := do(t, "POST", "/v1/responses", `{"model":"fast","input":"hi"}`, nil); resp.StatusCode != 401 ||
		openaischema.Validate(openaischema.Error, []byte(body)) != nil {
		t.Errorf("no key: %d %s", resp.StatusCode, body)
	}
}
