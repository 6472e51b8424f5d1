package ollama

import (
	"io"
	"net/http"
	"strings"
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

// TestEmbedCountMismatch refuses an answer that does not have one vector
// per input.
func TestEmbedCountMismatch(t *testing.T) {
	up := newFake(t)
	up.Reply(providertest.Ollama.JSON(http.StatusOK, `{"model":"e","embeddings":[[0.1]]}`))
	o := newOllama(t, up.URL, nil)
	_, err := o.Send(t.Context(), providertest.NewCall(t, providers.Embeddings, []byte(`{"model":"e","input":["a","b"]}`), "local"))
	if e, ok := err.(*providers.Error); !ok || e.Status != http.StatusBadGateway {
		t.Errorf("err = %v, want a 502", err)
	}
}

// TestBase64Embeddings checks encoding_format base64, the OpenAI SDKs'
// default.
func TestBase64Embeddings(t *testing.T) {
	up := newFake(t)
	o := newOllama(t, up.URL, nil)
	resp, err := o.Send(t.Context(), providertest.NewCall(t, providers.Embeddings, []byte(`{"model":"e","input":["a","b"],"encoding_format":"base64"}`), "local"))
	if err != nil {
		t.Fatal(err)
	}
	// OpenAI's published schema knows only the float form, so the base64
	// vector is checked by value: 0.1 and -0.2 as little-endian float32s.
	body, _ := io.ReadAll(resp.Body)
	if want := `"embedding":"zczMPc3MTL4="`; !strings.Contains(string(body), want) {
		t.Errorf("body %s lacks %s", body, want)
	}
}
