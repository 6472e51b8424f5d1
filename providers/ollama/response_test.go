package ollama

import (
	"io"
	"net/http"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestAnswerGolden turns native non-streamed answers into the exact
// OpenAI bodies the client gets.
func TestAnswerGolden(t *testing.T) {
	cases := []struct {
		name   string
		op     providers.Operation
		body   string
		schema string
	}{
		{"chat_text", providers.Chat, `{"model":"llama3.2","messages":[{"role":"user","content":"Weather?"}]}`, openaischema.ChatCompletion},
		{"chat_tools", providers.Chat, `{"model":"llama3.2","messages":[{"role":"user","content":"Weather and time?"}]}`, openaischema.ChatCompletion},
		{"chat_thinking", providers.Chat, `{"model":"qwen3","reasoning_effort":"low","messages":[{"role":"user","content":"3+3?"}]}`, openaischema.ChatCompletion},
		{"generate", providers.Completions, `{"model":"codellama","prompt":"def fib(n):"}`, openaischema.Completion},
		{"embed", providers.Embeddings, `{"model":"nomic-embed-text","input":["a","b"]}`, openaischema.Embedding},
	}
	up := newFake(t)
	o := newOllama(t, up.URL, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			native := providertest.ReadFile(t, "testdata/answers/"+tc.name+".native.json")
			up.Reply(providertest.Ollama.JSON(http.StatusOK, string(native)))
			resp, err := o.Send(t.Context(), providertest.NewCall(t, tc.op, []byte(tc.body), "local"))
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			defer resp.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(body)) != resp.Length {
				t.Errorf("Length = %d for %d bytes", resp.Length, len(body))
			}
			providertest.Golden(t, "testdata/answers/"+tc.name+".openai.json", normalise(t, body))
			if err := openaischema.Validate(tc.schema, body); err != nil {
				t.Errorf("answer does not match %s: %v", tc.schema, err)
			}
		})
	}
}

func TestFinishReason(t *testing.T) {
	cases := []struct {
		doneReason string
		toolCalls  bool
		want       string
	}{
		{"stop", false, "stop"},
		{"stop", true, "tool_calls"},
		{"length", false, "length"},
		{"length", true, "length"},
		{"load", false, "stop"},
		{"unload", false, "stop"},
		{"", false, "stop"},
		{"", true, "tool_calls"},
		{"connection closed", false, "stop"},
	}
	for _, tc := range cases {
		if got := finishReason(tc.doneReason, tc.toolCalls); got != tc.want {
			t.Errorf("done_reason %q, tool calls %v: %q, want %q", tc.doneReason, tc.toolCalls, got, tc.want)
		}
	}
}

func TestArgumentsText(t *testing.T) {
	cases := []struct{ raw, want string }{
		{``, `{}`},
		{`null`, `{}`},
		{`{}`, `{}`},
		{`{ "city" : "Paris", "days": [1, 2] }`, `{"city":"Paris","days":[1,2]}`},
		{`"{\"city\":\"Paris\"}"`, `{"city":"Paris"}`},
		{`"plain text"`, `"plain text"`},
	}
	for _, tc := range cases {
		if got := argumentsText([]byte(tc.raw)); got != tc.want {
			t.Errorf("arguments %s: %s, want %s", tc.raw, got, tc.want)
		}
	}
}
