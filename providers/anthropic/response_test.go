package anthropic

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

const simpleRequest = `{"model":"claude","messages":[{"role":"user","content":"hi"}]}`

// TestResponseGolden answers with each testdata/response/<name>.anthropic.json
// (to the request in <name>.request.json, if any) and compares the
// client's body with <name>.openai.json.
func TestResponseGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/response/*.anthropic.json")
	if len(files) == 0 {
		t.Fatal("no response cases")
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".anthropic.json")
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.Anthropic.JSON(http.StatusOK, string(providertest.ReadFile(t, in))).
				With("Anthropic-Ratelimit-Requests-Remaining", "49"))
			a := newAnthropic(t, up.URL)
			req := []byte(simpleRequest)
			if b, err := os.ReadFile(filepath.Join("testdata/response", name+".request.json")); err == nil {
				req = b
			}
			resp, err := send(t, a, req)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.Length != int64(len(body)) {
				t.Errorf("Length = %d, body has %d bytes", resp.Length, len(body))
			}
			if err := openaischema.Validate(openaischema.ChatCompletion, body); err != nil {
				t.Errorf("%v\n%s", err, body)
			}
			if resp.Header.Get("X-Request-Id") != providertest.AnthropicRequestID || resp.Header.Get("X-Ratelimit-Remaining-Requests") != "49" {
				t.Errorf("relayed headers = %v", resp.Header)
			}
			providertest.Golden(t, filepath.Join("testdata/response", name+".openai.json"), normalise(t, body))
		})
	}
}

func TestFinishReasons(t *testing.T) {
	cases := []struct {
		stop     string
		jsonMode bool
		want     string
	}{
		{"end_turn", false, "stop"},
		{"stop_sequence", false, "stop"},
		{"pause_turn", false, "stop"},
		{"max_tokens", false, "length"},
		{"model_context_window_exceeded", false, "length"},
		{"tool_use", false, "tool_calls"},
		{"refusal", false, "content_filter"},
		{"", false, "stop"},
		{"something_new", false, "stop"},
		{"tool_use", true, "stop"},
		{"max_tokens", true, "length"},
	}
	for _, tc := range cases {
		if got := finishReason(tc.stop, tc.jsonMode); got != tc.want {
			t.Errorf("finishReason(%q, json=%v) = %q, want %q", tc.stop, tc.jsonMode, got, tc.want)
		}
		// And through a whole answer.
		body := `{"type":"message","content":[{"type":"text","text":"x"}],"stop_reason":"` + tc.stop + `","usage":{"input_tokens":1,"output_tokens":1}}`
		if tc.jsonMode {
			continue
		}
		out, perr := completion(translate.NewAnswer("m"), []byte(body), "")
		if perr != nil {
			t.Fatal(perr)
		}
		if !strings.Contains(string(out), `"finish_reason":"`+tc.want+`"`) {
			t.Errorf("stop_reason %q: %s", tc.stop, out)
		}
	}
}

func TestUsage(t *testing.T) {
	cases := []struct {
		name, usage                       string
		prompt, completion, cached, total int
		details                           string // after cached_tokens
	}{
		{"plain", `{"input_tokens":10,"output_tokens":5}`, 10, 5, 0, 15, ""},
		{"cache write and read", `{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":200,"cache_read_input_tokens":1000}`, 1210, 5, 1000, 1215, `,"cache_write_tokens":200`},
		{"nulls", `{"input_tokens":7,"output_tokens":3,"cache_creation_input_tokens":null,"cache_read_input_tokens":null}`, 7, 3, 0, 10, ""},
		{"missing", `{}`, 0, 0, 0, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"type":"message","content":[{"type":"text","text":"x"}],"stop_reason":"end_turn","usage":` + tc.usage + `}`
			out, perr := completion(translate.NewAnswer("m"), []byte(body), "")
			if perr != nil {
				t.Fatal(perr)
			}
			want := `"usage":{"prompt_tokens":` + strconv.Itoa(tc.prompt) + `,"completion_tokens":` + strconv.Itoa(tc.completion) +
				`,"total_tokens":` + strconv.Itoa(tc.total) + `,"prompt_tokens_details":{"cached_tokens":` + strconv.Itoa(tc.cached) + tc.details + `}}`
			if !strings.HasSuffix(string(out), want+"}") {
				t.Errorf("got %s\nwant usage %s", out, want)
			}
		})
	}
}

func TestUnreadableAnswer(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":          `<html>oops</html>`,
		"not a message":     `{"type":"completion","completion":"x"}`,
		"error in a 200":    `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
		"array of messages": `[]`,
	} {
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.Anthropic.JSON(http.StatusOK, body))
			_, err := send(t, newAnthropic(t, up.URL), []byte(simpleRequest))
			var e *providers.Error
			if !errors.As(err, &e) || e.Status < 500 {
				t.Fatalf("got %v, want a 5xx *providers.Error", err)
			}
			if name == "error in a 200" && (e.Status != http.StatusServiceUnavailable || e.Code != "overloaded") {
				t.Errorf("got %d %s, want 503 overloaded", e.Status, e.Code)
			}
		})
	}
}
