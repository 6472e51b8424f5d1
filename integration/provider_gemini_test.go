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
	_ "github.com/llmgateway/caddy-llm-gateway/providers/gemini"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

const geminiUpstreamKey = "AIzaSy-gemini-upstream"

// newFakeGeminiAPI is an upstream speaking Gemini's wire format:
// generateContent answers, streamGenerateContent?alt=sse events framed
// with CRLF and ended by a plain close, Google's error envelope. The model
// `gemini-quota` is always over quota; a request with tools gets two
// function calls, the first with a thought signature.
func newFakeGeminiAPI(t *testing.T) *providertest.Upstream {
	return providertest.NewUpstream(t, providertest.Script(geminiAPI))
}

func geminiAPI(r *http.Request) providertest.Reply {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("x-goog-api-key") != geminiUpstreamKey {
		return providertest.Gemini.JSON(http.StatusBadRequest, providertest.GoogleError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
			`[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]`))
	}
	if strings.Contains(r.URL.Path, "gemini-quota") {
		return providertest.Gemini.JSON(http.StatusTooManyRequests, providertest.GoogleError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details.",
			`[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]`))
	}
	tools := strings.Contains(string(body), `"functionDeclarations"`)
	if strings.HasSuffix(r.URL.Path, ":generateContent") {
		if tools {
			return providertest.Gemini.JSON(http.StatusOK, `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"Cv8B+/+/AQI="},{"functionCall":{"name":"get_time"}}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":10,"totalTokenCount":40}}`)
		}
		return providertest.Gemini.JSON(http.StatusOK, `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello from Gemini."}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":4,"thoughtsTokenCount":2,"totalTokenCount":15},"modelVersion":"gemini-2.5-flash","responseId":"x1"}`)
	}
	events := []string{
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello "}]},"index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":1,"thoughtsTokenCount":2,"totalTokenCount":12}}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"from "}]},"index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":2,"thoughtsTokenCount":2,"totalTokenCount":13}}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Gemini."}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":4,"thoughtsTokenCount":2,"totalTokenCount":15}}`,
	}
	if tools {
		events = []string{
			`{"candidates":[{"content":{"role":"model","parts":[{"text":"Checking."}]},"index":0}],"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":2,"totalTokenCount":32}}`,
			`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"Cv8B+/+/AQI="},{"functionCall":{"name":"get_time"}}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":10,"totalTokenCount":40}}`,
		}
	}
	var sse strings.Builder
	for _, e := range events {
		sse.WriteString(providertest.GeminiEvent(e))
	}
	return providertest.Gemini.Stream(sse.String())
}

func geminiBlock(upstreamURL string) string {
	return `		provider gem gemini {
			base_url ` + upstreamURL + `
			api_key ` + geminiUpstreamKey + `
		}
		provider gembad gemini {
			base_url ` + upstreamURL + `
			api_key AIzaSy-wrong
		}
		model flash gem/gemini-2.5-flash
		model limited gem/gemini-quota
		model badkey gembad/gemini-2.5-flash
		auth keys {
			key ` + clientKey + ` tests
		}`
}

var geminiTools = []openai.Tool{
	{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "get_weather", Description: "Weather for a city.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}},
	{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "get_time", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)}},
}

func TestGeminiProviderChatAndStream(t *testing.T) {
	up := newFakeGeminiAPI(t)
	startGateway(t, geminiBlock(up.URL))
	c := client(clientKey)
	ctx := context.Background()
	messages := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: "Be brief."},
		{Role: openai.ChatMessageRoleUser, Content: "Say hello."},
	}

	resp, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "flash", Messages: messages, Temperature: 0.5})
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if resp.Model != "flash" || resp.Choices[0].Message.Content != "Hello from Gemini." || resp.Choices[0].FinishReason != openai.FinishReasonStop {
		t.Errorf("chat answer = %+v", resp)
	}
	if u := resp.Usage; u.PromptTokens != 9 || u.CompletionTokens != 6 || u.TotalTokens != 15 ||
		u.CompletionTokensDetails == nil || u.CompletionTokensDetails.ReasoningTokens != 2 {
		t.Errorf("usage = %+v", u)
	}
	r := up.Last(t)
	if key := r.Header.Get("X-Goog-Api-Key"); r.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || key != geminiUpstreamKey || r.Query != "" {
		t.Errorf("upstream saw %s?%s with key %q", r.Path, r.Query, key)
	}
	if !strings.Contains(string(r.Body), `"systemInstruction":{"parts":[{"text":"Be brief."}]}`) || !strings.Contains(string(r.Body), `"temperature":0.5`) {
		t.Errorf("upstream body = %s", r.Body)
	}

	for _, includeUsage := range []bool{false, true} {
		req := openai.ChatCompletionRequest{Model: "flash", Messages: messages, Stream: true}
		if includeUsage {
			req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
		}
		text, _, finish, usage := readStream(t, c, req)
		r := up.Last(t)
		if r.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || r.Query != "alt=sse" {
			t.Errorf("upstream saw %s?%s", r.Path, r.Query)
		}
		if text != "Hello from Gemini." || finish != openai.FinishReasonStop {
			t.Errorf("streamed %q, finish %q", text, finish)
		}
		// The running total is kept, not summed: 9 + 4 + 2.
		if includeUsage != (usage != nil) || (usage != nil && (usage.PromptTokens != 9 || usage.CompletionTokens != 6 || usage.TotalTokens != 15)) {
			t.Errorf("include_usage=%v: usage = %+v", includeUsage, usage)
		}
	}
}

func TestGeminiProviderToolCalls(t *testing.T) {
	up := newFakeGeminiAPI(t)
	startGateway(t, geminiBlock(up.URL))
	c := client(clientKey)
	ctx := context.Background()
	messages := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Weather in Paris, and the time?"}}

	resp, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "flash", Messages: messages, Tools: geminiTools})
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	msg := resp.Choices[0].Message
	if resp.Choices[0].FinishReason != openai.FinishReasonToolCalls || len(msg.ToolCalls) != 2 ||
		msg.ToolCalls[0].Function.Name != "get_weather" || msg.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` ||
		msg.ToolCalls[1].Function.Name != "get_time" || msg.ToolCalls[1].Function.Arguments != "{}" ||
		msg.ToolCalls[0].ID == msg.ToolCalls[1].ID {
		t.Fatalf("tool calls = %+v", resp.Choices[0])
	}

	// The round trip: the calls and their results go back; Gemini needs the
	// function names and the first call's thought signature again.
	history := append(messages, msg,
		openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: msg.ToolCalls[0].ID, Content: `{"temp_c":18}`},
		openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: msg.ToolCalls[1].ID, Content: "14:05"})
	if _, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "flash", Messages: history, Tools: geminiTools}); err != nil {
		t.Fatalf("chat with tool results: %v", err)
	}
	var sent struct {
		Contents []struct {
			Role  string
			Parts []map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(up.Last(t).Body, &sent); err != nil {
		t.Fatal(err)
	}
	if len(sent.Contents) != 3 || sent.Contents[1].Role != "model" || string(sent.Contents[1].Parts[0]["thoughtSignature"]) != `"Cv8B+/+/AQI="` ||
		string(sent.Contents[2].Parts[0]["functionResponse"]) != `{"name":"get_weather","response":{"temp_c":18}}` ||
		string(sent.Contents[2].Parts[1]["functionResponse"]) != `{"name":"get_time","response":{"output":"14:05"}}` {
		t.Errorf("upstream got %+v", sent)
	}

	text, calls, finish, _ := readStream(t, c, openai.ChatCompletionRequest{Model: "flash", Messages: messages, Tools: geminiTools, Stream: true})
	if text != "Checking." || finish != openai.FinishReasonToolCalls || len(calls) != 2 ||
		calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city":"Paris"}` ||
		calls[1].Function.Name != "get_time" || calls[1].Function.Arguments != "{}" || calls[0].ID == "" || calls[1].ID == "" {
		t.Errorf("streamed text %q, finish %q, calls %+v", text, finish, calls)
	}
}

func TestGeminiProviderErrors(t *testing.T) {
	up := newFakeGeminiAPI(t)
	startGateway(t, geminiBlock(up.URL))
	c := client(clientKey)
	ctx := context.Background()
	messages := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "hi"}}

	_, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "limited", Messages: messages})
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 429 || apiErr.Code != "RESOURCE_EXHAUSTED" || apiErr.Type != "rate_limit_error" {
		t.Errorf("quota: %v", err)
	}
	_, err = c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "badkey", Messages: messages})
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 401 || strings.Contains(apiErr.Message, "AIzaSy") {
		t.Errorf("bad upstream key: %v", err)
	}
	_, err = c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "flash", Messages: messages, Stop: []string{"1", "2", "3", "4", "5", "6"}})
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 400 || apiErr.Param == nil || *apiErr.Param != "stop" {
		t.Errorf("six stop sequences: %v", err)
	}

	// The raw answers: Retry-After from Gemini's retryDelay, and every body
	// in OpenAI's shapes.
	cases := []struct {
		name, body, schema string
		status             int
	}{
		{"quota", `{"model":"limited","messages":[{"role":"user","content":"hi"}]}`, openaischema.Error, 429},
		{"chat", `{"model":"flash","messages":[{"role":"user","content":"hi"}]}`, openaischema.ChatCompletion, 200},
		{"stream", `{"model":"flash","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, streamSchema, 200},
		{"tool stream", `{"model":"flash","stream":true,"tools":[{"type":"function","function":{"name":"get_time"}}],"messages":[{"role":"user","content":"hi"}]}`, streamSchema, 200},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("POST", gatewayURL+"/v1/chat/completions", strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+clientKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := freshHTTP().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, resp.StatusCode, tc.status, body)
		}
		if tc.status == 429 && resp.Header.Get("Retry-After") != "7" {
			t.Errorf("%s: Retry-After = %q, want 7", tc.name, resp.Header.Get("Retry-After"))
		}
		err = validateOpenAI(tc.schema, body)
		if err != nil {
			t.Errorf("%s: %v\n%s", tc.name, err, body)
		}
	}
}
