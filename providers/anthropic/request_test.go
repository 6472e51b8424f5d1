package anthropic

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

const (
	minimalMessage = `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}`
	minimalStream  = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
)

// TestRequestGolden sends each testdata/request/<name>.openai.json through
// the provider and compares what the upstream received with
// <name>.anthropic.json.
func TestRequestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/request/*.openai.json")
	if len(files) == 0 {
		t.Fatal("no request cases")
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".openai.json")
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.Anthropic.JSON(http.StatusOK, minimalMessage))
			a := newAnthropic(t, up.URL)
			body := providertest.ReadFile(t, in)
			call := chatCall(t, body)
			if call.Stream {
				up.Reply(providertest.Anthropic.Stream(minimalStream))
			}
			resp, err := a.Send(t.Context(), call)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if call.Stream {
				if _, err := providertest.Drain(t, resp.Stream); err != nil {
					t.Fatal(err)
				}
			} else {
				_ = resp.Close()
			}
			got := up.Last(t)
			if got.Method != http.MethodPost || got.Path != "/v1/messages" || got.Query != "" {
				t.Errorf("upstream saw %s %s?%s, want POST /v1/messages", got.Method, got.Path, got.Query)
			}
			wantHeader := map[string]string{
				"X-Api-Key":         testKey,
				"Anthropic-Version": DefaultVersion,
				"Anthropic-Beta":    "interleaved-thinking-2025-05-14",
				"Content-Type":      "application/json",
				"Authorization":     "",
			}
			if call.Stream {
				wantHeader["Accept"] = "text/event-stream"
			}
			for k, v := range wantHeader {
				if got.Header.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, got.Header.Get(k), v)
				}
			}
			providertest.Golden(t, filepath.Join("testdata/request", name+".anthropic.json"), got.Body)
		})
	}
}

// TestRequestRefused checks the requests answered with a 400 before any
// upstream call.
func TestRequestRefused(t *testing.T) {
	const user = `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name, body, param, code string
	}{
		{"n above 1", `{"model":"m","n":2,` + user + `}`, "n", "unsupported_parameter"},
		{"logprobs", `{"model":"m","logprobs":true,` + user + `}`, "logprobs", "unsupported_parameter"},
		{"temperature above 1", `{"model":"m","temperature":1.5,` + user + `}`, "temperature", "invalid_value"},
		{"negative temperature", `{"model":"m","temperature":-0.1,` + user + `}`, "temperature", "invalid_value"},
		{"unknown effort", `{"model":"m","reasoning_effort":"extreme",` + user + `}`, "reasoning_effort", "invalid_value"},
		{"max_tokens within the budget", `{"model":"m","reasoning_effort":"medium","max_tokens":4096,` + user + `}`, "max_tokens", "invalid_value"},
		{"invalid arguments", `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`, "messages[1].tool_calls[0].function.arguments", "invalid_value"},
		{"array arguments", `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[1].tool_calls[0].function.arguments", "invalid_value"},
		{"tool message without id", `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"tool","content":"r"}]}`, "messages[1].tool_call_id", "invalid_value"},
		{"image neither data nor http", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`, "messages[0].content[0].image_url.url", "invalid_value"},
		{"non-function tool", `{"model":"m","tools":[{"type":"custom","custom":{"name":"x"}}],` + user + `}`, "tools[0].type", "unsupported_parameter"},
		{"tool without name", `{"model":"m","tools":[{"type":"function","function":{"description":"x"}}],` + user + `}`, "tools[0].function.name", "invalid_value"},
		{"response_format with tools", `{"model":"m","response_format":{"type":"json_object"},"tools":[{"type":"function","function":{"name":"f"}}],` + user + `}`, "response_format", "unsupported_parameter"},
		{"response_format with reasoning", `{"model":"m","response_format":{"type":"json_object"},"reasoning_effort":"low",` + user + `}`, "response_format", "unsupported_parameter"},
		{"json_schema without schema", `{"model":"m","response_format":{"type":"json_schema","json_schema":{"name":"x"}},` + user + `}`, "response_format.json_schema.schema", "invalid_value"},
		{"unknown response_format", `{"model":"m","response_format":{"type":"yaml"},` + user + `}`, "response_format.type", "invalid_value"},
		{"only system messages", `{"model":"m","messages":[{"role":"system","content":"be nice"},{"role":"user","content":""}]}`, "messages", "invalid_value"},
		{"stop of the wrong type", `{"model":"m","stop":5,` + user + `}`, "stop", "invalid_value"},
	}
	up := providertest.NewUpstream(t, providertest.Anthropic.JSON(http.StatusOK, minimalMessage))
	a := newAnthropic(t, up.URL)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := up.Count()
			_, err := send(t, a, []byte(tc.body))
			var e *providers.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want a *providers.Error", err)
			}
			if e.Status != http.StatusBadRequest || e.Type != "invalid_request_error" || e.Param != tc.param || e.Code != tc.code {
				t.Errorf("got %d %s param=%q code=%q (%s), want 400 invalid_request_error param=%q code=%q",
					e.Status, e.Type, e.Param, e.Code, e.Message, tc.param, tc.code)
			}
			if up.Count() != before {
				t.Error("the request reached the upstream")
			}
		})
	}
}

// nativeRequest sends body and returns the upstream request as a map.
func nativeRequest(t *testing.T, body string) map[string]json.RawMessage {
	t.Helper()
	up := providertest.NewUpstream(t, providertest.Anthropic.JSON(http.StatusOK, minimalMessage))
	resp, err := send(t, newAnthropic(t, up.URL), []byte(body))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	_ = resp.Close()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(up.Last(t).Body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestToolChoice(t *testing.T) {
	const tools = `"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name, extra, want string
	}{
		{"absent", ``, ``},
		{"auto", `"tool_choice":"auto",`, `{"type":"auto"}`},
		{"required", `"tool_choice":"required",`, `{"type":"any"}`},
		{"none", `"tool_choice":"none",`, `{"type":"none"}`},
		{"named", `"tool_choice":{"type":"function","function":{"name":"f"}},`, `{"type":"tool","name":"f"}`},
		{"no parallel calls", `"parallel_tool_calls":false,`, `{"type":"auto","disable_parallel_tool_use":true}`},
		{"required, no parallel calls", `"tool_choice":"required","parallel_tool_calls":false,`, `{"type":"any","disable_parallel_tool_use":true}`},
		{"named, no parallel calls", `"tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false,`, `{"type":"tool","name":"f","disable_parallel_tool_use":true}`},
		{"none, no parallel calls", `"tool_choice":"none","parallel_tool_calls":false,`, `{"type":"none"}`},
		{"parallel calls allowed", `"parallel_tool_calls":true,`, ``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := nativeRequest(t, `{"model":"m",`+tc.extra+tools+`}`)["tool_choice"]
			if tc.want == "" {
				if got != nil {
					t.Errorf("tool_choice = %s, want none sent", got)
				}
				return
			}
			if got == nil || providertest.Canonical(t, got) != providertest.Canonical(t, []byte(tc.want)) {
				t.Errorf("tool_choice = %s, want %s", got, tc.want)
			}
		})
	}
	if got := nativeRequest(t, `{"model":"m","tool_choice":"required","messages":[{"role":"user","content":"hi"}]}`)["tool_choice"]; got != nil {
		t.Errorf("tool_choice without tools = %s, want it left out", got)
	}
}

func TestThinkingBudgetAndMaxTokens(t *testing.T) {
	cases := []struct {
		effort    string
		maxTokens string // "" for absent
		wantMax   string
		wantThink string
	}{
		{"", "", "4096", ""},
		{"none", "", "4096", ""},
		{"minimal", "", "4096", ""},
		{"low", "", "5120", `{"type":"enabled","budget_tokens":1024}`},
		{"medium", "", "8192", `{"type":"enabled","budget_tokens":4096}`},
		{"high", "", "20480", `{"type":"enabled","budget_tokens":16384}`},
		{"xhigh", "", "36864", `{"type":"enabled","budget_tokens":32768}`},
		{"low", "2000", "2000", `{"type":"enabled","budget_tokens":1024}`},
		{"high", "16385", "16385", `{"type":"enabled","budget_tokens":16384}`},
		{"", "10", "10", ""},
	}
	for _, tc := range cases {
		t.Run(tc.effort+"/"+tc.maxTokens, func(t *testing.T) {
			body := `{"model":"m","messages":[{"role":"user","content":"hi"}]`
			if tc.effort != "" {
				body += `,"reasoning_effort":"` + tc.effort + `"`
			}
			if tc.maxTokens != "" {
				body += `,"max_tokens":` + tc.maxTokens
			}
			got := nativeRequest(t, body+`}`)
			if string(got["max_tokens"]) != tc.wantMax {
				t.Errorf("max_tokens = %s, want %s", got["max_tokens"], tc.wantMax)
			}
			if string(got["thinking"]) != tc.wantThink {
				t.Errorf("thinking = %s, want %s", got["thinking"], tc.wantThink)
			}
		})
	}
}

func TestToolID(t *testing.T) {
	for in, want := range map[string]string{
		"toolu_01A-b":          "toolu_01A-b",
		"call_abc123":          "call_abc123",
		"functions.get_time:1": "functions_get_time_1",
		"id with spaces/ü":     "id_with_spaces__",
	} {
		if got := toolID(in); got != want {
			t.Errorf("toolID(%q) = %q, want %q", in, got, want)
		}
	}
}
