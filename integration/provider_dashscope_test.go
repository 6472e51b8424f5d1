package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	_ "github.com/llmgateway/caddy-llm-gateway/providers/dashscope"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

const (
	dashScopeKey       = "sk-ds-upstream"
	dashScopeCallerKey = "sk-ds-caller-own"
)

// dashScopeRequest is the part of a native request the fake looks at.
type dashScopeRequest struct {
	Model string `json:"model"`
	Input struct {
		Messages []struct {
			Role    string `json:"role"`
			Content any    `json:"content"`
		} `json:"messages"`
	} `json:"input"`
	Parameters struct {
		ResultFormat      string `json:"result_format"`
		IncrementalOutput bool   `json:"incremental_output"`
		Tools             []any  `json:"tools"`
	} `json:"parameters"`
}

// newFakeDashScope is an upstream speaking DashScope's native API: errors
// in its `{code,message,request_id}` shape, and event streams with
// cumulative usage and no end marker. The last user message steers it:
// "too long" → context overflow, "busy" → throttling, "moderate" → an
// error event mid-stream; with tools it calls two tools.
func newFakeDashScope(t *testing.T) *providertest.Upstream {
	return providertest.NewUpstream(t, providertest.Script(dashScopeAPI))
}

func dashScopeAPI(r *http.Request) providertest.Reply {
	var req dashScopeRequest
	_ = json.NewDecoder(r.Body).Decode(&req)
	fail := func(status int, code, message string) providertest.Reply {
		return providertest.DashScope.JSON(status, providertest.DashScopeError(code, message))
	}
	switch auth := r.Header.Get("Authorization"); {
	case r.URL.Path != "/api/v1/services/aigc/text-generation/generation":
		return fail(404, "InvalidURL", "Invalid URL provided in your request.")
	case auth != "Bearer "+dashScopeKey && auth != "Bearer "+dashScopeCallerKey:
		return fail(401, "InvalidApiKey", "Invalid API-key provided.")
	case req.Parameters.ResultFormat != "message":
		return fail(400, "InvalidParameter", "result_format must be message for this test")
	}
	last := ""
	if n := len(req.Input.Messages); n > 0 {
		last, _ = req.Input.Messages[n-1].Content.(string)
	}
	switch {
	case strings.Contains(last, "too long"):
		return fail(400, "InvalidParameter", "Range of input length should be [1, 129024]")
	case strings.Contains(last, "busy"):
		return fail(429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.")
	}
	type frame struct{ message, finish string }
	var frames []frame
	switch {
	case len(req.Parameters.Tools) > 0 && req.Input.Messages[len(req.Input.Messages)-1].Role == "user":
		frames = []frame{
			{`{"role":"assistant","content":"Checking."}`, "null"},
			{`{"role":"assistant","content":"","tool_calls":[{"index":0,"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":"}}]}`, "null"},
			{`{"role":"assistant","content":"","tool_calls":[{"index":0,"id":"","type":"function","function":{"name":"","arguments":"\"Hangzhou\"}"}}]}`, "null"},
			{`{"role":"assistant","content":"","tool_calls":[{"index":1,"id":"call_t2","type":"function","function":{"name":"get_time","arguments":""}}]}`, "tool_calls"},
		}
	case strings.Contains(last, "moderate"):
		frames = []frame{{`{"role":"assistant","content":"Once upon"}`, "null"}}
	default:
		frames = []frame{
			{`{"role":"assistant","content":"你好"}`, "null"},
			{`{"role":"assistant","content":"，"}`, "null"},
			{`{"role":"assistant","content":"世界！"}`, "stop"},
		}
	}
	usage := func(i int) string {
		return fmt.Sprintf(`{"input_tokens":30,"output_tokens":%d,"total_tokens":%d}`, 3*(i+1), 30+3*(i+1))
	}
	if r.Header.Get("X-DashScope-SSE") != "enable" {
		// A whole answer: the frames joined.
		var text strings.Builder
		var calls []string
		for _, f := range frames {
			var m struct {
				Content   string            `json:"content"`
				ToolCalls []json.RawMessage `json:"tool_calls"`
			}
			_ = json.Unmarshal([]byte(f.message), &m)
			text.WriteString(m.Content)
			for _, c := range m.ToolCalls {
				calls = append(calls, string(c))
			}
		}
		msg := fmt.Sprintf(`{"role":"assistant","content":%q}`, text.String())
		if len(calls) > 0 {
			msg = `{"role":"assistant","content":"Checking.","tool_calls":[{"index":0,"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Hangzhou\"}"}},{"index":1,"id":"call_t2","type":"function","function":{"name":"get_time","arguments":""}}]}`
		}
		return providertest.DashScope.JSON(http.StatusOK, fmt.Sprintf(`{"output":{"choices":[{"finish_reason":%q,"message":%s}]},"usage":%s,"request_id":"ds-req-1"}`,
			frames[len(frames)-1].finish, msg, usage(len(frames)-1)))
	}
	if !req.Parameters.IncrementalOutput {
		return fail(400, "InvalidParameter", "this test wants incremental_output")
	}
	var sse strings.Builder
	for i, f := range frames {
		sse.WriteString(providertest.DashScopeEvent(i+1, fmt.Sprintf(`{"output":{"choices":[{"message":%s,"finish_reason":%q}]},"usage":%s,"request_id":"ds-req-1"}`,
			f.message, f.finish, usage(i))))
	}
	if strings.Contains(last, "moderate") {
		sse.WriteString(providertest.DashScopeErrorEvent(len(frames)+1, 400,
			`{"code":"DataInspectionFailed","message":"Output data may contain inappropriate content.","request_id":"ds-req-1"}`))
	}
	return providertest.DashScope.Stream(sse.String())
}

// lastDashScope is the latest request up received.
func lastDashScope(t *testing.T, up *providertest.Upstream) dashScopeRequest {
	t.Helper()
	var req dashScopeRequest
	if err := json.Unmarshal(up.Last(t).Body, &req); err != nil {
		t.Fatal(err)
	}
	return req
}

func dashScopeBlock(upstreamURL, apiKey string) string {
	return `		provider ali dashscope {
			base_url ` + upstreamURL + `
			api_key ` + apiKey + `
		}
		model qwen ali/qwen-plus
		model farui-plus ali`
}

var weatherTools = []openai.Tool{
	{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}},
	{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "get_time", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)}},
}

func TestDashScopeProvider(t *testing.T) {
	up := newFakeDashScope(t)
	startGateway(t, dashScopeBlock(up.URL, dashScopeKey))
	c := client("")
	ctx := context.Background()
	hello := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: "你是一个有用的AI助手。"},
		{Role: openai.ChatMessageRoleUser, Content: "你好！"},
	}

	t.Run("chat", func(t *testing.T) {
		resp, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "qwen", Messages: hello, Temperature: 0.7, MaxTokens: 100})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Model != "qwen" || resp.Choices[0].Message.Content != "你好，世界！" || resp.Choices[0].FinishReason != "stop" {
			t.Errorf("answer = %+v", resp)
		}
		if resp.Usage.PromptTokens != 30 || resp.Usage.CompletionTokens != 9 || resp.Usage.TotalTokens != 39 {
			t.Errorf("usage = %+v", resp.Usage)
		}
		// DashScope's request_id reaches the client; a gateway that sets
		// its own X-Request-Id moves it to X-Upstream-Request-Id.
		h := resp.Header()
		if resp.ID != "chatcmpl-ds-req-1" || (h.Get("X-Request-Id") != "ds-req-1" && h.Get("X-Upstream-Request-Id") != "ds-req-1") {
			t.Errorf("id %q, X-Request-Id %q, X-Upstream-Request-Id %q", resp.ID, h.Get("X-Request-Id"), h.Get("X-Upstream-Request-Id"))
		}
		if got := lastDashScope(t, up); got.Model != "qwen-plus" || got.Input.Messages[0].Role != "system" {
			t.Errorf("upstream got %+v", got)
		}
	})

	t.Run("stream", func(t *testing.T) {
		for _, includeUsage := range []bool{false, true} {
			req := openai.ChatCompletionRequest{Model: "farui-plus", Messages: hello, Stream: true}
			if includeUsage {
				req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
			}
			text, _, finish, usage := readStream(t, c, req)
			if got := lastDashScope(t, up); got.Model != "farui-plus" || !got.Parameters.IncrementalOutput {
				t.Errorf("upstream got %+v", got)
			}
			if text != "你好，世界！" || finish != "stop" {
				t.Errorf("streamed %q, finish %q", text, finish)
			}
			// Cumulative upstream usage: the last event's, not the sum.
			if includeUsage != (usage != nil) || (usage != nil && (usage.PromptTokens != 30 || usage.CompletionTokens != 9 || usage.TotalTokens != 39)) {
				t.Errorf("include_usage=%v: usage %+v", includeUsage, usage)
			}
		}
	})

	t.Run("tool call", func(t *testing.T) {
		ask := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Weather and time in Hangzhou?"}}
		resp, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "qwen", Messages: ask, Tools: weatherTools})
		if err != nil {
			t.Fatal(err)
		}
		msg := resp.Choices[0].Message
		if resp.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 2 ||
			msg.ToolCalls[0].ID != "call_w1" || msg.ToolCalls[0].Function.Name != "get_weather" || msg.ToolCalls[0].Function.Arguments != `{"city":"Hangzhou"}` ||
			msg.ToolCalls[1].Function.Name != "get_time" || msg.ToolCalls[1].Function.Arguments != "{}" {
			t.Fatalf("answer = %+v", resp.Choices[0])
		}

		// The round trip: the calls and their results go back to DashScope.
		history := append(ask, msg,
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: "call_w1", Content: `{"temp_c":31}`},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: "call_t2", Content: "14:05"})
		if _, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "qwen", Messages: history, Tools: weatherTools}); err != nil {
			t.Fatal(err)
		}
		if got := lastDashScope(t, up); len(got.Input.Messages) != 4 || got.Input.Messages[3].Role != "tool" {
			t.Errorf("history upstream: %+v", got.Input.Messages)
		}

		text, calls, finish, _ := readStream(t, c, openai.ChatCompletionRequest{Model: "qwen", Messages: ask, Tools: weatherTools, Stream: true})
		type call struct{ id, name, args string }
		var got []call
		for _, tc := range calls {
			got = append(got, call{tc.ID, tc.Function.Name, tc.Function.Arguments})
		}
		if text != "Checking." || finish != "tool_calls" || !slices.Equal(got, []call{{"call_w1", "get_weather", `{"city":"Hangzhou"}`}, {"call_t2", "get_time", "{}"}}) {
			t.Errorf("text %q, finish %q, calls %+v", text, finish, got)
		}
	})

	t.Run("errors", func(t *testing.T) {
		cases := []struct {
			text   string
			stream bool
			status int
			code   string
		}{
			{"this prompt is too long", false, 400, "context_length_exceeded"},
			{"this prompt is too long", true, 400, "context_length_exceeded"},
			{"the service is busy", false, 429, "Throttling.RateQuota"},
		}
		for _, tc := range cases {
			req := openai.ChatCompletionRequest{Model: "qwen", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: tc.text}}}
			var err error
			if tc.stream {
				req.Stream = true
				_, err = c.CreateChatCompletionStream(ctx, req)
			} else {
				_, err = c.CreateChatCompletion(ctx, req)
			}
			var apiErr *openai.APIError
			if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != tc.status || apiErr.Code != tc.code {
				t.Errorf("%q stream=%v: %v", tc.text, tc.stream, err)
			}
		}
		// Refused before any upstream call.
		_, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "qwen", N: 5, Messages: hello})
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 400 || apiErr.Param == nil || *apiErr.Param != "n" {
			t.Errorf("n=5: %v", err)
		}

		// Mid-stream: the chunks so far, then the error, as go-openai sees it.
		stream, err := c.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{Model: "qwen", Stream: true,
			Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "moderate this story"}}})
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		var text strings.Builder
		for {
			chunk, err := stream.Recv()
			if err != nil {
				if !errors.As(err, &apiErr) || apiErr.Code != "content_filter" {
					t.Errorf("mid-stream error: %v", err)
				}
				break
			}
			text.WriteString(chunk.Choices[0].Delta.Content)
		}
		if text.String() != "Once upon" {
			t.Errorf("text before the error: %q", text.String())
		}
	})

	t.Run("schemas", func(t *testing.T) {
		client := freshHTTP()
		for _, tc := range []struct{ body, schema string }{
			{`{"model":"qwen","messages":[{"role":"user","content":"hi"}]}`, openaischema.ChatCompletion},
			{`{"model":"qwen","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"get_time"}}]}`, streamSchema},
			{`{"model":"qwen","stream":true,"messages":[{"role":"user","content":"moderate"}]}`, streamSchema},
			{`{"model":"qwen","messages":[{"role":"user","content":"the service is busy"}]}`, openaischema.Error},
		} {
			req, _ := http.NewRequest("POST", gatewayURL+"/v1/chat/completions", strings.NewReader(tc.body))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			err = validateOpenAI(tc.schema, body)
			if err != nil {
				t.Errorf("%s: %v\n%s", tc.body, err, body)
			}
			if tc.schema == openaischema.Error && (resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "") {
				t.Errorf("throttled: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		}
	})
}

// TestDashScopePassthrough runs the gateway as the public DashScope
// service: no key on the server, each caller's own DashScope key goes
// upstream.
func TestDashScopePassthrough(t *testing.T) {
	up := newFakeDashScope(t)
	startGateway(t, dashScopeBlock(up.URL, "passthrough"))
	ctx := context.Background()
	msgs := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "你好！"}}
	resp, err := client(dashScopeCallerKey).CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "farui-plus", Messages: msgs})
	if err != nil || resp.Choices[0].Message.Content != "你好，世界！" {
		t.Fatalf("own key: %+v %v", resp, err)
	}
	_, err = client("sk-ds-not-valid").CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "farui-plus", Messages: msgs})
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 401 || strings.Contains(apiErr.Message, "sk-ds-not-valid") {
		t.Errorf("refused key: %v", err)
	}
	// Many callers at once each reach DashScope with their own key.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := client(dashScopeCallerKey).CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "farui-plus", Messages: msgs}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
