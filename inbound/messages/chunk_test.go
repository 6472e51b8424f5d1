package messages

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/inbound/inboundtest"
)

// TestReadChunk reads chunks in one pass as json.Unmarshal reads them,
// keeping the text of a chunk of nothing but text as it came, and leaves
// to json.Unmarshal the chunks it might read otherwise.
func TestReadChunk(t *testing.T) {
	cases := []struct {
		chunk string
		raw   bool // the text is kept as written
	}{
		{`{"id":"c","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}`, true},
		{`{"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`, false},
		{` { "choices" : [ { "delta" : { "content" : "a \"quoted\" \u00e9 line\n" } } ] } `, true},
		{`{"choices":[{"delta":{"content":"a"},"finish_reason":"stop"}]}`, true},
		{`{"choices":[{"delta":{"content":"caf\u00e9"},"finish_reason":"stop"}]}`, false},
		{"{\"choices\":[{\"delta\":{\"content\":\"line\u2028\"},\"finish_reason\":\"stop\"}]}", false},
		{`{"choices":[{"delta":{"content":"<a&b>"},"stop_reason":"END"}]}`, true},
		{`{"choices":[{"delta":{},"finish_reason":"stop","stop_reason":"END"}]}`, false},
		{`{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1}}}`, false},
		{`{"choices":[],"usage":{"prompt_tokens":"1"}}`, false},
		{`{"choices":[{"delta":{"content":"a"}}],"Usage":{"prompt_tokens":1}}`, false},
		{`{"Choices":[{"delta":{"content":"a"}}]}`, false},
		{`{"\u0063hoices":[{"delta":{"content":"a"}}]}`, false},
		{`{"choices":[{"delta":{"content":"a"}}],"choices":[{"delta":{"content":"b"}}]}`, false},
		{`{"choices":[{"delta":{"content":"a","reasoning_content":"b","reasoning":"c"}}]}`, true},
		{`{"choices":[{"delta":{"content":"a\n","reasoning_content":null}}]}`, false},
		{`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"x","function":{"name":"f","arguments":"{}"}}]}}]}`, false},
		{`{"choices":[{"delta":{"tool_calls":[{"index":"0"}]}}]}`, false},
		{`{"choices":[{"delta":{"content":null}}]}`, false},
		{`{"choices":[{"delta":{"content":5}}]}`, false},
		{`{"choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"}}]}`, false},
		{`{"choices":[1]}`, false},
		{`{"choices":[{"delta":"a"}]}`, false},
		{`{"choices":null,"usage":null}`, false},
		{"{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}", false},
		{`{"choices":[{"delta":{"content":"a"}}]`, false},
	}
	for _, tc := range cases {
		got, ok := readChunk([]byte(tc.chunk))
		want, wantOK := decodeChunk([]byte(tc.chunk))
		got.onlyText = nil
		if (got.rawText != nil) != tc.raw {
			t.Errorf("%s: text kept as written %v, want %v", tc.chunk, got.rawText != nil, tc.raw)
		}
		if got.rawText != nil {
			if err := json.Unmarshal(got.rawText, &got.text); err != nil {
				t.Fatal(err)
			}
			got.rawText = nil
		}
		if ok != wantOK || ok && !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nread    %+v %v\ndecoded %+v %v", tc.chunk, got, ok, want, wantOK)
		}
	}
}

// TestReadAnswerMatchesUnmarshal reads chat completions as json.Unmarshal does.
func TestReadAnswerMatchesUnmarshal(t *testing.T) {
	for _, body := range inboundtest.ChatCompletions {
		got, err := readAnswer([]byte(body))
		var want chatAnswer
		wantErr := json.Unmarshal([]byte(body), &want)
		if (err == nil) != (wantErr == nil) || err == nil && !reflect.DeepEqual(*got, want) {
			t.Errorf("%s:\nread    %+v %v\ndecoded %+v %v", body, got, err, want, wantErr)
		}
	}
}

// Chat's prompt tokens split as Anthropic counts them: input_tokens are
// those neither read from the prompt cache nor written to it.
func TestUsageSplitsCacheReadsAndWrites(t *testing.T) {
	u, ok := readUsage([]byte(`{"prompt_tokens":1210,"completion_tokens":9,"total_tokens":1219,"prompt_tokens_details":{"cached_tokens":1000,"cache_write_tokens":200}}`))
	if !ok {
		t.Fatal("usage not read")
	}
	if got, want := u.toUsage(), (usage{InputTokens: 10, OutputTokens: 9, CacheReadInputTokens: 1000, CacheCreationInputTokens: 200}); got != want {
		t.Errorf("usage %+v, want %+v", got, want)
	}
}
