package inbound

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestReadChunk(t *testing.T) {
	for _, tc := range []struct {
		chunk   string
		members string // level key=value, in the order fn saw them
		choices int
		ok      bool
	}{
		{`{"id":"c","choices":[{"index":0,"delta":{"content":"Hi","role":"assistant"},"finish_reason":null}],"usage":null}`,
			`0 id="c"|1 index=0|2 content="Hi"|2 role="assistant"|1 delta={"content":"Hi","role":"assistant"}|1 finish_reason=null|` +
				`0 choices=[{"index":0,"delta":{"content":"Hi","role":"assistant"},"finish_reason":null}]|0 usage=null`, 1, true},
		{` { "choices" : [ { "delta" : { "content" : "a" } } , { "delta" : { "content" : "b" } } , 3 ] } `,
			`2 content="a"|1 delta={ "content" : "a" }|0 choices=[ { "delta" : { "content" : "a" } } , { "delta" : { "content" : "b" } } , 3 ]`, 2, true},
		{`{"choices":[],"usage":{"prompt_tokens":1}}`, `0 choices=[]|0 usage={"prompt_tokens":1}`, 0, true},
		{`{"choices":[1]}`, `0 choices=[1]`, 1, true},
		{`{"choices":{"delta":{}}}`, `0 choices={"delta":{}}`, 0, true},
		{`{"choices":[{"delta":"text"}]}`, `1 delta="text"|0 choices=[{"delta":"text"}]`, 1, true},
		{`{"a":{"choices":[{"delta":{"x":1}}]}}`, `0 a={"choices":[{"delta":{"x":1}}]}`, 0, true},
		{`{"c\"x":1}`, `0 c\"x=1`, 0, true},
		{`{}`, ``, 0, true},
		{`{"choices":[{"delta":{"content":"ok"}}]`, `2 content="ok"|1 delta={"content":"ok"}|0 choices=[{"delta":{"content":"ok"}}]`, 1, false},
		{`{"id":"c"} x`, `0 id="c"`, 0, false},
		{`{"id":"c","choices":[{"delta":{"content":"ok",}}]}`, `0 id="c"|2 content="ok"`, 0, false},
		{`[]`, ``, 0, false},
		{``, ``, 0, false},
		{`{"id" "c"}`, ``, 0, false},
	} {
		var seen []string
		choices, ok := ReadChunk([]byte(tc.chunk), func(at ChunkLevel, key, value []byte) {
			seen = append(seen, fmt.Sprintf("%d %s=%s", at, key, value))
		})
		if got := strings.Join(seen, "|"); got != tc.members || choices != tc.choices || ok != tc.ok {
			t.Errorf("%s:\n got %s, %d choices, ok %v\nwant %s, %d choices, ok %v", tc.chunk, got, choices, ok, tc.members, tc.choices, tc.ok)
		}
	}
}

func BenchmarkReadChunk(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"tok "},"logprobs":null,"finish_reason":null}]}`)
	var n int
	for b.Loop() {
		ReadChunk(chunk, func(at ChunkLevel, key, value []byte) {
			if at == InDelta && string(key) == "content" {
				n += len(value)
			}
		})
	}
}

func TestTextChunks(t *testing.T) {
	var texts TextChunks
	if _, ok := texts.Text([]byte(`{"choices":[{"delta":{"content":"a"}}]}`)); ok {
		t.Fatal("a text before any chunk was learned")
	}
	learned := []byte(`{"id":"c","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}`)
	at := strings.Index(string(learned), `"Hi"`)
	texts.Learn(learned, learned[at:at+4])
	learned[at+1] = 'x' // the chunk's bytes are reused once read
	for chunk, want := range map[string]string{
		`{"id":"c","choices":[{"index":0,"delta":{"content":"there \"you\" \u00e9"},"finish_reason":null}]}`: `"there \"you\" \u00e9"`,
		`{"id":"c","choices":[{"index":0,"delta":{"content":""},"finish_reason":null}]}`:                     `""`,
		`{"id":"c","choices":[{"index":0,"delta":{"content":"a","x":"b"},"finish_reason":null}]}`:            ``,
		`{"id":"c","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}`:                  ``,
		`{"id":"c","choices":[{"index":0,"delta":{"content":null},"finish_reason":null}]}`:                   ``,
		`{"id":"c","choices":[{"index":0,"delta":{"content":"bad \x"},"finish_reason":null}]}`:               ``,
		`{"id":"d","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}`:                    ``,
	} {
		got, ok := texts.Text([]byte(chunk))
		if string(got) != want || ok != (want != "") {
			t.Errorf("%s: text %s %v, want %s", chunk, got, ok, want)
		}
	}
}

// TestReadChatUsage reads usage as json.Unmarshal does, or leaves it to
// json.Unmarshal.
func TestReadChatUsage(t *testing.T) {
	type details struct {
		CachedTokens     int `json:"cached_tokens"`
		CacheWriteTokens int `json:"cache_write_tokens"`
		ReasoningTokens  int `json:"reasoning_tokens"`
	}
	type usage struct {
		PromptTokens            int      `json:"prompt_tokens"`
		CompletionTokens        int      `json:"completion_tokens"`
		TotalTokens             int      `json:"total_tokens"`
		PromptTokensDetails     *details `json:"prompt_tokens_details"`
		CompletionTokensDetails *details `json:"completion_tokens_details"`
	}
	for raw, read := range map[string]bool{
		`{"prompt_tokens":21,"completion_tokens":50,"total_tokens":71}`: true,
		`{"prompt_tokens":21,"completion_tokens":5,"total_tokens":26,"prompt_tokens_details":{"cached_tokens":3,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2,"accepted_prediction_tokens":0}}`: true,
		` { "prompt_tokens" : -1 , "completion_tokens" : null , "prompt_tokens_details" : null } `:                                                                                                                    true,
		`{"prompt_tokens":1,"prompt_tokens":2,"cost":0.5,"prompt_tokens_details":{"cache_write_tokens":4}}`:                                                                                                           true,
		`{"prompt_tokens":1.5}`:                         false,
		`{"prompt_tokens":1e3}`:                         false,
		`{"prompt_tokens":"1"}`:                         false,
		`{"Prompt_Tokens":1}`:                           false,
		`{"prompt_tokens_details":{"Cached_Tokens":1}}`: false,
		`{"prompt_tokens_details":[]}`:                  false,
		`{"prompt_tokens":99999999999999999999}`:        false,
		`[]`:                                            false,
	} {
		got, ok := ReadChatUsage([]byte(raw))
		if ok != read {
			t.Errorf("%s: read %v, want %v", raw, ok, read)
			continue
		}
		var want usage
		if !ok || json.Unmarshal([]byte(raw), &want) != nil {
			continue
		}
		var pd, cd details
		if want.PromptTokensDetails != nil {
			pd = *want.PromptTokensDetails
		}
		if want.CompletionTokensDetails != nil {
			cd = *want.CompletionTokensDetails
		}
		if got != (ChatUsage{want.PromptTokens, want.CompletionTokens, want.TotalTokens, pd.CachedTokens, pd.CacheWriteTokens, cd.ReasoningTokens}) {
			t.Errorf("%s: read %+v, json.Unmarshal %+v %+v %+v", raw, got, want, pd, cd)
		}
	}
}
