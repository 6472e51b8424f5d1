package ollama

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// TestStreamGolden turns native NDJSON streams into the exact chunk
// sequence and end the handler relays.
func TestStreamGolden(t *testing.T) {
	cases := []struct {
		name string
		op   providers.Operation
		body string
		// end is how the stream must end: nil, ErrTruncated, or an error
		// with this status and code.
		end        error
		status     int
		code, text string
	}{
		{name: "text", op: providers.Chat, body: `{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"Weather?"}]}`},
		{name: "reasoning", op: providers.Chat, body: `{"model":"qwen3","stream":true,"reasoning_effort":"medium","messages":[{"role":"user","content":"3+3?"}]}`},
		{name: "tools", op: providers.Chat, body: `{"model":"llama3.2","stream":true,"tools":[{"type":"function","function":{"name":"get_weather"}}],"messages":[{"role":"user","content":"Weather?"}]}`},
		{name: "length", op: providers.Chat, body: `{"model":"llama3.2","stream":true,"max_tokens":3,"messages":[{"role":"user","content":"Count"}]}`},
		{name: "truncated", op: providers.Chat, body: `{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"Weather?"}]}`, end: providers.ErrTruncated},
		{name: "error", op: providers.Chat, body: `{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"Weather?"}]}`,
			end: &providers.Error{}, status: http.StatusBadGateway, text: "an error was encountered while running the model"},
		{name: "generate", op: providers.Completions, body: `{"model":"codellama","stream":true,"prompt":"def fib(n):"}`},
	}
	up := newFake(t)
	o := newOllama(t, up.URL, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			native := providertest.ReadFile(t, "testdata/streams/"+tc.name+".ndjson")
			up.Reply(providertest.Ollama.Stream(string(native)))
			resp, err := o.Send(t.Context(), providertest.NewCall(t, tc.op, []byte(tc.body), "local"))
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if _, ok := resp.Stream.(providers.Bursting); !ok {
				t.Error("the stream does not say when chunks are ready")
			}
			chunks, end := providertest.Drain(t, resp.Stream)
			var out bytes.Buffer
			for _, c := range chunks {
				out.Write(normalise(t, c))
				out.WriteByte('\n')
			}
			providertest.Golden(t, "testdata/streams/"+tc.name+".chunks.jsonl", out.Bytes())
			checkEnd(t, end, tc.end, tc.status, tc.code, tc.text)
			providertest.ValidateStream(t, chunks, end)
			providertest.SameIdentity(t, chunks)
		})
	}
}

func checkEnd(t *testing.T, got, want error, status int, code, text string) {
	t.Helper()
	switch want.(type) {
	case nil:
		if got != nil {
			t.Errorf("stream ended with %v, want a clean end", got)
		}
	case *providers.Error:
		var e *providers.Error
		if !errors.As(got, &e) {
			t.Fatalf("stream ended with %v, want a *providers.Error", got)
		}
		if e.Status != status || e.Code != code || !strings.Contains(e.Message, text) {
			t.Errorf("stream error = %d %q %q, want %d %q containing %q", e.Status, e.Code, e.Message, status, code, text)
		}
	default:
		if !errors.Is(got, want) {
			t.Errorf("stream ended with %v, want %v", got, want)
		}
	}
}

// TestStreamErrorFirst checks an error line before any content: nothing
// is sent, so the handler can still try another target (502 is
// retryable), and a context overflow becomes a 400.
func TestStreamErrorFirst(t *testing.T) {
	cases := []struct {
		line   string
		status int
		code   string
	}{
		{`{"error":"llama runner process has terminated: exit status 2"}`, http.StatusBadGateway, ""},
		{`{"error":"prompt too long; exceeded max context length by 100 tokens"}`, http.StatusBadRequest, "context_length_exceeded"},
	}
	for _, tc := range cases {
		cs := &chatStream{lines: newLineReader(strings.NewReader(tc.line+"\n"), 1<<20), answer: translate.NewAnswer("m")}
		chunks, err := providertest.Drain(t, translate.NewStream(cs.pull, io.NopCloser(nil)))
		var e *providers.Error
		if len(chunks) != 0 || !errors.As(err, &e) || e.Status != tc.status || e.Code != tc.code {
			t.Errorf("%s: %d chunks, %v", tc.line, len(chunks), err)
		}
	}
}

// TestStreamUsageFromFinalLine checks that only the done line's counts
// count, even if an earlier line carried some.
func TestStreamUsageFromFinalLine(t *testing.T) {
	in := `{"message":{"content":"a"},"done":false,"prompt_eval_count":1,"eval_count":1}
{"message":{"content":"b"},"done":false,"prompt_eval_count":5,"eval_count":2}
{"message":{"content":""},"done":true,"done_reason":"stop","prompt_eval_count":5,"eval_count":3}
`
	cs := &chatStream{lines: newLineReader(strings.NewReader(in), 1<<20), answer: translate.NewAnswer("m")}
	chunks, err := providertest.Drain(t, translate.NewStream(cs.pull, nil))
	if err != nil {
		t.Fatal(err)
	}
	var last struct {
		Usage translate.Usage `json:"usage"`
	}
	if err := json.Unmarshal(chunks[len(chunks)-1], &last); err != nil {
		t.Fatal(err)
	}
	if last.Usage.PromptTokens != 5 || last.Usage.CompletionTokens != 3 || last.Usage.TotalTokens != 8 {
		t.Errorf("usage = %+v, want 5 + 3", last.Usage)
	}
}

// FuzzOllamaStream feeds arbitrary upstream bytes to both stream readers:
// they must never panic, must end, and every chunk must be JSON.
func FuzzOllamaStream(f *testing.F) {
	for _, b := range providertest.Seeds(f, "testdata/streams/*.ndjson") {
		f.Add(b)
	}
	f.Add([]byte(`{"message":{"tool_calls":[{"function":{"arguments":null}},{"function":{"name":"x","arguments":"{"}}]},"done":true}`))
	f.Add([]byte("{\"done\":true}\n{\"error\":\"late\"}\n"))
	f.Add([]byte(`{"message":{"tool_calls":[{"function":{"arguments":[1,{"a":"\u0000"}]}}]}}` + "\n\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cs := &chatStream{lines: newLineReader(bytes.NewReader(data), 4<<10), answer: translate.NewAnswer("m")}
		gs := &generateStream{lines: newLineReader(bytes.NewReader(data), 4<<10), tc: newTextCompletion("m")}
		for _, s := range []*translate.Stream{translate.NewStream(cs.pull, nil), translate.NewStream(gs.pull, nil)} {
			for i := 0; ; i++ {
				if i > len(data)*8+16 {
					t.Fatal("the stream does not end")
				}
				c, err := s.Next()
				if err != nil {
					break
				}
				if !json.Valid(c) {
					t.Fatalf("chunk is not JSON: %s", c)
				}
			}
		}
	})
}

// FuzzRequest feeds arbitrary OpenAI request bodies to the translation
// into an Ollama /api/chat body: it must refuse them with an error or make
// valid JSON, never panic.
func FuzzRequest(f *testing.F) {
	for _, b := range providertest.Seeds(f, "testdata/requests/*.openai.json") {
		f.Add(b)
	}
	o := &Ollama{Base: providers.Base{Name: "local"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, perr := o.chatBody(&providers.Call{Op: providers.Chat, Model: "llama", Body: body})
		if perr == nil && !json.Valid(out) {
			t.Fatalf("request is not JSON: %s", out)
		}
	})
}
