package dashscope

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestRequestGolden sends OpenAI requests and compares what the fake
// DashScope receives with testdata/request/<name>.out.json, plus the path,
// query and headers.
func TestRequestGolden(t *testing.T) {
	cases := []struct {
		name string
		path string
		// sse: the upstream call asks for an event stream.
		sse bool
	}{
		{"plain", textPath, false},
		{"system", textPath, false},
		{"params", textPath, false},
		{"stop_list", textPath, false},
		{"image", multimodalPath, false},
		{"multimodal_model", multimodalPath, false},
		{"tools", textPath, false},
		{"tool_required", textPath, false},
		{"tool_named", textPath, false},
		{"reasoning", textPath, true}, // thinking is streamed upstream and gathered
		{"reasoning_none", textPath, false},
		{"thinking_vendor", textPath, false},
		{"stream", textPath, true},
		{"stream_only", textPath, true},
		{"json_schema", textPath, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t)
			d := newDashScope(t, fake.URL)
			call := chatCall(t, string(providertest.ReadFile(t, "testdata/request/"+tc.name+".in.json")))
			resp, err := d.Send(t.Context(), call)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if call.Stream {
				if _, err := providertest.Drain(t, resp.Stream); err != nil {
					t.Fatalf("stream: %v", err)
				}
			} else {
				resp.Close()
			}
			got := fake.Last(t)
			providertest.Golden(t, "testdata/request/"+tc.name+".out.json", got.Body)
			if got.Method != http.MethodPost || got.Path != tc.path || got.Query != "" {
				t.Errorf("upstream saw %s %s?%s, want POST %s", got.Method, got.Path, got.Query, tc.path)
			}
			wantHeader := map[string]string{
				"Authorization":   "Bearer " + testKey,
				"Content-Type":    "application/json",
				"X-Dashscope-Sse": "",
				"Accept":          "application/json",
			}
			if tc.sse {
				wantHeader["X-Dashscope-Sse"] = "enable"
				wantHeader["Accept"] = "text/event-stream"
			}
			for k, want := range wantHeader {
				if v := got.Header.Get(k); v != want {
					t.Errorf("header %s = %q, want %q", k, v, want)
				}
			}
		})
	}
}

// TestRequestRefused covers requests DashScope cannot honour: they get a
// 400 before any upstream call.
func TestRequestRefused(t *testing.T) {
	cases := []struct {
		name, body, param, code string
	}{
		{"n above 4", `{"model":"qwen-plus","n":5,"messages":[{"role":"user","content":"x"}]}`, "n", "unsupported_parameter"},
		{"logprobs", `{"model":"qwen-plus","logprobs":true,"top_logprobs":2,"messages":[{"role":"user","content":"x"}]}`, "logprobs", "unsupported_parameter"},
		{"unknown effort", `{"model":"qwen-plus","reasoning_effort":"extreme","messages":[{"role":"user","content":"x"}]}`, "reasoning_effort", "unsupported_parameter"},
		{"custom tool", `{"model":"qwen-plus","tools":[{"type":"custom","custom":{"name":"x"}}],"messages":[{"role":"user","content":"x"}]}`, "tools[0]", "unsupported_parameter"},
		{"response format", `{"model":"qwen-plus","response_format":{"type":"grammar"},"messages":[{"role":"user","content":"x"}]}`, "response_format", "unsupported_parameter"},
		{"tool without id", `{"model":"qwen-plus","messages":[{"role":"user","content":"x"},{"role":"tool","content":"y"}]}`, "messages[1].tool_call_id", "unsupported_parameter"},
		{"enable_thinking type", `{"model":"qwen-plus","enable_thinking":"yes","messages":[{"role":"user","content":"x"}]}`, "enable_thinking", "invalid_value"},
		{"audio part", `{"model":"qwen-plus","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]}]}`, "messages[0].content", "invalid_value"},
		{"no messages", `{"model":"qwen-plus","messages":[]}`, "messages", "invalid_value"},
		{"not json", `{"model":`, "", "invalid_value"},
	}
	fake := newFake(t)
	d := newDashScope(t, fake.URL)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			call := &providers.Call{Op: providers.Chat, Model: "qwen-plus", ClientModel: "qwen-plus", Body: []byte(tc.body)}
			_, err := d.Send(t.Context(), call)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Status != 400 || pe.Type != "invalid_request_error" || pe.Param != tc.param || pe.Code != tc.code {
				t.Fatalf("got %#v, want a 400 on %q with code %s", err, tc.param, tc.code)
			}
		})
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("%d refused requests reached the upstream", n)
	}
}

func TestLegacyCompletionsRefused(t *testing.T) {
	fake := newFake(t)
	d := newDashScope(t, fake.URL)
	_, err := d.Send(t.Context(), &providers.Call{Op: providers.Completions, Model: "qwen-plus", Body: []byte(`{"model":"qwen-plus","prompt":"x"}`)})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Status != 400 || pe.Code != "unsupported_operation" || !strings.Contains(pe.Message, "/v1/completions") {
		t.Fatalf("got %v", err)
	}
}

// TestCallerKeyPassthrough: with `api_key passthrough` the caller's own
// DashScope key goes upstream, as the public DashScope service does.
func TestCallerKeyPassthrough(t *testing.T) {
	fake := newFake(t)
	d := providertest.Provision(t, &DashScope{Base: providers.Base{Name: "ds", BaseURL: fake.URL, APIKey: providers.KeyPassthrough}})
	if !d.UsesCallerKey(false) {
		t.Fatal("passthrough provider does not use the caller's key")
	}
	for _, stream := range []bool{false, true} {
		call := chatCall(t, `{"model":"farui-plus","messages":[{"role":"user","content":"你好！"}]}`)
		call.CallerKey, call.Stream = "sk-caller-own", stream
		resp, err := d.Send(t.Context(), call)
		if err != nil {
			t.Fatal(err)
		}
		resp.Close()
		if got := fake.Last(t).Header.Get("Authorization"); got != "Bearer sk-caller-own" {
			t.Errorf("stream=%v: upstream got Authorization %q", stream, got)
		}
	}
}
