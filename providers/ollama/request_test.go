package ollama

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestRequestGolden sends OpenAI requests through the provider and checks
// the exact native request the fake Ollama receives, then that the answer
// the client gets matches OpenAI's schemas.
func TestRequestGolden(t *testing.T) {
	cases := []struct {
		name       string
		op         providers.Operation
		configured bool
		path       string
	}{
		{"chat_plain", providers.Chat, false, "/api/chat"},
		{"chat_params", providers.Chat, true, "/api/chat"},
		{"chat_image", providers.Chat, false, "/api/chat"},
		{"chat_tools", providers.Chat, false, "/api/chat"},
		{"chat_reasoning", providers.Chat, false, "/api/chat"},
		{"chat_think_off", providers.Chat, false, "/api/chat"},
		{"completions", providers.Completions, false, "/api/generate"},
		{"embeddings", providers.Embeddings, true, "/api/embed"},
	}
	up := newFake(t)
	plain := newOllama(t, up.URL, nil)
	withOptions := newOllama(t, up.URL+"/", configured)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := plain
			if tc.configured {
				o = withOptions
			}
			c := providertest.NewCall(t, tc.op, providertest.ReadFile(t, "testdata/requests/"+tc.name+".openai.json"), "local")
			resp, err := o.Send(t.Context(), c)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			seen := up.Last(t)
			providertest.Golden(t, "testdata/requests/"+tc.name+".native.json", seen.Body)
			if seen.Method != http.MethodPost || seen.Path != tc.path || seen.Query != "" {
				t.Errorf("request line = %s %s?%s, want POST %s", seen.Method, seen.Path, seen.Query, tc.path)
			}
			if ct := seen.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			wantAuth := ""
			if tc.configured {
				wantAuth = "Bearer sk-proxy"
			}
			if got := seen.Header.Get("Authorization"); got != wantAuth {
				t.Errorf("Authorization = %q, want %q", got, wantAuth)
			}
			checkAnswer(t, tc.op, resp)
		})
	}
}

// checkAnswer reads a response and validates it against OpenAI's schemas.
func checkAnswer(t *testing.T, op providers.Operation, resp *providers.Response) {
	t.Helper()
	if resp.Stream != nil {
		chunks, err := providertest.Drain(t, resp.Stream)
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		providertest.ValidateStream(t, chunks, nil)
		return
	}
	defer resp.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || int64(len(body)) != resp.Length {
		t.Fatalf("body: %d bytes of %d, %v", len(body), resp.Length, err)
	}
	schema := map[providers.Operation]string{providers.Chat: openaischema.ChatCompletion,
		providers.Completions: openaischema.Completion, providers.Embeddings: openaischema.Embedding}[op]
	if err := openaischema.Validate(schema, body); err != nil {
		t.Errorf("answer does not match %s: %v\n%s", schema, err, body)
	}
}

// TestRequestRefused checks the 400s for what Ollama cannot honour; none
// of them reaches the upstream.
func TestRequestRefused(t *testing.T) {
	cases := []struct {
		name, body string
		op         providers.Operation
		param      string
		code       string
	}{
		{"n above 1", `{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`, providers.Chat, "n", "unsupported_parameter"},
		{"image URL", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`, providers.Chat, "messages[0].content", "invalid_value"},
		{"invalid tool arguments", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{not json"}}]}]}`, providers.Chat, "messages[0].tool_calls[0].function.arguments", "invalid_value"},
		{"array tool arguments", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, providers.Chat, "messages[0].tool_calls[0].function.arguments", "invalid_value"},
		{"forced tool", `{"model":"m","tool_choice":"required","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}]}`, providers.Chat, "tool_choice", "unsupported_parameter"},
		{"named tool", `{"model":"m","tool_choice":{"type":"function","function":{"name":"f"}},"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}]}`, providers.Chat, "tool_choice", "unsupported_parameter"},
		{"logprobs", `{"model":"m","logprobs":true,"messages":[{"role":"user","content":"hi"}]}`, providers.Chat, "logprobs", "unsupported_parameter"},
		{"unknown effort", `{"model":"m","reasoning_effort":"extreme","messages":[{"role":"user","content":"hi"}]}`, providers.Chat, "reasoning_effort", "invalid_value"},
		{"audio part", `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]}]}`, providers.Chat, "messages[0].content", "invalid_value"},
		{"no messages", `{"model":"m","messages":[]}`, providers.Chat, "messages", "invalid_value"},
		{"token prompt", `{"model":"m","prompt":[1,2,3]}`, providers.Completions, "prompt", "unsupported_parameter"},
		{"two prompts", `{"model":"m","prompt":["a","b"]}`, providers.Completions, "prompt", "unsupported_parameter"},
		{"completions n", `{"model":"m","prompt":"a","n":3}`, providers.Completions, "n", "unsupported_parameter"},
		{"echo", `{"model":"m","prompt":"a","echo":true}`, providers.Completions, "echo", "unsupported_parameter"},
		{"best_of", `{"model":"m","prompt":"a","best_of":2}`, providers.Completions, "best_of", "unsupported_parameter"},
		{"completion logprobs", `{"model":"m","prompt":"a","logprobs":2}`, providers.Completions, "logprobs", "unsupported_parameter"},
		{"token input", `{"model":"m","input":[[1,2]]}`, providers.Embeddings, "input", "invalid_value"},
	}
	up := newFake(t)
	o := newOllama(t, up.URL, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := o.Send(t.Context(), providertest.NewCall(t, tc.op, []byte(tc.body), "local"))
			var e *providers.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want a *providers.Error", err)
			}
			if e.Status != http.StatusBadRequest || e.Type != "invalid_request_error" || e.Param != tc.param || e.Code != tc.code {
				t.Errorf("error = %d %s param=%q code=%q (%s), want 400 invalid_request_error param=%q code=%q",
					e.Status, e.Type, e.Param, e.Code, e.Message, tc.param, tc.code)
			}
			providertest.CheckError(t, e)
		})
	}
	if n := up.Count(); n != 0 {
		t.Errorf("refused requests reached the upstream: %d", n)
	}
}

func TestThinkMapping(t *testing.T) {
	cases := []struct {
		effort          string
		levels, boolean string // the think field, "" when absent
	}{
		{"", "", ""},
		{"none", "false", "false"},
		{"minimal", "false", "false"},
		{"low", `"low"`, "true"},
		{"medium", `"medium"`, "true"},
		{"high", `"high"`, "true"},
		{"xhigh", `"high"`, "true"},
		{"max", `"high"`, "true"},
	}
	for _, tc := range cases {
		for _, boolean := range []bool{false, true} {
			o := &Ollama{ThinkBoolean: boolean}
			got, perr := o.think(tc.effort)
			if perr != nil {
				t.Fatalf("%q: %v", tc.effort, perr)
			}
			want := tc.levels
			if boolean {
				want = tc.boolean
			}
			if string(got) != want {
				t.Errorf("reasoning_effort %q (think_boolean %v): think = %s, want %s", tc.effort, boolean, got, want)
			}
		}
	}
}

// TestToolResultName checks that a tool message whose call is not in the
// history keeps the name the client gave it, or goes without one.
func TestToolResultName(t *testing.T) {
	o := &Ollama{}
	body := `{"model":"m","messages":[{"role":"tool","tool_call_id":"unknown","name":"lookup","content":"x"},{"role":"tool","tool_call_id":"other","content":"y"}]}`
	native, perr := o.chatBody(&providers.Call{Op: providers.Chat, Model: "m", Body: []byte(body)})
	if perr != nil {
		t.Fatal(perr)
	}
	var req chatRequest
	if err := json.Unmarshal(native, &req); err != nil {
		t.Fatal(err)
	}
	if req.Messages[0].ToolName != "lookup" || req.Messages[1].ToolName != "" {
		t.Errorf("tool names = %q, %q", req.Messages[0].ToolName, req.Messages[1].ToolName)
	}
}
