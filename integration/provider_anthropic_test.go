package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	_ "github.com/llmgateway/caddy-llm-gateway/providers/anthropic"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

const anthropicUpstreamKey = "sk-ant-upstream"

// newFakeAnthropicAPI is an upstream speaking Anthropic's Messages API: it
// answers with text, or with two parallel tool calls when tools are
// offered and no tool result has come back yet, streamed as Anthropic
// streams when asked; the model claude-overloaded answers 529.
func newFakeAnthropicAPI(t *testing.T) *providertest.Upstream {
	return providertest.NewUpstream(t, providertest.Script(anthropicAPI))
}

func anthropicAPI(r *http.Request) providertest.Reply {
	fail := func(status int, typ, msg string) providertest.Reply {
		return providertest.Anthropic.JSON(status, providertest.AnthropicError(typ, msg))
	}
	if r.Header.Get("X-Api-Key") != anthropicUpstreamKey || r.Header.Get("Anthropic-Version") != "2023-06-01" {
		return fail(http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
	}
	if r.Method == http.MethodGet && r.URL.Path == "/v1/models" {
		return providertest.Anthropic.JSON(http.StatusOK, `{"data":[{"type":"model","id":"claude-opus-4-1-20250805","display_name":"Claude Opus 4.1","created_at":"2025-08-05T00:00:00Z"}],"has_more":false,"first_id":"claude-opus-4-1-20250805","last_id":"claude-opus-4-1-20250805"}`)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		return fail(http.StatusNotFound, "not_found_error", "Not found")
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return fail(http.StatusBadRequest, "invalid_request_error", "invalid JSON")
	}
	if _, ok := body["max_tokens"].(float64); !ok {
		return fail(http.StatusBadRequest, "invalid_request_error", "max_tokens: Field required")
	}
	if body["model"] == "claude-overloaded" {
		return fail(529, "overloaded_error", "Overloaded")
	}
	_, hasTools := body["tools"]
	callTools := hasTools && !lastIsToolResult(body)
	if body["stream"] == true {
		return providertest.Anthropic.Stream(anthropicStream(callTools))
	}
	if callTools {
		return providertest.Anthropic.JSON(http.StatusOK, `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}},{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":7,"cache_creation_input_tokens":0,"cache_read_input_tokens":5}}`)
	}
	return providertest.Anthropic.JSON(http.StatusOK, `{"id":"msg_02","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello from Claude."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":7,"cache_creation_input_tokens":0,"cache_read_input_tokens":5}}`)
}

// lastIsToolResult reports whether the conversation ends with tool results.
func lastIsToolResult(body map[string]any) bool {
	msgs, _ := body["messages"].([]any)
	if len(msgs) == 0 {
		return false
	}
	last, _ := msgs[len(msgs)-1].(map[string]any)
	blocks, _ := last["content"].([]any)
	for _, b := range blocks {
		if m, _ := b.(map[string]any); m["type"] == "tool_result" {
			return true
		}
	}
	return false
}

// anthropicStream is the answer streamed: text, or a text and two tool
// calls whose arguments come in pieces.
func anthropicStream(callTools bool) string {
	events := []string{
		`message_start`, `{"type":"message_start","message":{"id":"msg_03","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":5}}}`,
		`content_block_start`, `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
		`ping`, `{"type":"ping"}`,
	}
	stop := "end_turn"
	if callTools {
		stop = "tool_use"
		events = append(events,
			`content_block_delta`, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking."}}`,
			`content_block_stop`, `{"type":"content_block_stop","index":0}`,
			`content_block_start`, `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}`,
			`content_block_delta`, `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}`,
			`content_block_delta`, `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}`,
			`content_block_delta`, `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}`,
			`content_block_stop`, `{"type":"content_block_stop","index":1}`,
			`content_block_start`, `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}}`,
			`content_block_stop`, `{"type":"content_block_stop","index":2}`,
		)
	} else {
		for _, word := range []string{"Hello ", "from ", "Claude."} {
			events = append(events, `content_block_delta`, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"`+word+`"}}`)
		}
		events = append(events, `content_block_stop`, `{"type":"content_block_stop","index":0}`)
	}
	events = append(events,
		`message_delta`, `{"type":"message_delta","delta":{"stop_reason":"`+stop+`","stop_sequence":null},"usage":{"output_tokens":7}}`,
		`message_stop`, `{"type":"message_stop"}`,
	)
	var sse strings.Builder
	for i := 0; i < len(events); i += 2 {
		sse.WriteString(providertest.AnthropicEvent(events[i], events[i+1]))
	}
	return sse.String()
}

func anthropicBlock(upstreamURL string) string {
	return `		provider claude anthropic {
			base_url ` + upstreamURL + `
			api_key ` + anthropicUpstreamKey + `
			max_tokens 1000
		}
		model sonnet claude/claude-sonnet-4-5
		model busy claude/claude-overloaded
		model * claude
		auth keys {
			key ` + clientKey + ` tests
		}`
}

var anthropicTools = []openai.Tool{
	{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "get_weather", Description: "City weather",
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}},
	{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "get_time"}},
}

func TestAnthropicProvider(t *testing.T) {
	up := newFakeAnthropicAPI(t)
	tester := startGateway(t, anthropicBlock(up.URL))
	c := client(clientKey)
	ctx := context.Background()
	messages := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: "Be brief."},
		{Role: openai.ChatMessageRoleUser, Content: "Say hello."},
	}

	t.Run("chat", func(t *testing.T) {
		resp, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "sonnet", Messages: messages})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Model != "sonnet" || resp.Choices[0].Message.Content != "Hello from Claude." || resp.Choices[0].FinishReason != openai.FinishReasonStop {
			t.Errorf("answer = %+v", resp)
		}
		if u := resp.Usage; u.PromptTokens != 25 || u.CompletionTokens != 7 || u.TotalTokens != 32 || u.PromptTokensDetails == nil || u.PromptTokensDetails.CachedTokens != 5 {
			t.Errorf("usage = %+v", u)
		}
		body := lastBody(t, up)
		if body["model"] != "claude-sonnet-4-5" || body["system"] != "Be brief." || body["max_tokens"] != float64(1000) {
			t.Errorf("upstream body = %v", body)
		}
	})

	t.Run("stream", func(t *testing.T) {
		for _, includeUsage := range []bool{false, true} {
			req := openai.ChatCompletionRequest{Model: "sonnet", Messages: messages, Stream: true}
			if includeUsage {
				req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
			}
			text, calls, finish, usage := readStream(t, c, req)
			if text != "Hello from Claude." || len(calls) != 0 || finish != openai.FinishReasonStop {
				t.Errorf("streamed %q, calls %v, finish %q", text, calls, finish)
			}
			if includeUsage != (usage != nil) || (usage != nil && (usage.PromptTokens != 25 || usage.CompletionTokens != 7 || usage.TotalTokens != 32)) {
				t.Errorf("include_usage=%v: usage = %+v", includeUsage, usage)
			}
		}
	})

	t.Run("tool call", func(t *testing.T) {
		ask := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Weather and time in Paris?"}}
		resp, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "sonnet", Messages: ask, Tools: anthropicTools})
		if err != nil {
			t.Fatal(err)
		}
		msg := resp.Choices[0].Message
		if resp.Choices[0].FinishReason != openai.FinishReasonToolCalls || msg.Content != "Checking." || len(msg.ToolCalls) != 2 ||
			msg.ToolCalls[0].ID != "toolu_01" || msg.ToolCalls[0].Function.Name != "get_weather" || msg.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` ||
			msg.ToolCalls[1].ID != "toolu_02" || msg.ToolCalls[1].Function.Arguments != "{}" {
			t.Fatalf("tool call answer = %+v", resp)
		}

		// The round trip: the calls and their results go back upstream.
		history := append(ask, msg,
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: "toolu_01", Content: `{"temp_c":18}`},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: "toolu_02", Content: "14:05"})
		resp, err = c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "sonnet", Messages: history, Tools: anthropicTools})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != "Hello from Claude." {
			t.Errorf("answer after the tool results = %+v", resp)
		}
		sent, _ := json.Marshal(lastBody(t, up)["messages"])
		want := `[{"content":[{"text":"Weather and time in Paris?","type":"text"}],"role":"user"},` +
			`{"content":[{"text":"Checking.","type":"text"},{"id":"toolu_01","input":{"city":"Paris"},"name":"get_weather","type":"tool_use"},{"id":"toolu_02","input":{},"name":"get_time","type":"tool_use"}],"role":"assistant"},` +
			`{"content":[{"content":"{\"temp_c\":18}","tool_use_id":"toolu_01","type":"tool_result"},{"content":"14:05","tool_use_id":"toolu_02","type":"tool_result"}],"role":"user"}]`
		if string(sent) != want {
			t.Errorf("upstream messages:\n%s\nwant\n%s", sent, want)
		}
	})

	t.Run("streamed tool call", func(t *testing.T) {
		req := openai.ChatCompletionRequest{Model: "sonnet", Stream: true, Tools: anthropicTools, StreamOptions: &openai.StreamOptions{IncludeUsage: true},
			Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Weather and time in Paris?"}}}
		text, calls, finish, usage := readStream(t, c, req)
		if text != "Checking." || finish != openai.FinishReasonToolCalls || usage == nil || usage.TotalTokens != 32 {
			t.Errorf("streamed %q, finish %q, usage %+v", text, finish, usage)
		}
		if len(calls) != 2 || calls[0].ID != "toolu_01" || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city": "Paris"}` ||
			calls[1].ID != "toolu_02" || calls[1].Function.Name != "get_time" || calls[1].Function.Arguments != "{}" {
			t.Errorf("tool calls = %+v", calls)
		}
	})

	t.Run("error", func(t *testing.T) {
		_, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "busy", Messages: messages})
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != http.StatusServiceUnavailable || apiErr.Code != "overloaded" || apiErr.Message != "Overloaded" {
			t.Errorf("overloaded upstream: %v", err)
		}
		_, err = c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "sonnet", Messages: messages, N: 2})
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != http.StatusBadRequest || apiErr.Param == nil || *apiErr.Param != "n" {
			t.Errorf("n=2: %v", err)
		}
		_, err = c.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{Model: "busy", Messages: messages, Stream: true})
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != http.StatusServiceUnavailable {
			t.Errorf("overloaded upstream, streamed: %v", err)
		}
		_, err = c.CreateEmbeddings(ctx, openai.EmbeddingRequest{Model: "sonnet", Input: []string{"x"}})
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != http.StatusBadRequest || apiErr.Code != "unsupported_operation" {
			t.Errorf("embeddings: %v", err)
		}
	})

	t.Run("models", func(t *testing.T) {
		ids := modelIDs(t, c)
		if strings.Join(ids, ",") != "sonnet,busy,claude-opus-4-1-20250805" {
			t.Errorf("models = %v", ids)
		}
	})

	t.Run("schemas", func(t *testing.T) {
		cases := []struct {
			name, body, schema string
			status             int
		}{
			{"chat", `{"model":"sonnet","messages":[{"role":"user","content":"hi"}]}`, openaischema.ChatCompletion, 200},
			{"tool call", `{"model":"sonnet","tools":[{"type":"function","function":{"name":"get_time"}}],"messages":[{"role":"user","content":"time?"}]}`, openaischema.ChatCompletion, 200},
			{"stream", `{"model":"sonnet","stream":true,"messages":[{"role":"user","content":"hi"}]}`, streamSchema, 200},
			{"stream with usage and tools", `{"model":"sonnet","stream":true,"stream_options":{"include_usage":true},"tools":[{"type":"function","function":{"name":"get_time"}}],"messages":[{"role":"user","content":"time?"}]}`, streamSchema, 200},
			{"overloaded", `{"model":"busy","messages":[{"role":"user","content":"hi"}]}`, openaischema.Error, 503},
			{"temperature out of range", `{"model":"sonnet","temperature":1.7,"messages":[{"role":"user","content":"hi"}]}`, openaischema.Error, 400},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest("POST", gatewayURL+"/v1/chat/completions", strings.NewReader(tc.body))
				req.Header.Set("Authorization", "Bearer "+clientKey)
				resp := tester.AssertResponseCode(req, tc.status)
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				var err error
				err = validateOpenAI(tc.schema, body)
				if err != nil {
					t.Errorf("%v\n%s", err, body)
				}
				if tc.status == 503 && resp.Header.Get("Retry-After") == "" {
					t.Error("a 503 without Retry-After")
				}
				// Anthropic's request-id reaches the client as the upstream's id.
				if h := resp.Header; tc.status == 200 && h.Get("X-Upstream-Request-Id") != providertest.AnthropicRequestID && h.Get("X-Request-Id") != providertest.AnthropicRequestID {
					t.Errorf("X-Request-Id %q, X-Upstream-Request-Id %q", h.Get("X-Request-Id"), h.Get("X-Upstream-Request-Id"))
				}
			})
		}
	})
}
