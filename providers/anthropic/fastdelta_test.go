package anthropic

import (
	"encoding/json"
	"testing"
)

var deltaSamples = []string{
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`,
	`{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}}`,
	`{"type":"content_block_delta","index":1,"delta":{"type":"thinking_delta","thinking":"Let me think\n"}}`,
	`{"type":"content_block_delta","index":1,"delta":{"type":"signature_delta","signature":"EqQBCgIYAh"}}`,
	`{"index":0,"delta":{"text":"a","type":"text_delta"},"type":"content_block_delta","extra":[1,{"x":null}]}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a","text":"b"}}`,
	`{"type":"content_block_delta","Index":3,"delta":{"type":"text_delta","text":"case"}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","TEXT":"case"}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","te\u0078t":"escaped key"}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":null}}`,
	`{"type":"content_block_delta","index":1.0,"delta":{"type":"text_delta","text":"x"}}`,
	`{"type":"content_block_delta","index":99999999999999999999,"delta":{}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\ud83d\ude00 \u00e9 \"q\""}}`,
	`{"type":"content_block_delta","index":0,"delta":[]}`,
	`{"type":"message_delta","index":0,"delta":{"type":"text_delta","text":"x"}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}`,
}

// checkContentDelta fails when the fast reading differs from what
// json.Unmarshal makes of the same event.
func checkContentDelta(t *testing.T, data string) {
	t.Helper()
	d, ok := parseContentDelta([]byte(data))
	if !ok {
		return
	}
	var e streamEvent
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		t.Fatalf("%s: read fast, but json.Unmarshal fails: %v", data, err)
	}
	if e.Type != "content_block_delta" || e.Delta == nil {
		t.Fatalf("%s: read fast, but json.Unmarshal gives type %q, delta %v", data, e.Type, e.Delta)
	}
	want := contentDelta{index: e.Index, typ: e.Delta.Type, text: e.Delta.Text, partial: e.Delta.PartialJSON, reasoning: e.Delta.Thinking}
	if d != want {
		t.Fatalf("%s:\n fast %+v\n json %+v", data, d, want)
	}
}

func TestContentDeltaReadAsEncodingJSONDoes(t *testing.T) {
	fast := 0
	for _, s := range deltaSamples {
		checkContentDelta(t, s)
		if _, ok := parseContentDelta([]byte(s)); ok {
			fast++
		}
	}
	if fast < 6 {
		t.Fatalf("only %d samples took the fast path", fast)
	}
}

func FuzzContentDelta(f *testing.F) {
	for _, s := range deltaSamples {
		f.Add(s)
	}
	f.Fuzz(checkContentDelta)
}
