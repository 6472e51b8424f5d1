package gemini

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// TestRequestGolden sends each testdata/request_<name>.openai.json through
// the provider and compares what the fake upstream received with
// request_<name>.gemini.json, along with the path, query and key header.
func TestRequestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/request_*.openai.json")
	if err != nil || len(files) == 0 {
		t.Fatal("no request golden files", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "request_"), ".openai.json")
		t.Run(name, func(t *testing.T) {
			fake := newFake(t)
			g := newGemini(t, fake.URL)
			body := providertest.ReadFile(t, file)
			var probe struct{ Stream bool }
			if err := json.Unmarshal(body, &probe); err != nil {
				t.Fatal(err)
			}
			resp, err := g.Send(t.Context(), chatCall(body, probe.Stream))
			if err != nil {
				t.Fatal(err)
			}
			wantPath, wantQuery, wantAccept := "/v1beta/models/gemini-2.5-flash:generateContent", "", "application/json"
			if probe.Stream {
				if _, err := providertest.Drain(t, resp.Stream); err != nil {
					t.Fatalf("stream ended with %v", err)
				}
				wantPath, wantQuery, wantAccept = "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "alt=sse", "text/event-stream"
			} else {
				providertest.ReadAnswer(t, resp)
			}
			seen := fake.Last(t)
			if seen.Method != http.MethodPost || seen.Path != wantPath || seen.Query != wantQuery {
				t.Errorf("upstream saw %s %s?%s, want POST %s?%s", seen.Method, seen.Path, seen.Query, wantPath, wantQuery)
			}
			if seen.Header.Get("X-Goog-Api-Key") != testKey || seen.Header.Get("Accept") != wantAccept {
				t.Errorf("upstream saw key %q accept %q", seen.Header.Get("X-Goog-Api-Key"), seen.Header.Get("Accept"))
			}
			providertest.Golden(t, "testdata/request_"+name+".gemini.json", seen.Body)
		})
	}
}

// TestRefusedRequests covers what the provider answers with a 400 itself,
// without calling the upstream.
func TestRefusedRequests(t *testing.T) {
	user := `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name, body, param, code string
	}{
		{"six stop sequences", `{` + user + `,"stop":["1","2","3","4","5","6"]}`, "stop", "unsupported_parameter"},
		{"logprobs", `{` + user + `,"logprobs":true,"top_logprobs":2}`, "logprobs", "unsupported_parameter"},
		{"logit bias", `{` + user + `,"logit_bias":{"50256":-100}}`, "logit_bias", "unsupported_parameter"},
		{"unknown effort", `{` + user + `,"reasoning_effort":"extreme"}`, "reasoning_effort", "invalid_value"},
		{"text response format unknown", `{` + user + `,"response_format":{"type":"grammar"}}`, "response_format", "unsupported_parameter"},
		{"custom tool", `{` + user + `,"tools":[{"type":"custom","custom":{"name":"x"}}]}`, "tools[0].type", "unsupported_parameter"},
		{"tool_choice without tools", `{` + user + `,"tool_choice":"required"}`, "tool_choice", "invalid_value"},
		{"unknown tool_call_id", `{"messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"call_x","content":"1"}]}`, "messages[1].tool_call_id", "invalid_value"},
		{"arguments not JSON", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`, "messages[1].tool_calls[0].function.arguments", "invalid_value"},
		{"arguments not an object", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[1].tool_calls[0].function.arguments", "invalid_value"},
		{"image in a tool result", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"a","content":[{"type":"image_url","image_url":{"url":"https://x.test/a.png"}}]}]}`, "messages[2].content", "unsupported_parameter"},
		{"ftp image", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x.test/a.png"}}]}]}`, "messages[0].content", "invalid_value"},
		{"data URL not base64", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}`, "messages[0].content", "invalid_value"},
		{"only a system message", `{"messages":[{"role":"system","content":"be nice"}]}`, "messages", "invalid_value"},
		{"legacy function role", `{"messages":[{"role":"function","name":"f","content":"1"}]}`, "messages[0].role", "invalid_value"},
	}
	fake := newFake(t)
	g := newGemini(t, fake.URL)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := g.Send(t.Context(), chatCall([]byte(tc.body), false))
			e, ok := errors.AsType[*providers.Error](err)
			if !ok {
				t.Fatalf("got %v, want a 400", err)
			}
			if e.Status != http.StatusBadRequest || e.Param != tc.param || e.Code != tc.code || e.Type != "invalid_request_error" {
				t.Errorf("got %d param %q code %q type %q (%s), want 400 param %q code %q", e.Status, e.Param, e.Code, e.Type, e.Message, tc.param, tc.code)
			}
		})
	}
	if n := fake.Count(); n != 0 {
		t.Errorf("the upstream was called %d times", n)
	}
}

func TestLegacyCompletionsNotSupported(t *testing.T) {
	g := newGemini(t, "http://127.0.0.1:1")
	_, err := g.Send(t.Context(), &providers.Call{Op: providers.Completions, Model: "m", Body: []byte(`{"prompt":"x"}`)})
	if e, ok := errors.AsType[*providers.Error](err); !ok || e.Status != http.StatusBadRequest || e.Code != "unsupported_operation" {
		t.Errorf("got %v", err)
	}
}

// TestModelPaths checks the URL of each kind of model name.
func TestModelPaths(t *testing.T) {
	g := newGemini(t, "https://generativelanguage.googleapis.com/v1beta/")
	cases := map[string]string{
		"gemini-2.5-flash":        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
		"models/gemini-2.5-pro":   "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent",
		"tunedModels/my-model-7":  "https://generativelanguage.googleapis.com/v1beta/tunedModels/my-model-7:generateContent",
		"odd name?with/separator": "https://generativelanguage.googleapis.com/v1beta/models/odd%20name%3Fwith%2Fseparator:generateContent",
	}
	for model, want := range cases {
		if got := g.target(model, "generateContent"); got != want {
			t.Errorf("%s: got %s, want %s", model, got, want)
		}
	}
}

func TestToolChoiceModes(t *testing.T) {
	tools := `"tools":[{"type":"function","function":{"name":"f"}}]`
	cases := []struct{ body, want string }{
		{`{"tool_choice":"auto",` + tools + `}`, `{"functionCallingConfig":{"mode":"AUTO"}}`},
		{`{"tool_choice":"none",` + tools + `}`, `{"functionCallingConfig":{"mode":"NONE"}}`},
		{`{"tool_choice":"required",` + tools + `}`, `{"functionCallingConfig":{"mode":"ANY"}}`},
		{`{"tool_choice":{"type":"function","function":{"name":"f"}},` + tools + `}`, `{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}`},
		{`{` + tools + `}`, `null`},
		{`{"tool_choice":"auto"}`, `null`},
		{`{"tool_choice":"none"}`, `null`},
	}
	for _, tc := range cases {
		body := strings.Replace(tc.body, "{", `{"messages":[{"role":"user","content":"hi"}],`, 1)
		req, perr := translate.DecodeChat([]byte(body))
		if perr != nil {
			t.Fatal(perr)
		}
		native, perr := buildRequest(req)
		if perr != nil {
			t.Fatalf("%s: %v", tc.body, perr)
		}
		got, _ := json.Marshal(native.ToolConfig)
		if string(got) != tc.want {
			t.Errorf("%s: toolConfig %s, want %s", tc.body, got, tc.want)
		}
	}
}
