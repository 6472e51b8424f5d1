package dashscope

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// TestResponseGolden translates native answers (testdata/response/
// <name>.native.json) and compares the client's body with
// <name>.openai.json, id and created normalised.
func TestResponseGolden(t *testing.T) {
	for _, name := range []string{"text", "tools", "reasoning", "multimodal", "n2", "text_format", "length"} {
		t.Run(name, func(t *testing.T) {
			fake := newFake(t)
			native := string(providertest.ReadFile(t, "testdata/response/"+name+".native.json"))
			fake.Reply(providertest.DashScope.JSON(200, native))
			d := newDashScope(t, fake.URL)
			resp, err := d.Send(t.Context(), chatCall(t, `{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}]}`))
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			defer resp.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Length != int64(len(body)) {
				t.Errorf("Length = %d, body has %d bytes", resp.Length, len(body))
			}
			if err := openaischema.Validate(openaischema.ChatCompletion, body); err != nil {
				t.Errorf("%v\n%s", err, body)
			}
			providertest.Golden(t, "testdata/response/"+name+".openai.json", normalise(t, body))

			var f frame
			_ = json.Unmarshal([]byte(native), &f)
			var out struct {
				ID    string `json:"id"`
				Model string `json:"model"`
			}
			_ = json.Unmarshal(body, &out)
			if out.ID != "chatcmpl-"+f.RequestID || out.Model != "client-model" {
				t.Errorf("id %q, model %q: want chatcmpl-<request_id> and the client's model", out.ID, out.Model)
			}
			if got := resp.Header.Get("X-Request-Id"); got != f.RequestID {
				t.Errorf("X-Request-Id = %q, want %q", got, f.RequestID)
			}
		})
	}
}

// TestGatheredAnswer: a non-streamed request with thinking on is streamed
// from DashScope and answered as one body.
func TestGatheredAnswer(t *testing.T) {
	fake := newFake(t)
	fake.Reply(providertest.DashScope.Stream(string(providertest.ReadFile(t, "testdata/stream/text_reasoning.sse"))))
	d := newDashScope(t, fake.URL)
	resp, err := d.Send(t.Context(), chatCall(t, `{"model":"qwen-plus","reasoning_effort":"low","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	if resp.Stream != nil {
		t.Fatal("a non-streamed request got a stream")
	}
	body, _ := io.ReadAll(resp.Body)
	if err := openaischema.Validate(openaischema.ChatCompletion, body); err != nil {
		t.Errorf("%v\n%s", err, body)
	}
	want := `{"choices":[{"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":"Hi!","reasoning_content":"The user greets.","refusal":null,"role":"assistant"}}],"created":0,"id":"chatcmpl-ID","model":"client-model","object":"chat.completion","usage":{"completion_tokens":6,"completion_tokens_details":{"reasoning_tokens":2},"prompt_tokens":287,"prompt_tokens_details":{"cached_tokens":256},"total_tokens":293}}`
	if got := providertest.Canonical(t, normalise(t, body)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if fake.Last(t).Header.Get("X-DashScope-SSE") != "enable" {
		t.Error("thinking request was not streamed upstream")
	}

	// Cut off before the finish: the gathered answer is an error, not a
	// partial body.
	fake.Reply(providertest.DashScope.Stream(string(providertest.ReadFile(t, "testdata/stream/truncated.sse"))))
	if _, err := d.Send(t.Context(), chatCall(t, `{"model":"qwq-plus","messages":[{"role":"user","content":"hi"}]}`)); err != providers.ErrTruncated {
		t.Errorf("truncated gathered answer: %v", err)
	}
}

// TestFinishReasons maps every DashScope finish reason.
func TestFinishReasons(t *testing.T) {
	cases := []struct {
		native string
		calls  bool
		want   string
	}{
		{"stop", false, "stop"},
		{"stop", true, "tool_calls"},
		{"length", false, "length"},
		{"length", true, "length"},
		{"tool_calls", true, "tool_calls"},
		{"tool_calls", false, "tool_calls"},
		{"function_call", true, "tool_calls"},
		{"content_filter", false, "content_filter"},
		{"sensitive", false, "content_filter"},
		{"something_new", false, "stop"},
	}
	for _, tc := range cases {
		if got := finishReason(tc.native, tc.calls); got != tc.want {
			t.Errorf("finishReason(%q, calls=%v) = %q, want %q", tc.native, tc.calls, got, tc.want)
		}
	}
	// "null" and "" mean the answer goes on, in a stream and in a body.
	for _, inProgress := range []string{"null", ""} {
		a := newAnswer(translate.NewAnswer("m"), 1, func([]byte) {})
		a.add(&frame{Output: output{Choices: []nativeChoice{{FinishReason: inProgress}}}})
		if a.complete(false) || a.choices[0].finish != "" {
			t.Errorf("finish_reason %q ended the answer", inProgress)
		}
	}
	fake := newFake(t)
	fake.Reply(providertest.DashScope.JSON(200,
		`{"output":{"choices":[{"finish_reason":"null","message":{"role":"assistant","content":"x"}}]},"request_id":"r"}`))
	resp, err := newDashScope(t, fake.URL).Send(t.Context(), chatCall(t, `{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"finish_reason":"stop"`) {
		t.Errorf("unfinished whole answer: %s", body)
	}
}

// TestAnswerFailures covers 2xx answers the gateway cannot use.
func TestAnswerFailures(t *testing.T) {
	cases := []struct {
		name, body   string
		status       int
		code, substr string
	}{
		{"not json", `<html>`, 502, "upstream_error", "not valid JSON"},
		{"no choices", `{"output":{},"request_id":"r"}`, 502, "upstream_error", "without any choice"},
		{"error in a 200", `{"code":"InvalidParameter","message":"Range of input length should be [1, 129024]","request_id":"r"}`, 400, "context_length_exceeded", "Range of input length"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t)
			fake.Reply(providertest.DashScope.JSON(200, tc.body))
			_, err := newDashScope(t, fake.URL).Send(t.Context(), chatCall(t, `{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}]}`))
			pe, ok := err.(*providers.Error)
			if !ok || pe.Status != tc.status || pe.Code != tc.code || !strings.Contains(pe.Message, tc.substr) {
				t.Fatalf("got %#v", err)
			}
		})
	}
	fake := newFake(t)
	fake.Reply(providertest.DashScope.JSON(200, `{"output":{"choices":[{"message":{"content":"`+strings.Repeat("a", 2<<10)+`"}}]}}`))
	p := newDashScope(t, fake.URL)
	p.MaxResponseBody = 1 << 10
	_, err := p.Send(t.Context(), chatCall(t, `{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}]}`))
	if pe, ok := err.(*providers.Error); !ok || pe.Status != http.StatusBadGateway || pe.Code != providers.CodeResponseTooLarge {
		t.Errorf("oversized answer: %v", err)
	}
}

// TestStreamOnlyRetry: a model DashScope only streams, missing from
// stream_only_models, is asked again as a stream and answered as one body.
func TestStreamOnlyRetry(t *testing.T) {
	for _, refusal := range []string{
		"This model only support stream mode, please enable the stream parameter to access the model.",
		"parameter.enable_thinking must be set to false for non-streaming calls",
	} {
		fake := newFake(t)
		fake.Reply(providertest.Script(func(r *http.Request) providertest.Reply {
			if r.Header.Get("X-DashScope-SSE") != "enable" {
				return providertest.DashScope.JSON(400, providertest.DashScopeError("InvalidParameter", refusal))
			}
			return providertest.DashScope.Stream(minimalEvent)
		}))
		resp, err := newDashScope(t, fake.URL).Send(t.Context(), chatCall(t, `{"model":"qwen3-32b","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatalf("%s: %v", refusal, err)
		}
		body, _ := io.ReadAll(resp.Body)
		reqs := fake.Requests()
		if !strings.Contains(string(body), `"content":"ok"`) || len(reqs) != 2 || !strings.Contains(string(reqs[1].Body), `"incremental_output":true`) {
			t.Errorf("%s: %d requests, body %s", refusal, len(reqs), body)
		}
	}
	// Other 400s are not retried.
	fake := newFake(t)
	fake.Reply(providertest.DashScope.JSON(400, providertest.DashScopeError("InvalidParameter", "Temperature should be in [0.0, 2.0)")))
	if _, err := newDashScope(t, fake.URL).Send(t.Context(), chatCall(t, `{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}]}`)); err == nil || len(fake.Requests()) != 1 {
		t.Errorf("retried a plain 400: %v, %d requests", err, len(fake.Requests()))
	}
}
