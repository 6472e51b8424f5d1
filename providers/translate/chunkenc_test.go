package translate

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// marshalled is what encoding/json makes of the same chunk.
func (a Answer) marshalled(choice int, d delta) []byte {
	return a.chunk(choice, d, nil)
}

var awkwardStrings = []string{
	"", "plain", `quote " backslash \ slash /`, "<b>&amp;</b>", "tab\tnewline\ncr\rbs\bff\f",
	"\x00\x01\x1f\x7f", "é中文🙂", "\u2028\u2029", "bad \xff\xfe utf8 \xe2\x82", "trailing \xc3",
}

func TestHandWrittenChunksMatchEncodingJSON(t *testing.T) {
	for _, a := range []Answer{{ID: "chatcmpl-1", Model: "m", Created: 1735689600}, {ID: "x\"<", Model: "\xffmodel\u2028", Created: -1}} {
		for _, s := range awkwardStrings {
			text := s
			for name, pair := range map[string][2][]byte{
				"text":      {a.TextChunk(3, s), a.marshalled(3, delta{Content: &text})},
				"reasoning": {a.ReasoningChunk(0, s), a.marshalled(0, delta{ReasoningContent: s})},
				"arguments": {a.ToolCallArguments(1, 7, s), a.marshalled(1, delta{ToolCalls: []toolDelta{{Index: 7, Function: functionDelta{Arguments: s}}}})},
			} {
				if !bytes.Equal(pair[0], pair[1]) {
					t.Errorf("%s %q:\n got %s\nwant %s", name, s, pair[0], pair[1])
				}
				if !json.Valid(pair[0]) {
					t.Errorf("%s %q: invalid JSON %s", name, s, pair[0])
				}
			}
		}
	}
}

func TestStringsKeepingHTMLMatchMarshalJSON(t *testing.T) {
	for _, s := range awkwardStrings {
		want, err := providers.MarshalJSON(s)
		if got := AppendJSONStringKeepHTML(nil, s); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}

func FuzzChunkEncoding(f *testing.F) {
	for _, s := range awkwardStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := Answer{ID: "chatcmpl-1", Model: s, Created: 1}
		text := s
		if got, want := a.TextChunk(0, s), a.marshalled(0, delta{Content: &text}); !bytes.Equal(got, want) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
		if got, want := AppendJSONStringKeepHTML(nil, s), must(providers.MarshalJSON(s)); !bytes.Equal(got, want) {
			t.Fatalf("kept HTML: got %s\nwant %s", got, want)
		}
	})
}
