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
	_ "github.com/llmgateway/caddy-llm-gateway/providers/ollama"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// newFakeOllamaNative is an upstream speaking Ollama's native API:
// /api/chat and /api/generate answer one JSON object with "stream":false
// and NDJSON lines otherwise (Ollama's default), /api/embed, /api/tags.
// Model "broken" fails mid-stream; unknown models get Ollama's 404.
func newFakeOllamaNative(t *testing.T) *providertest.Upstream {
	return providertest.NewUpstream(t, providertest.Script(ollamaNative))
}

const (
	ollamaDone     = `{"model":"llama3.2","created_at":"2025-07-07T20:22:19.2Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":1000,"prompt_eval_count":9,"eval_count":3}`
	ollamaToolsMsg = `{"role":"assistant","content":"","tool_calls":[{"function":{"index":0,"name":"get_weather","arguments":{"city":"Tokyo"}}},{"function":{"index":0,"name":"get_time","arguments":{}}}]}`
)

func ollamaNative(r *http.Request) providertest.Reply {
	if r.Method == http.MethodGet && r.URL.Path == "/api/tags" {
		return providertest.Ollama.JSON(http.StatusOK, `{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest","modified_at":"2025-07-07T20:22:19Z","size":2019393189,"digest":"a8","details":{"format":"gguf","family":"llama","parameter_size":"3.2B","quantization_level":"Q4_K_M"}}]}`)
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return providertest.Ollama.JSON(http.StatusBadRequest, providertest.OllamaError("invalid JSON"))
	}
	model, _ := body["model"].(string)
	stream := true // Ollama's default
	if s, ok := body["stream"].(bool); ok {
		stream = s
	}
	if model != "llama3.2" && model != "nomic-embed-text" && model != "broken" {
		return providertest.Ollama.JSON(http.StatusNotFound, providertest.OllamaError("model '"+model+"' not found"))
	}
	var lines []string
	switch r.URL.Path {
	case "/api/embed":
		return providertest.Ollama.JSON(http.StatusOK, `{"model":"nomic-embed-text","embeddings":[[0.5,-0.5],[0.25,0.75]],"prompt_eval_count":4}`)
	case "/api/generate":
		if !stream {
			return providertest.Ollama.JSON(http.StatusOK, `{"model":"llama3.2","response":"Hello from Ollama.","done":true,"done_reason":"stop","prompt_eval_count":9,"eval_count":3}`)
		}
		lines = []string{`{"model":"llama3.2","response":"Hello ","done":false}`, `{"model":"llama3.2","response":"from Ollama.","done":false}`,
			`{"model":"llama3.2","response":"","done":true,"done_reason":"stop","prompt_eval_count":9,"eval_count":3}`}
	case "/api/chat":
		_, tools := body["tools"]
		switch {
		case model == "broken":
			lines = []string{`{"model":"broken","message":{"role":"assistant","content":"Hel"},"done":false}`, providertest.OllamaError("an error was encountered while running the model: unexpected EOF")}
		case tools && !stream:
			return providertest.Ollama.JSON(http.StatusOK, `{"model":"llama3.2","message":`+ollamaToolsMsg+`,"done":true,"done_reason":"stop","prompt_eval_count":20,"eval_count":10}`)
		case tools:
			lines = []string{`{"model":"llama3.2","message":{"role":"assistant","content":"Checking."},"done":false}`,
				`{"model":"llama3.2","message":` + ollamaToolsMsg + `,"done":false}`,
				`{"model":"llama3.2","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":20,"eval_count":10}`}
		case !stream:
			return providertest.Ollama.JSON(http.StatusOK, `{"model":"llama3.2","message":{"role":"assistant","content":"Hello from Ollama."},"done":true,"done_reason":"stop","prompt_eval_count":9,"eval_count":3}`)
		default:
			lines = []string{`{"model":"llama3.2","message":{"role":"assistant","content":"Hello "},"done":false}`,
				`{"model":"llama3.2","message":{"role":"assistant","content":"from Ollama."},"done":false}`, ollamaDone}
		}
	default:
		return providertest.Ollama.JSON(http.StatusNotFound, "404 page not found")
	}
	return providertest.Ollama.Stream(strings.Join(lines, "\n") + "\n")
}

func ollamaBlock(upstreamURL string) string {
	return `		provider local ollama {
			base_url ` + upstreamURL + `
			keep_alive 10m
		}
		model fast local/llama3.2
		model embed local/nomic-embed-text
		model gone local/llama9
		model broken local/broken
		model * local
		auth keys {
			key ` + clientKey + ` tests
		}`
}

func TestOllamaProvider(t *testing.T) {
	up := newFakeOllamaNative(t)
	tester := startGateway(t, ollamaBlock(up.URL))
	c := client(clientKey)
	ctx := context.Background()
	messages := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Say hello."}}

	t.Run("chat", func(t *testing.T) {
		resp, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "fast", Messages: messages, Temperature: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Model != "fast" || resp.Choices[0].Message.Content != "Hello from Ollama." || resp.Choices[0].FinishReason != openai.FinishReasonStop {
			t.Errorf("answer = %+v", resp)
		}
		if resp.Usage.PromptTokens != 9 || resp.Usage.CompletionTokens != 3 || resp.Usage.TotalTokens != 12 {
			t.Errorf("usage = %+v", resp.Usage)
		}
		body := lastBody(t, up)
		if body["stream"] != false || body["model"] != "llama3.2" || body["keep_alive"] != "10m" {
			t.Errorf("upstream body = %v", body)
		}
	})

	t.Run("stream", func(t *testing.T) {
		for _, includeUsage := range []bool{false, true} {
			req := openai.ChatCompletionRequest{Model: "fast", Messages: messages, Stream: true}
			if includeUsage {
				req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
			}
			text, _, finish, usage := readStream(t, c, req)
			if text != "Hello from Ollama." || finish != openai.FinishReasonStop {
				t.Errorf("streamed %q, finish %q", text, finish)
			}
			if includeUsage != (usage != nil) || (usage != nil && (usage.PromptTokens != 9 || usage.TotalTokens != 12)) {
				t.Errorf("include_usage=%v: usage = %+v", includeUsage, usage)
			}
			if body := lastBody(t, up); body["stream"] != true {
				t.Errorf("upstream stream = %v", body["stream"])
			}
		}
	})

	tools := []openai.Tool{
		{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "get_weather",
			Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}},
		{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "get_time"}},
	}
	wantCalls := []openai.FunctionCall{{Name: "get_weather", Arguments: `{"city":"Tokyo"}`}, {Name: "get_time", Arguments: `{}`}}

	t.Run("tool call", func(t *testing.T) {
		resp, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "fast", Messages: messages, Tools: tools})
		if err != nil {
			t.Fatal(err)
		}
		choice := resp.Choices[0]
		if choice.FinishReason != openai.FinishReasonToolCalls || len(choice.Message.ToolCalls) != 2 {
			t.Fatalf("choice = %+v", choice)
		}
		for i, tc := range choice.Message.ToolCalls {
			if tc.Function != wantCalls[i] || !strings.HasPrefix(tc.ID, "call_") || tc.Type != openai.ToolTypeFunction {
				t.Errorf("call %d = %+v", i, tc)
			}
		}
		if resp.Usage.TotalTokens != 30 {
			t.Errorf("usage = %+v", resp.Usage)
		}

		// The round trip: the calls and their results go back as Ollama's
		// tool_calls objects and tool_name messages.
		history := append(append([]openai.ChatCompletionMessage{}, messages...), choice.Message,
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: choice.Message.ToolCalls[0].ID, Content: `{"temp_c":22}`},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: choice.Message.ToolCalls[1].ID, Content: "09:30"})
		if _, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "fast", Messages: history}); err != nil {
			t.Fatal(err)
		}
		sent, _ := json.Marshal(lastBody(t, up)["messages"])
		want := `[{"content":"Say hello.","role":"user"},{"content":"","role":"assistant","tool_calls":[{"function":{"arguments":{"city":"Tokyo"},"name":"get_weather"}},{"function":{"arguments":{},"name":"get_time"}}]},{"content":"{\"temp_c\":22}","role":"tool","tool_name":"get_weather"},{"content":"09:30","role":"tool","tool_name":"get_time"}]`
		if string(sent) != want {
			t.Errorf("history sent upstream:\n got: %s\nwant: %s", sent, want)
		}
	})

	t.Run("streamed tool call", func(t *testing.T) {
		text, calls, finish, usage := readStream(t, c, openai.ChatCompletionRequest{Model: "fast", Messages: messages, Tools: tools, Stream: true,
			StreamOptions: &openai.StreamOptions{IncludeUsage: true}})
		if text != "Checking." || finish != openai.FinishReasonToolCalls || len(calls) != 2 {
			t.Fatalf("text %q, finish %q, calls %+v", text, finish, calls)
		}
		for i, tc := range calls {
			if tc.Function != wantCalls[i] || !strings.HasPrefix(tc.ID, "call_") {
				t.Errorf("call %d = %+v", i, tc)
			}
		}
		if calls[0].ID == calls[1].ID {
			t.Error("both calls have the same id")
		}
		if usage == nil || usage.PromptTokens != 20 || usage.CompletionTokens != 10 {
			t.Errorf("usage = %+v", usage)
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "gone", Messages: messages})
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 404 || apiErr.Code != "model_not_found" || !strings.Contains(apiErr.Message, "not found") {
			t.Errorf("unknown upstream model: %v", err)
		}
		_, err = c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "fast", Messages: messages, N: 2})
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 400 || apiErr.Param == nil || *apiErr.Param != "n" {
			t.Errorf("n=2: %v", err)
		}
		stream, err := c.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{Model: "broken", Messages: messages, Stream: true})
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		for {
			_, err = stream.Recv()
			if err != nil {
				break
			}
		}
		if errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "an error was encountered") {
			t.Errorf("mid-stream error surfaced as %v", err)
		}
	})

	t.Run("completions and embeddings", func(t *testing.T) {
		resp, err := c.CreateCompletion(ctx, openai.CompletionRequest{Model: "fast", Prompt: "Say hello", MaxTokens: 16})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Text != "Hello from Ollama." || resp.Usage.TotalTokens != 12 {
			t.Errorf("completion = %+v", resp)
		}
		emb, err := c.CreateEmbeddings(ctx, openai.EmbeddingRequestStrings{Model: "embed", Input: []string{"a", "b"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(emb.Data) != 2 || emb.Data[1].Embedding[1] != 0.75 || emb.Usage.PromptTokens != 4 {
			t.Errorf("embeddings = %+v", emb)
		}
	})

	t.Run("models", func(t *testing.T) {
		ids := modelIDs(t, c)
		if !strings.Contains(strings.Join(ids, ","), "llama3.2:latest") {
			t.Errorf("models = %v", ids)
		}
	})

	t.Run("schemas", func(t *testing.T) {
		cases := []struct{ name, path, body, schema string }{
			{"chat", "/v1/chat/completions", `{"model":"fast","messages":[{"role":"user","content":"hi"}]}`, openaischema.ChatCompletion},
			{"tools", "/v1/chat/completions", `{"model":"fast","tools":[{"type":"function","function":{"name":"get_time"}}],"messages":[{"role":"user","content":"hi"}]}`, openaischema.ChatCompletion},
			{"stream", "/v1/chat/completions", `{"model":"fast","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, streamSchema},
			{"tool stream", "/v1/chat/completions", `{"model":"fast","stream":true,"tools":[{"type":"function","function":{"name":"get_time"}}],"messages":[{"role":"user","content":"hi"}]}`, streamSchema},
			{"broken stream", "/v1/chat/completions", `{"model":"broken","stream":true,"messages":[{"role":"user","content":"hi"}]}`, streamSchema},
			{"completion", "/v1/completions", `{"model":"fast","prompt":"hi"}`, openaischema.Completion},
			{"completion stream", "/v1/completions", `{"model":"fast","prompt":"hi","stream":true,"stream_options":{"include_usage":true}}`, streamSchema},
			{"embeddings", "/v1/embeddings", `{"model":"embed","input":["a","b"]}`, openaischema.Embedding},
			{"models", "/v1/models", "", openaischema.ModelList},
			{"not found", "/v1/chat/completions", `{"model":"gone","messages":[{"role":"user","content":"hi"}]}`, openaischema.Error},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				method := http.MethodPost
				if tc.body == "" {
					method = http.MethodGet
				}
				req, _ := http.NewRequest(method, gatewayURL+tc.path, strings.NewReader(tc.body))
				req.Header.Set("Authorization", "Bearer "+clientKey)
				resp, err := tester.Client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				err = validateOpenAI(tc.schema, body)
				if err != nil {
					t.Errorf("%v\nbody: %s", err, body)
				}
			})
		}
	})
}
