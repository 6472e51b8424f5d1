package gemini

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestAnswerGolden has the fake upstream answer with each
// testdata/answer_<name>.gemini.json and compares what the client gets
// with answer_<name>.openai.json.
func TestAnswerGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/answer_*.gemini.json")
	if err != nil || len(files) == 0 {
		t.Fatal("no answer golden files", err)
	}
	fake := newFake(t)
	g := newGemini(t, fake.URL)
	for _, file := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "answer_"), ".gemini.json")
		t.Run(name, func(t *testing.T) {
			fake.Reply(providertest.Gemini.JSON(http.StatusOK, string(providertest.ReadFile(t, file))))
			resp, err := g.Send(t.Context(), chatCall([]byte(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`), false))
			if err != nil {
				t.Fatal(err)
			}
			body := providertest.ReadAnswer(t, resp)
			if err := openaischema.Validate(openaischema.ChatCompletion, body); err != nil {
				t.Errorf("answer fails OpenAI's schema: %v\n%s", err, body)
			}
			providertest.Golden(t, "testdata/answer_"+name+".openai.json", normalize(t, body))
		})
	}
}

func TestBlockedPromptIsContentFilter(t *testing.T) {
	fake := newFake(t)
	g := newGemini(t, fake.URL)
	fake.Reply(providertest.Gemini.JSON(http.StatusOK, `{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-2.5-flash"}`))
	_, err := g.Send(t.Context(), chatCall([]byte(`{"messages":[{"role":"user","content":"something bad"}]}`), false))
	e, ok := errors.AsType[*providers.Error](err)
	if !ok || e.Status != http.StatusBadRequest || e.Code != "content_filter" || e.Type != "invalid_request_error" ||
		!strings.Contains(e.Message, "PROHIBITED_CONTENT") {
		t.Fatalf("got %v", err)
	}
	providertest.CheckError(t, e)
}

func TestUnusableAnswers(t *testing.T) {
	fake := newFake(t)
	g := newGemini(t, fake.URL)
	for name, body := range map[string]string{
		"no candidates": `{"usageMetadata":{"promptTokenCount":9}}`,
		"not JSON":      `<html>oops</html>`,
	} {
		fake.Reply(providertest.Gemini.JSON(http.StatusOK, body))
		_, err := g.Send(t.Context(), chatCall([]byte(`{"messages":[{"role":"user","content":"hi"}]}`), false))
		if e, ok := errors.AsType[*providers.Error](err); !ok || e.Status != http.StatusBadGateway || e.Code != "upstream_error" {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestFinishReasons(t *testing.T) {
	cases := []struct {
		native string
		tools  bool
		want   string
	}{
		{"STOP", false, "stop"},
		{"STOP", true, "tool_calls"},
		{"MAX_TOKENS", false, "length"},
		{"MAX_TOKENS", true, "length"},
		{"SAFETY", false, "content_filter"},
		{"RECITATION", false, "content_filter"},
		{"BLOCKLIST", false, "content_filter"},
		{"PROHIBITED_CONTENT", false, "content_filter"},
		{"SPII", false, "content_filter"},
		{"IMAGE_SAFETY", false, "content_filter"},
		{"IMAGE_PROHIBITED_CONTENT", false, "content_filter"},
		{"IMAGE_RECITATION", false, "content_filter"},
		{"LANGUAGE", false, "stop"},
		{"OTHER", false, "stop"},
		{"MALFORMED_FUNCTION_CALL", false, "stop"},
		{"UNEXPECTED_TOOL_CALL", false, "stop"},
		{"TOO_MANY_TOOL_CALLS", true, "tool_calls"},
		{"FINISH_REASON_UNSPECIFIED", false, "stop"},
		{"SOMETHING_NEW", false, "stop"},
	}
	for _, tc := range cases {
		if got := finishReason(tc.native, tc.tools); got != tc.want {
			t.Errorf("%s (tools %v): got %s, want %s", tc.native, tc.tools, got, tc.want)
		}
	}
}

func TestUsageMapping(t *testing.T) {
	u := (&usageMetadata{PromptTokenCount: 25, CandidatesTokenCount: 7, ThoughtsTokenCount: 180, CachedContentTokenCount: 16}).usage()
	if u.PromptTokens != 25 || u.CompletionTokens != 187 || u.PromptTokensDetails.CachedTokens != 16 || u.CompletionTokensDetails.ReasoningTokens != 180 {
		t.Errorf("usage = %+v", u)
	}
}

// TestThoughtSignatureRoundTrip answers with a signed function call, then
// sends the OpenAI tool call back in the history: the upstream must get
// the same signature on the functionCall part.
func TestThoughtSignatureRoundTrip(t *testing.T) {
	const signature = "CiQBVKhc7oH/+nq0Zm9vYmFyYmF6cXV4LzE2NDQ="
	fake := newFake(t)
	g := newGemini(t, fake.URL)
	fake.Reply(providertest.Gemini.JSON(http.StatusOK, `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"f","args":{"a":1}},"thoughtSignature":"`+signature+`"}]},"finishReason":"STOP","index":0}]}`))
	resp, err := g.Send(t.Context(), chatCall([]byte(`{"messages":[{"role":"user","content":"go"}]}`), false))
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Choices []struct {
			Message struct {
				ToolCalls []json.RawMessage `json:"tool_calls"`
			}
		}
	}
	if err := json.Unmarshal(providertest.ReadAnswer(t, resp), &answer); err != nil {
		t.Fatal(err)
	}
	var call struct{ ID string }
	_ = json.Unmarshal(answer.Choices[0].Message.ToolCalls[0], &call)
	if !strings.HasPrefix(call.ID, "call_") || strings.ContainsAny(call.ID, "+/=") {
		t.Errorf("tool call id %q is not id-safe", call.ID)
	}

	fake.Reply(plainReply)
	history := `{"messages":[{"role":"user","content":"go"},{"role":"assistant","content":null,"tool_calls":[` +
		string(answer.Choices[0].Message.ToolCalls[0]) + `]},{"role":"tool","tool_call_id":"` + call.ID + `","content":"ok"}]}`
	resp, err = g.Send(t.Context(), chatCall([]byte(history), false))
	if err != nil {
		t.Fatal(err)
	}
	providertest.ReadAnswer(t, resp)
	var sent generateRequest
	if err := json.Unmarshal(fake.Last(t).Body, &sent); err != nil {
		t.Fatal(err)
	}
	p := sent.Contents[1].Parts[0]
	if p.FunctionCall == nil || p.ThoughtSignature != signature {
		t.Errorf("functionCall part = %+v, want signature %s", p, signature)
	}
	if r := sent.Contents[2].Parts[0].FunctionResponse; r == nil || r.Name != "f" || string(r.Response) != `{"output":"ok"}` {
		t.Errorf("functionResponse = %+v", r)
	}
}

func TestSignatureIDs(t *testing.T) {
	cases := []struct{ signature, want string }{
		{"Cv8B+/+/AQI=", "Cv8B+/+/AQI="},
		{"Cv8B-_-_AQI", "Cv8B+/+/AQI="}, // URL alphabet, unpadded: same bytes
		{"", ""},
		{"not base64!", ""},
	}
	for _, tc := range cases {
		id := callID(tc.signature)
		if got := signatureFromID(id); got != tc.want {
			t.Errorf("%q: id %s gives %q, want %q", tc.signature, id, got, tc.want)
		}
	}
	for _, id := range []string{"call_abc", "call_0123456789abcdef0123456_x", "call_0123456789ABCDEF01234567_Cv8B", "toolu_01", "call_0123456789abcdef01234567_", "call_0123456789abcdef01234567_!!"} {
		if got := signatureFromID(id); got != "" {
			t.Errorf("%s: got signature %q from a foreign id", id, got)
		}
	}
}
