package responses

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/inbound/inboundtest"
	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/anthropic"
	"github.com/llmgateway/caddy-llm-gateway/providers/azure"
	"github.com/llmgateway/caddy-llm-gateway/providers/openai"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// nativeRequest has what no translation keeps: encrypted reasoning, a
// built-in tool, and a field newer than any struct.
const nativeRequest = `{"model":"gpt",STREAM"input":[{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAAA"},` +
	`{"role":"user","content":"hi"}],"tools":[{"type":"web_search"}],"include":["reasoning.encrypted_content"],"future_field":{"x":1}}`

// openaiTarget is an openai provider named "oa" in front of up.
func openaiTarget(t *testing.T, up *providertest.Upstream, model, mode string) handler.Target {
	p := providertest.Provision(t, &openai.OpenAI{Base: providers.Base{Name: "oa", BaseURL: up.URL + "/v1", APIKey: "sk-up"}, Responses: mode})
	return handler.Target{Provider: p, Model: model}
}

// claudeTarget is an anthropic provider named "claude" in front of up.
func claudeTarget(t *testing.T, up *providertest.Upstream) handler.Target {
	p := providertest.Provision(t, &anthropic.Anthropic{Base: providers.Base{Name: "claude", BaseURL: up.URL, APIKey: "sk-ant-test"}})
	return handler.Target{Provider: p, Model: "claude-sonnet-4-5"}
}

// twoCallers is a response store with the callers "key-a" and "key-b".
func twoCallers(cfg handler.Config, routes ...handler.Route) handler.Config {
	cfg.Auth = handler.NewKeyAuth([]handler.APIKey{{SHA256: sha256.Sum256([]byte("key-a")), Name: "a"}, {SHA256: sha256.Sum256([]byte("key-b")), Name: "b"}})
	cfg.Routes = routes
	cfg.Doors = []inbound.Door{&Door{Store: &Store{TTL: time.Hour, MaxBytes: 1 << 20}}}
	return cfg
}

// TestNativeRelay sends a Responses request to an openai target as the
// client wrote it, only model rewritten, and relays the answer untouched.
func TestNativeRelay(t *testing.T) {
	response := `{"id":"resp_up1","object":"response","created_at":1767225600,"status":"completed","model":"gpt-upstream","output":[],"usage":{"input_tokens":11,"output_tokens":5,"total_tokens":16}}`
	stream := providertest.ResponsesEvent("response.created", `{"type":"response.created","sequence_number":0,"response":{"id":"resp_up1","status":"in_progress"}}`) +
		providertest.ResponsesEvent("response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":1,"delta":"Hi"}`) +
		providertest.ResponsesEvent("response.completed", `{"type":"response.completed","sequence_number":2,"response":`+response+`}`)
	for _, tc := range []struct {
		name, stream string
		reply        providertest.Reply
		want         string
	}{
		{"whole", ``, providertest.OpenAI.JSON(200, response), response},
		{"streamed", `"stream":true,`, providertest.OpenAI.Stream(stream), stream},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, tc.reply)
			base := inboundtest.Serve(t, handler.Config{
				Routes: []handler.Route{{Name: "gpt", Targets: []handler.Target{openaiTarget(t, up, "gpt-upstream", "")}}},
				Doors:  []inbound.Door{&Door{}}})
			sent := strings.Replace(nativeRequest, "STREAM", tc.stream, 1)
			resp, body := post(t, base, sent)
			if resp.StatusCode != 200 || string(body) != tc.want {
				t.Fatalf("%d:\n%s\nwant\n%s", resp.StatusCode, body, tc.want)
			}
			got := up.Last(t)
			want := providertest.SetMembers(t, []byte(sent), "model", `"gpt-upstream"`)
			if got.Path != "/v1/responses" || !bytes.Equal(got.Body, want) || got.Header.Get("Authorization") != "Bearer sk-up" {
				t.Errorf("the upstream got %s %s %q\nwant %s", got.Path, got.Body, got.Header.Get("Authorization"), want)
			}
		})
	}
}

// TestNativeError answers the upstream's error in OpenAI's shape, with
// its status and message, and falls back to the next target before the
// first byte.
func TestNativeError(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.OpenAI.JSON(400, providertest.OpenAIError("Unknown parameter: 'future_field'.", "invalid_request_error", "unknown_parameter")))
	base := inboundtest.Serve(t, handler.Config{
		Routes: []handler.Route{{Name: "gpt", Targets: []handler.Target{openaiTarget(t, up, "", "")}}},
		Doors:  []inbound.Door{&Door{}}})
	resp, body := post(t, base, strings.Replace(nativeRequest, "STREAM", "", 1))
	if resp.StatusCode != 400 || !bytes.Contains(body, []byte(`"message":"Unknown parameter: 'future_field'."`)) || !bytes.Contains(body, []byte(`"code":"unknown_parameter"`)) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}

	down := providertest.NewUpstream(t, providertest.OpenAI.JSON(503, providertest.OpenAIError("overloaded", "server_error", "")))
	claude := providertest.NewUpstream(t, claudeText("From Claude."))
	base = inboundtest.Serve(t, handler.Config{
		Routes: []handler.Route{{Name: "gpt", Targets: []handler.Target{openaiTarget(t, down, "", ""), claudeTarget(t, claude)}}},
		Doors:  []inbound.Door{&Door{}}})
	resp, body = post(t, base, `{"model":"gpt","input":"hi"}`)
	if resp.StatusCode != 200 || !strings.Contains(answerText(readResponse(t, body)), "From Claude.") || down.Count() == 0 {
		t.Fatalf("%d %s (native upstream asked %d times)", resp.StatusCode, body, down.Count())
	}
}

// TestAzureResponses relays to Azure's Responses API at its v1 and
// dated paths, the deployment as the model, and translates on a dated
// version older than the Responses API or when told to.
func TestAzureResponses(t *testing.T) {
	for _, tc := range []struct {
		version, mode, path, query string
	}{
		{"v1", "", "/openai/v1/responses", ""},
		{"2025-04-01-preview", "", "/openai/responses", "api-version=2025-04-01-preview"},
		{"2024-10-21", "", "/openai/deployments/dep-1/chat/completions", "api-version=2024-10-21"},
		{"v1", "translate", "/openai/v1/chat/completions", ""},
	} {
		t.Run(tc.version+tc.mode, func(t *testing.T) {
			up := providertest.NewUpstream(t, &providertest.ResponsesAPI{Reply: "Hi."})
			if strings.Contains(tc.path, "chat") {
				up.Reply(providertest.OpenAI.JSON(200, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hi."},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`))
			}
			p := providertest.Provision(t, &azure.Azure{Base: providers.Base{Name: "az", BaseURL: up.URL, APIKey: "az-key"},
				APIVersion: tc.version, Deployments: map[string]string{"gpt-4o": "dep-1"}, Responses: tc.mode})
			base := inboundtest.Serve(t, handler.Config{
				Routes: []handler.Route{{Name: "gpt", Targets: []handler.Target{{Provider: p, Model: "gpt-4o"}}}},
				Doors:  []inbound.Door{&Door{}}})
			resp, body := post(t, base, `{"model":"gpt","input":"hi"}`)
			if resp.StatusCode != 200 || answerText(readResponse(t, body)) != "Hi." {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			got := up.Last(t)
			if got.Path != tc.path || got.Query != tc.query || got.Header.Get("Api-Key") != "az-key" {
				t.Errorf("the upstream got %s?%s %v", got.Path, got.Query, got.Header)
			}
			if !strings.Contains(tc.path, "chat") && !bytes.Contains(got.Body, []byte(`"model":"dep-1"`)) {
				t.Errorf("the upstream got the model of %s", got.Body)
			}
		})
	}
}

// TestNativeKeptResponses asks the provider that keeps a response it
// relayed for it again, for its caller alone, and forgets it once the
// provider deleted it.
func TestNativeKeptResponses(t *testing.T) {
	up := providertest.NewUpstream(t, &providertest.ResponsesAPI{Reply: "Hello."})
	base := inboundtest.Serve(t, twoCallers(handler.Config{}, handler.Route{Name: "gpt", Targets: []handler.Target{openaiTarget(t, up, "", "")}}))
	resp, created := call(t, "POST", base+"/v1/responses", "key-a", `{"model":"gpt","input":"hi"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, created)
	}
	id := readResponse(t, created).ID

	resp, got := call(t, "GET", base+"/v1/responses/"+id, "key-a", "")
	if resp.StatusCode != 200 || !bytes.Equal(got, created) || up.Last(t).Method != "GET" || up.Last(t).Path != "/v1/responses/"+id {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	resp, got = call(t, "GET", base+"/v1/responses/"+id+"/input_items?order=asc", "key-a", "")
	if last := up.Last(t); resp.StatusCode != 200 || !bytes.Contains(got, []byte(`"content":"hi"`)) || last.Path != "/v1/responses/"+id+"/input_items" || last.Query != "order=asc" {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	asked := up.Count()
	for _, method := range []string{"GET", "DELETE"} {
		if resp, got := call(t, method, base+"/v1/responses/"+id, "key-b", ""); resp.StatusCode != 404 || up.Count() != asked {
			t.Fatalf("another caller's %s: %d %s", method, resp.StatusCode, got)
		}
	}
	resp, got = call(t, "DELETE", base+"/v1/responses/"+id, "key-a", "")
	if resp.StatusCode != 200 || !bytes.Contains(got, []byte(`"deleted":true`)) || up.Last(t).Method != "DELETE" {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	if resp, got = call(t, "GET", base+"/v1/responses/"+id, "key-a", ""); resp.StatusCode != 404 || up.Count() != asked+1 {
		t.Fatalf("after DELETE: %d %s", resp.StatusCode, got)
	}

	resp, created = call(t, "POST", base+"/v1/responses", "key-a", `{"model":"gpt","input":"hi","store":false}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, created)
	}
	if resp, got = call(t, "GET", base+"/v1/responses/"+readResponse(t, created).ID, "key-a", ""); resp.StatusCode != 404 {
		t.Fatalf("a response made with store false: %d %s", resp.StatusCode, got)
	}
}

// TestNativePreviousResponse continues a response a provider keeps on
// that provider alone, refuses clearly where the model's route no longer
// has it, and spells out the gateway's own (translated) response for a
// native target.
func TestNativePreviousResponse(t *testing.T) {
	oa := providertest.NewUpstream(t, &providertest.ResponsesAPI{Reply: "Hello."})
	claude := providertest.NewUpstream(t, claudeText("From Claude."))
	gpt := openaiTarget(t, oa, "", "")
	base := inboundtest.Serve(t, twoCallers(handler.Config{},
		handler.Route{Name: "gpt", Targets: []handler.Target{gpt}},
		handler.Route{Name: "mix", Targets: []handler.Target{claudeTarget(t, claude), gpt}},
		handler.Route{Name: "claude", Targets: []handler.Target{claudeTarget(t, claude)}}))

	_, created := call(t, "POST", base+"/v1/responses", "key-a", `{"model":"gpt","input":"hi"}`)
	first := readResponse(t, created).ID
	resp, body := call(t, "POST", base+"/v1/responses", "key-a", `{"model":"mix","input":"again","previous_response_id":"`+first+`"}`)
	if resp.StatusCode != 200 || claude.Count() != 0 {
		t.Fatalf("%d %s (claude asked %d times)", resp.StatusCode, body, claude.Count())
	}
	if got := lastBody(t, oa); got["previous_response_id"] != first || got["model"] != "mix" {
		t.Errorf("the keeper got %v", got)
	}
	resp, body = call(t, "POST", base+"/v1/responses", "key-a", `{"model":"claude","input":"again","previous_response_id":"`+first+`"}`)
	if resp.StatusCode != 400 || !bytes.Contains(body, []byte(`"code":"previous_response_unavailable"`)) || claude.Count() != 0 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if resp, body = call(t, "POST", base+"/v1/responses", "key-b", `{"model":"gpt","input":"again","previous_response_id":"`+first+`"}`); resp.StatusCode != 404 {
		t.Fatalf("another caller: %d %s", resp.StatusCode, body)
	}

	_, created = call(t, "POST", base+"/v1/responses", "key-a", `{"model":"claude","input":"My name is Ada."}`)
	translated := readResponse(t, created).ID
	resp, body = call(t, "POST", base+"/v1/responses", "key-a", `{"model":"gpt","input":[{"role":"user","content":"And mine?"}],"previous_response_id":"`+translated+`"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	got := lastBody(t, oa)
	if _, ok := got["previous_response_id"]; ok {
		t.Errorf("previous_response_id went upstream: %v", got)
	}
	input, _ := json.Marshal(got["input"])
	want := `[{"content":[{"text":"My name is Ada.","type":"input_text"}],"role":"user","status":"completed","type":"message"},` +
		`{"content":[{"annotations":[],"logprobs":[],"text":"From Claude.","type":"output_text"}],"role":"assistant","status":"completed","type":"message"},` +
		`{"content":"And mine?","role":"user"}]`
	if string(input) != want {
		t.Errorf("input upstream:\n%s\nwant\n%s", input, want)
	}
}

// answerText is the text of a Response's messages.
func answerText(a answered) string {
	var b strings.Builder
	for _, item := range a.Output {
		for _, c := range item.Content {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

// lastBody is the body of the last request u got.
func lastBody(t *testing.T, u *providertest.Upstream) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(u.Last(t).Body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
