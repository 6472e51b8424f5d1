package responses

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// answered is what the tests read of a Response.
type answered struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Model  string `json:"model"`
	Output []struct {
		Type    string `json:"type"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		CallID    string `json:"call_id"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"output"`
	Usage struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

// readResponse validates a Response and reads it.
func readResponse(t *testing.T, body []byte) answered {
	t.Helper()
	if err := openaischema.Validate(openaischema.Response, body); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	var a answered
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// readStream validates a Responses event stream and returns its final
// response and the text its output_text deltas carried.
func readStream(t *testing.T, resp *http.Response, body []byte) (final answered, text string) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q: %s", ct, body)
	}
	if err := openaischema.ValidateResponseStream(body); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	checkItems(t, body)
	var deltas strings.Builder
	for _, line := range bytes.Split(eventData(body), []byte("\n")) {
		var ev struct {
			Type     string          `json:"type"`
			Delta    string          `json:"delta"`
			Response json.RawMessage `json:"response"`
		}
		if len(line) == 0 || json.Unmarshal(line, &ev) != nil {
			continue
		}
		switch ev.Type {
		case "response.output_text.delta":
			deltas.WriteString(ev.Delta)
		case "response.completed", "response.incomplete", "response.failed":
			final = readResponse(t, ev.Response)
		}
	}
	return final, deltas.String()
}

func TestTranslatedAnswer(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Anthropic.JSON(200,
		`{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello!"}],`+
			`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":21,"output_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`))
	base := claudeGateway(t, up, handler.Config{}, &Door{})
	resp, body := post(t, base, `{"model":"claude","instructions":"Answer briefly.","input":"Hi","max_output_tokens":50,"temperature":0.3}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	a := readResponse(t, body)
	if !strings.HasPrefix(a.ID, "resp_") || a.Status != "completed" || a.Model != "claude" {
		t.Errorf("id %q, status %q, model %q", a.ID, a.Status, a.Model)
	}
	if len(a.Output) != 1 || a.Output[0].Type != "message" || a.Output[0].Content[0].Text != "Hello!" {
		t.Errorf("output %+v", a.Output)
	}
	if a.Usage.InputTokens != 21 || a.Usage.OutputTokens != 3 || a.Usage.TotalTokens != 24 {
		t.Errorf("usage %+v", a.Usage)
	}
	if resp.Header.Get("X-Llm-Gateway-Overhead-Ms") == "" {
		t.Error("no overhead header")
	}
	var sent struct {
		Model     string  `json:"model"`
		System    any     `json:"system"`
		MaxTokens int     `json:"max_tokens"`
		Temp      float64 `json:"temperature"`
		Messages  []struct {
			Role    string `json:"role"`
			Content any    `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(up.Last(t).Body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Model != "claude-sonnet-4-5" || !strings.Contains(providertest.Canonical(t, up.Last(t).Body), "Answer briefly.") ||
		sent.MaxTokens != 50 || sent.Temp != 0.3 || len(sent.Messages) != 1 || sent.Messages[0].Role != "user" {
		t.Errorf("upstream got %s", up.Last(t).Body)
	}
}

func TestTranslatedStream(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Anthropic.Stream(anthropicStream("end_turn", textBlock("0", "Hello", " there", "!"))))
	base := claudeGateway(t, up, handler.Config{}, &Door{})
	resp, body := post(t, base, `{"model":"claude","input":"Hi","stream":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	final, text := readStream(t, resp, body)
	if text != "Hello there!" || final.Status != "completed" || final.Output[0].Content[0].Text != text {
		t.Errorf("streamed %q, final %+v", text, final)
	}
	if final.Usage.OutputTokens != 9 || final.Usage.InputTokens == 0 {
		t.Errorf("usage %+v", final.Usage)
	}
}

// TestFunctionToolRoundTrip runs a conversation with a function tool: the
// model's call comes back as a function_call item, and the next request,
// with the call and its output as items, reaches the upstream as a
// tool_use and its tool_result.
func TestFunctionToolRoundTrip(t *testing.T) {
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "answered", true: "streamed"}[stream]
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, nil)
			core, logs := observer.New(zapcore.InfoLevel)
			base := claudeGateway(t, up, handler.Config{Logger: zap.New(core)}, &Door{})
			tools := `[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}},{"type":"web_search"}]`
			streamed := map[bool]string{false: "false", true: "true"}[stream]

			if stream {
				up.Reply(providertest.Anthropic.Stream(anthropicStream("tool_use", textBlock("0", "Checking."),
					toolBlock("1", "toolu_01", "get_weather", `{"city": "Pa`, `ris"}`))))
			} else {
				up.Reply(providertest.Anthropic.JSON(200, `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5",`+
					`"content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}}],`+
					`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":40,"output_tokens":9}}`))
			}
			resp, body := post(t, base, `{"model":"claude","stream":`+streamed+`,"tools":`+tools+`,"input":"Weather in Paris?"}`)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			var first answered
			if stream {
				first, _ = readStream(t, resp, body)
			} else {
				first = readResponse(t, body)
			}
			if len(first.Output) != 2 || first.Output[1].Type != "function_call" || first.Output[1].CallID != "toolu_01" ||
				first.Output[1].Name != "get_weather" || providertest.Canonical(t, []byte(first.Output[1].Arguments)) != `{"city":"Paris"}` {
				t.Fatalf("output %+v", first.Output)
			}
			if got := providertest.Canonical(t, up.Last(t).Body); !strings.Contains(got, `"name":"get_weather"`) || strings.Contains(got, "web_search") {
				t.Errorf("upstream was offered %s", got)
			}
			if entries := logs.FilterMessageSnippet("built-in tools").All(); len(entries) != 1 ||
				!reflect.DeepEqual(entries[0].ContextMap()["tools"], []any{"web_search"}) {
				t.Errorf("log: %+v", logs.All())
			}

			up.Reply(providertest.Anthropic.JSON(200, `{"id":"msg_02","type":"message","role":"assistant","model":"claude-sonnet-4-5",`+
				`"content":[{"type":"text","text":"It is 18C."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":60,"output_tokens":5}}`))
			call, _ := json.Marshal(map[string]string{"type": "function_call", "call_id": first.Output[1].CallID,
				"name": first.Output[1].Name, "arguments": first.Output[1].Arguments})
			resp, body = post(t, base, `{"model":"claude","tools":`+tools+`,"input":[{"role":"user","content":"Weather in Paris?"},`+
				`{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Checking.","annotations":[]}]},`+
				string(call)+`,{"type":"function_call_output","call_id":"toolu_01","output":"18C"}]}`)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if a := readResponse(t, body); a.Output[0].Content[0].Text != "It is 18C." {
				t.Errorf("output %+v", a.Output)
			}
			var sent struct {
				Messages []struct {
					Role    string `json:"role"`
					Content []struct {
						Type      string          `json:"type"`
						ID        string          `json:"id"`
						Name      string          `json:"name"`
						Input     json.RawMessage `json:"input"`
						ToolUseID string          `json:"tool_use_id"`
						Content   any             `json:"content"`
					} `json:"content"`
				} `json:"messages"`
			}
			if err := json.Unmarshal(up.Last(t).Body, &sent); err != nil || len(sent.Messages) != 3 {
				t.Fatalf("upstream got %s", up.Last(t).Body)
			}
			assistant, result := sent.Messages[1], sent.Messages[2]
			use := assistant.Content[len(assistant.Content)-1]
			if assistant.Role != "assistant" || use.Type != "tool_use" || use.ID != "toolu_01" || use.Name != "get_weather" ||
				providertest.Canonical(t, use.Input) != `{"city":"Paris"}` {
				t.Errorf("assistant turn %+v", assistant)
			}
			if result.Role != "user" || result.Content[0].Type != "tool_result" || result.Content[0].ToolUseID != "toolu_01" ||
				!strings.Contains(providertest.Canonical(t, up.Last(t).Body), "18C") {
				t.Errorf("tool result %+v", result)
			}
		})
	}
}

// TestStreamCutMidway ends a stream whose upstream broke after its first
// words with response.failed, never a completed response.
func TestStreamCutMidway(t *testing.T) {
	cut := providertest.AnthropicEvent("message_start", `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":40,"output_tokens":1}}}`) +
		providertest.AnthropicEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`) +
		providertest.AnthropicEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"The answer"}}`)
	up := providertest.NewUpstream(t, providertest.Anthropic.Stream(cut).Cut())
	base := claudeGateway(t, up, handler.Config{}, &Door{})
	resp, body := post(t, base, `{"model":"claude","input":"Hi","stream":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	final, text := readStream(t, resp, body)
	if final.Status != "failed" || text != "The answer" || bytes.Contains(body, []byte("response.completed")) {
		t.Errorf("final %+v after %q:\n%s", final, text, body)
	}
	if !bytes.Contains(body, []byte(`"error":{"code":"server_error","message":`)) {
		t.Errorf("no error in the failed response:\n%s", body)
	}
}

func TestErrors(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Anthropic.JSON(400, providertest.AnthropicError("invalid_request_error", "messages: text content blocks must be non-empty")))
	base := claudeGateway(t, up, handler.Config{}, &Door{})
	cases := []struct {
		name, body string
		status     int
		want       string
	}{
		{"unknown model", `{"model":"gpt-9","input":"Hi"}`, 404, `"code":"model_not_found"`},
		{"background", `{"model":"claude","input":"Hi","background":true}`, 400, `"param":"background"`},
		{"not JSON", `{"model":`, 400, `"type":"invalid_request_error"`},
		{"forced built-in tool", `{"model":"claude","input":"Hi","tools":[{"type":"web_search"}],"tool_choice":"required"}`, 400, "web_search"},
		{"upstream refuses", `{"model":"claude","input":"Hi"}`, 400, "text content blocks must be non-empty"},
		{"upstream refuses a stream", `{"model":"claude","input":"Hi","stream":true}`, 400, "text content blocks must be non-empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, base, tc.body)
			if resp.StatusCode != tc.status || !bytes.Contains(body, []byte(tc.want)) {
				t.Fatalf("%d %s, want %d with %s", resp.StatusCode, body, tc.status, tc.want)
			}
			if err := openaischema.Validate(openaischema.Error, body); err != nil {
				t.Error(err)
			}
		})
	}
	resp, err := http.Get(base + "/v1/responses")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
