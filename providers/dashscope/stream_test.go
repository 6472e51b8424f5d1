package dashscope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

const streamRequest = `{"model":"qwen-plus","stream":true,"messages":[{"role":"user","content":"hi"}]}`

// TestStreamGolden streams native event streams (testdata/stream/
// <name>.sse) and compares the OpenAI chunks, one per line with id and
// created normalised, and how the stream ended, with <name>.chunks.
func TestStreamGolden(t *testing.T) {
	cases := []struct {
		name, file, request, requestID string
	}{
		{"text_reasoning", "text_reasoning.sse", streamRequest, "a1959ad1-0000-4000-8000-000000000001"},
		{"tools_parallel", "tools_parallel.sse", streamRequest, "r1"},
		{"cumulative", "cumulative.sse", streamRequest, "r-cum"},
		{"cumulative_tools", "cumulative_tools.sse", streamRequest, "r-ct"},
		{"multimodal", "multimodal.sse", streamRequest, "r-vl"},
		{"n2", "n2.sse", `{"model":"qwen-plus","stream":true,"n":2,"messages":[{"role":"user","content":"hi"}]}`, "r-n2"},
		{"midstream_error", "midstream_error.sse", streamRequest, "r-err"},
		{"truncated", "truncated.sse", streamRequest, "r-cut"},
		{"crlf", "crlf.sse", streamRequest, "r-crlf"},
		{"json_body", "json_body.json", streamRequest, "r-json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t)
			native := string(providertest.ReadFile(t, "testdata/stream/"+tc.file))
			if strings.HasSuffix(tc.file, ".json") {
				fake.Reply(providertest.DashScope.JSON(http.StatusOK, native))
			} else {
				fake.Reply(providertest.DashScope.Stream(native))
			}
			d := newDashScope(t, fake.URL)
			resp, err := d.Send(t.Context(), chatCall(t, tc.request))
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if _, ok := resp.Stream.(providers.Bursting); !ok {
				t.Error("the stream does not report bursts")
			}
			if got := resp.Header.Get("X-Request-Id"); got != tc.requestID {
				t.Errorf("X-Request-Id = %q, want %q", got, tc.requestID)
			}
			chunks, end := providertest.Drain(t, resp.Stream)
			providertest.ValidateStream(t, chunks, end)
			var out bytes.Buffer
			for _, c := range chunks {
				var probe struct{ ID, Model string }
				_ = json.Unmarshal(c, &probe)
				if probe.ID != "chatcmpl-"+tc.requestID || probe.Model != "client-model" {
					t.Errorf("chunk id %q, model %q", probe.ID, probe.Model)
				}
				out.WriteString(providertest.Canonical(t, normalise(t, c)))
				out.WriteByte('\n')
			}
			out.WriteString(describeEnd(end))
			providertest.Golden(t, "testdata/stream/"+tc.name+".chunks", out.Bytes())
		})
	}
}

// describeEnd renders how a stream ended for the golden files.
func describeEnd(err error) string {
	var pe *providers.Error
	switch {
	case err == nil:
		return "END\n"
	case errors.Is(err, providers.ErrTruncated):
		return "TRUNCATED\n"
	case errors.As(err, &pe):
		return fmt.Sprintf("ERROR %d %s %s: %s\n", pe.Status, pe.Type, pe.Code, pe.Message)
	}
	return "FAILED " + err.Error() + "\n"
}

// TestStreamUsageIsLastNotSum: DashScope's usage is cumulative in every
// event; the usage chunk must carry the last value.
func TestStreamUsageIsLastNotSum(t *testing.T) {
	fake := newFake(t)
	fake.Reply(providertest.DashScope.Stream(string(providertest.ReadFile(t, "testdata/stream/tools_parallel.sse"))))
	resp, err := newDashScope(t, fake.URL).Send(t.Context(), chatCall(t, streamRequest))
	if err != nil {
		t.Fatal(err)
	}
	chunks, end := providertest.Drain(t, resp.Stream)
	if end != nil {
		t.Fatal(end)
	}
	var last struct {
		Choices []any
		Usage   *translate.Usage
	}
	if err := json.Unmarshal(chunks[len(chunks)-1], &last); err != nil || last.Usage == nil || len(last.Choices) != 0 {
		t.Fatalf("last chunk is not the usage chunk: %s", chunks[len(chunks)-1])
	}
	if u := *last.Usage; u.PromptTokens != 238 || u.CompletionTokens != 108 || u.TotalTokens != 346 {
		t.Errorf("usage = %+v, want the last event's 238/108/346", u)
	}
}

// TestStreamEndsAtFinish: the answer is complete at the event with a real
// finish reason; the gateway does not wait for DashScope to close.
func TestStreamEndsAtFinish(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	up := providertest.NewUpstream(t, providertest.DashScope.Stream(minimalEvent).PauseAfter(1, release))
	resp, err := newDashScope(t, up.URL).Send(t.Context(), chatCall(t, streamRequest))
	if err != nil {
		t.Fatal(err)
	}
	chunks, end := providertest.Drain(t, resp.Stream)
	if end != nil || len(chunks) != 4 { // role, text, finish, usage
		t.Fatalf("%d chunks, end %v", len(chunks), end)
	}
}

// TestStreamErrorFirst: an error DashScope reports in its first event is
// the call's error, so the handler can still answer with its status (or
// fall back), and nothing is relayed.
func TestStreamErrorFirst(t *testing.T) {
	fake := newFake(t)
	fake.Reply(providertest.DashScope.Stream(providertest.DashScopeErrorEvent(1, 429, `{"code":"Throttling.RateQuota","message":"Requests rate limit exceeded, please try again later.","request_id":"r-429"}`)))
	_, err := newDashScope(t, fake.URL).Send(t.Context(), chatCall(t, streamRequest))
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Status != 429 || pe.Type != "rate_limit_error" || pe.Code != "Throttling.RateQuota" || pe.Header.Get("X-Request-Id") != "r-429" {
		t.Fatalf("got %#v", err)
	}
	fake.Reply(providertest.DashScope.Stream(""))
	if _, err := newDashScope(t, fake.URL).Send(t.Context(), chatCall(t, streamRequest)); !errors.Is(err, providers.ErrTruncated) {
		t.Errorf("empty stream: %v", err)
	}
}

// TestStreamToolCallIndexes checks the tool-call deltas of the parallel
// stream: indexes 0 and 1, id and name on each call's first delta only,
// and arguments that join into valid JSON.
func TestStreamToolCallIndexes(t *testing.T) {
	fake := newFake(t)
	fake.Reply(providertest.DashScope.Stream(string(providertest.ReadFile(t, "testdata/stream/tools_parallel.sse"))))
	resp, err := newDashScope(t, fake.URL).Send(t.Context(), chatCall(t, streamRequest))
	if err != nil {
		t.Fatal(err)
	}
	chunks, _ := providertest.Drain(t, resp.Stream)
	type call struct{ id, name, args string }
	calls := map[int]*call{}
	for _, c := range chunks {
		var ch struct {
			Choices []struct {
				Delta struct {
					ToolCalls []struct {
						Index    *int    `json:"index"`
						ID       *string `json:"id"`
						Function struct {
							Name      *string `json:"name"`
							Arguments string  `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
			} `json:"choices"`
		}
		_ = json.Unmarshal(c, &ch)
		for _, ch := range ch.Choices {
			for _, tc := range ch.Delta.ToolCalls {
				if tc.Index == nil {
					t.Fatalf("tool-call delta without index: %s", c)
				}
				cl := calls[*tc.Index]
				if cl == nil {
					if tc.ID == nil || tc.Function.Name == nil {
						t.Fatalf("first delta of call %d lacks id or name: %s", *tc.Index, c)
					}
					cl = &call{id: *tc.ID, name: *tc.Function.Name}
					calls[*tc.Index] = cl
				} else if tc.ID != nil || tc.Function.Name != nil {
					t.Errorf("later delta of call %d repeats id or name: %s", *tc.Index, c)
				}
				cl.args += tc.Function.Arguments
			}
		}
	}
	want := map[int]call{0: {"call_ecc4", "get_weather", `{"city": "Hangzhou"}`}, 1: {"call_b7d2", "get_time", "{}"}}
	if len(calls) != len(want) {
		t.Fatalf("%d calls, want %d", len(calls), len(want))
	}
	for i, w := range want {
		if *calls[i] != w {
			t.Errorf("call %d = %+v, want %+v", i, *calls[i], w)
		}
		if !json.Valid([]byte(calls[i].args)) {
			t.Errorf("call %d arguments are not JSON: %s", i, calls[i].args)
		}
	}
}

// TestCallMatching covers tool-call elements without an index, with
// reused indexes and with names that arrive late.
func TestCallMatching(t *testing.T) {
	frames := []string{
		// no index at all: the id opens calls, empty ids continue the last one
		`{"output":{"choices":[{"finish_reason":"null","message":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"x\":"}}]}}]}}`,
		`{"output":{"choices":[{"finish_reason":"null","message":{"tool_calls":[{"id":"","function":{"name":"","arguments":"1}"}}]}}]}}`,
		`{"output":{"choices":[{"finish_reason":"null","message":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}}`,
		// index 0 reused for a new id: a new call
		`{"output":{"choices":[{"finish_reason":"null","message":{"tool_calls":[{"index":0,"id":"c","function":{"name":"h","arguments":"{"}}]}}]}}`,
		`{"output":{"choices":[{"finish_reason":"null","message":{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}}]}}`,
		// the name arrives after the first arguments
		`{"output":{"choices":[{"finish_reason":"null","message":{"tool_calls":[{"index":5,"id":"d","function":{"arguments":"{\"y\""}}]}}]}}`,
		`{"output":{"choices":[{"finish_reason":"stop","message":{"tool_calls":[{"index":5,"function":{"name":"k","arguments":":2}"}}]}}]}}`,
	}
	a := newAnswer(translate.NewAnswer("m"), 1, nil)
	for _, f := range frames {
		var fr frame
		if err := json.Unmarshal([]byte(f), &fr); err != nil {
			t.Fatal(err)
		}
		a.add(&fr)
	}
	got := a.result()
	want := []translate.ToolCall{{ID: "a", Name: "f", Arguments: `{"x":1}`}, {ID: "b", Name: "g", Arguments: "{}"},
		{ID: "c", Name: "h", Arguments: "{}"}, {ID: "d", Name: "k", Arguments: `{"y":2}`}}
	if len(got) != 1 || got[0].FinishReason != "tool_calls" || fmt.Sprint(got[0].ToolCalls) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant calls %+v", got, want)
	}
}
