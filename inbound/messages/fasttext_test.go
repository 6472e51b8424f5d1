package messages

import (
	"encoding/json"
	"testing"
)

// TestFastText reads text chunks without reflection, and leaves every
// other chunk to the full decoding, whose reading of the text it matches.
func TestFastText(t *testing.T) {
	cases := []struct {
		chunk string
		fast  bool
	}{
		{`{"id":"c","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}`, true},
		{`{"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`, true},
		{` { "choices" : [ { "delta" : { "content" : "a \"quoted\" \u00e9 line\n" } } ] } `, true},
		{`{"choices":[{"delta":{"content":"a"},"finish_reason":"stop"}]}`, false},
		{`{"choices":[{"delta":{"content":"a"},"stop_reason":"END"}]}`, false},
		{`{"choices":[],"usage":{"prompt_tokens":1}}`, false},
		{`{"choices":[{"delta":{"content":"a"}}],"Usage":{"prompt_tokens":1}}`, false},
		{`{"Choices":[{"delta":{"content":"a"}}]}`, false},
		{`{"\u0063hoices":[{"delta":{"content":"a"}}]}`, false},
		{`{"choices":[{"delta":{"content":"a"}}],"choices":[{"delta":{"content":"b"}}]}`, true},
		{`{"choices":[{"delta":{"content":"a","reasoning_content":"b"}}]}`, false},
		{`{"choices":[{"delta":{"tool_calls":[{"index":0}]}}]}`, false},
		{`{"choices":[{"delta":{"content":null}}]}`, false},
		{`{"choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"}}]}`, false},
		{"{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}", false},
		{`{"choices":[{"delta":{"content":"a"}}]`, false},
	}
	for _, tc := range cases {
		text, ok := fastText([]byte(tc.chunk))
		if ok != tc.fast {
			t.Errorf("%s: fast %v, want %v", tc.chunk, ok, tc.fast)
			continue
		}
		if !ok {
			continue
		}
		var c streamChunk
		if err := json.Unmarshal([]byte(tc.chunk), &c); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := json.Unmarshal(text, &got); err != nil || got != c.Choices[0].Delta.Content {
			t.Errorf("%s: fast text %s, decoded %q", tc.chunk, text, c.Choices[0].Delta.Content)
		}
	}
}
