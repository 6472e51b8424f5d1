package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

// TestTranslatingProvidersAnswerAlike sends the same OpenAI requests
// through dashscope, anthropic, gemini and ollama (each against a fake
// upstream in its own wire format) and compares the structure of what the
// go-openai client decodes: which fields are set, with which types, how
// many choices, chunks of which kinds, tool calls and usage. Texts and ids
// differ by upstream; the shape a client sees must not.
func TestTranslatingProvidersAnswerAlike(t *testing.T) {
	anthropicUp := newFakeAnthropicAPI(t)
	ollamaUp := newFakeOllamaNative(t)
	block := `		provider ali dashscope {
			base_url ` + newFakeDashScope(t).URL + `
			api_key ` + dashScopeKey + `
		}
		provider claude anthropic {
			base_url ` + anthropicUp.URL + `
			api_key ` + anthropicUpstreamKey + `
		}
		provider gem gemini {
			base_url ` + newFakeGeminiAPI(t).URL + `
			api_key ` + geminiUpstreamKey + `
		}
		provider local ollama {
			base_url ` + ollamaUp.URL + `
		}
		model dashscope ali/qwen-plus
		model anthropic claude/claude-sonnet-4-5
		model gemini gem/gemini-2.5-flash
		model ollama local/llama3.2`
	startGateway(t, block)
	c := client("any")

	tools := []openai.Tool{{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "get_time",
		Parameters: json.RawMessage(`{"type":"object","properties":{}}`)}}}
	ask := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "hi"}}
	cases := map[string]openai.ChatCompletionRequest{
		"chat":        {Messages: ask},
		"tools":       {Messages: ask, Tools: tools},
		"stream":      {Messages: ask, Stream: true, StreamOptions: &openai.StreamOptions{IncludeUsage: true}},
		"tool stream": {Messages: ask, Tools: tools, Stream: true, StreamOptions: &openai.StreamOptions{IncludeUsage: true}},
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			shapes := map[string]string{}
			for _, model := range []string{"dashscope", "anthropic", "gemini", "ollama"} {
				req.Model = model
				shape, err := answerShape(c, req)
				if err != nil {
					t.Fatalf("%s: %v", model, err)
				}
				shapes[model] = shape
			}
			for model, shape := range shapes {
				if shape != shapes["dashscope"] {
					t.Errorf("%s answers in another shape than dashscope:\n%s: %s\ndashscope: %s", model, model, shape, shapes["dashscope"])
				}
			}
		})
	}
}

// answerShape decodes an answer with go-openai and describes its
// structure: the JSON of the decoded value with every string, number and
// bool replaced by its kind, and for streams the sequence of chunk kinds.
func answerShape(c *openai.Client, req openai.ChatCompletionRequest) (string, error) {
	ctx := context.Background()
	if !req.Stream {
		resp, err := c.CreateChatCompletion(ctx, req)
		if err != nil {
			return "", err
		}
		if resp.Model != req.Model || resp.Object != "chat.completion" {
			return "", errors.New("answer names model " + resp.Model + ", object " + resp.Object)
		}
		for i := range resp.Choices {
			// Whether a model says something before calling tools is the
			// upstream's choice, not part of the shape.
			if len(resp.Choices[i].Message.ToolCalls) > 0 {
				resp.Choices[i].Message.Content = ""
			}
		}
		return shapeOf(resp.Choices) + " usage " + shapeOf(usageShape(&resp.Usage)), nil
	}
	stream, err := c.CreateChatCompletionStream(ctx, req)
	if err != nil {
		return "", err
	}
	defer stream.Close()
	var kinds []string
	tools := map[int]int{} // tool index → deltas seen
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		if chunk.Model != req.Model {
			return "", errors.New("chunk names model " + chunk.Model)
		}
		switch {
		case chunk.Usage != nil:
			kinds = append(kinds, "usage "+shapeOf(usageShape(chunk.Usage)))
		case chunk.Choices[0].FinishReason != "":
			kinds = append(kinds, "finish:"+string(chunk.Choices[0].FinishReason))
		case chunk.Choices[0].Delta.Role != "":
			kinds = append(kinds, "role")
		case len(chunk.Choices[0].Delta.ToolCalls) > 0:
			tc := chunk.Choices[0].Delta.ToolCalls[0]
			if tc.Index == nil {
				return "", errors.New("a tool-call delta without index")
			}
			if tools[*tc.Index] == 0 && (tc.ID == "" || tc.Function.Name == "") {
				return "", errors.New("a tool call's first delta lacks its id or name")
			}
			tools[*tc.Index]++
		default:
			// Content comes in as many pieces as the upstream sends;
			// only that there was some matters.
			if len(kinds) == 0 || kinds[len(kinds)-1] != "content" {
				kinds = append(kinds, "content")
			}
		}
	}
	calls := make([]int, len(tools))
	for i := range calls {
		if tools[i] == 0 {
			return "", errors.New("tool call indexes are not 0, 1, 2...")
		}
		calls[i] = 1
	}
	return shapeOf(kinds) + " tool calls " + shapeOf(calls), nil
}

// usageShape keeps what must hold of usage whatever the provider: counts
// present and a total that adds up.
func usageShape(u *openai.Usage) map[string]bool {
	return map[string]bool{
		"prompt":     u.PromptTokens > 0,
		"completion": u.CompletionTokens > 0,
		"total":      u.TotalTokens == u.PromptTokens+u.CompletionTokens,
	}
}

// shapeOf renders v as JSON with scalar values replaced by their kinds
// (bools are kept: they are the usage checks above).
func shapeOf(v any) string {
	raw, _ := json.Marshal(v)
	var generic any
	_ = json.Unmarshal(raw, &generic)
	out, _ := json.Marshal(kinds(generic))
	return string(out)
}

func kinds(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, val := range x {
			m[k] = kinds(val)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, val := range x {
			s[i] = kinds(val)
		}
		return s
	case string:
		if x == "" {
			return "empty"
		}
		return "string"
	case float64:
		return "number"
	case bool:
		return x
	case nil:
		return nil
	}
	return reflect.TypeOf(v).String()
}
