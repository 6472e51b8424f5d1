package handler

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestChunkFilterShortcutAgreesWithTheScan feeds chunks, some made to
// fool a byte search, to the filter and to its full scan: both must make
// the same of each, with the stream's identity known or not.
func TestChunkFilterShortcutAgreesWithTheScan(t *testing.T) {
	chunks := filterTestChunks
	for _, known := range []bool{false, true} {

		for _, includeUsage := range []bool{false, true} {
			for _, c := range chunks {
				fast, full := chunkFilter{includeUsage: includeUsage}, chunkFilter{includeUsage: includeUsage}
				if known {
					for _, f := range []*chunkFilter{&fast, &full} {
						f.id, f.object, f.created, f.model = []byte(`"c0"`), []byte(`"chat.completion.chunk"`), []byte("1"), []byte(`"m"`)
					}
				}
				gotPayload, gotKeep := fast.apply([]byte(c))
				wantPayload, wantKeep := full.scan([]byte(c))
				if gotKeep != wantKeep || string(gotPayload) != string(wantPayload) || fast.usage != full.usage {
					t.Errorf("identity known %v, include_usage %v, %s:\n apply %v %s %+v\n scan  %v %s %+v",
						known, includeUsage, c, gotKeep, gotPayload, fast.usage, wantKeep, wantPayload, full.usage)
				}
			}
		}
	}
}

// filterTestChunks are chunks, some made to fool a byte search, several
// opening alike so that one follows another's opening.
var filterTestChunks = []string{
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"say \"usage\": 5"},"finish_reason":null}]}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices": [{"index":0,"delta":{"content":"spaced"}}],"usage":null}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`,
	`{"id":"","object":"","created":0,"model":"","choices":[],"prompt_filter_results":[{"prompt_index":0}]}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"\"choices\":[{"}}]}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices" : [ ],"x":{"choices":[{"a":1}]}}`,
	`{"id":"c1","choices":null}`,
	`{"id":"c1","choices"`,
	`{"id":"c1","usage":null,"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"usage first"}}]}`,
	`{"id":"c1","usage":null,"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"again"}}]}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"tail"}}],"usage":null}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"obf"},"finish_reason":null}],"usage":null,"obfuscation":"Ab3"}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"two"}}],"usage":null,"x":1,"usage":null}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"]","usage":null,"a":1}}],"usage":null,"obfuscation":"z"}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{}}], "usage":null,"obfuscation":"z"}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{}}],"usage":null ,"obfuscation":"z"}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2},"obfuscation":"z"}`,
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"cut"}],"usage":null,"obfuscation":"z"}`,
}

// TestChunkFilterAgreesWithTheScanChunkAfterChunk feeds every pair of
// chunks, one after the other, to one filter and to its full scan: what
// the filter keeps of a chunk's opening must not change what it makes of
// the next.
func TestChunkFilterAgreesWithTheScanChunkAfterChunk(t *testing.T) {
	for _, includeUsage := range []bool{false, true} {
		for _, first := range filterTestChunks {
			for _, second := range filterTestChunks {
				fast, full := chunkFilter{includeUsage: includeUsage}, chunkFilter{includeUsage: includeUsage}
				for _, c := range []string{first, second} {
					gotPayload, gotKeep := fast.apply([]byte(c))
					wantPayload, wantKeep := full.scan([]byte(c))
					if gotKeep != wantKeep || string(gotPayload) != string(wantPayload) || fast.usage != full.usage {
						t.Fatalf("include_usage %v, %s after %s:\n apply %v %s %+v\n scan  %v %s %+v",
							includeUsage, c, first, gotKeep, gotPayload, fast.usage, wantKeep, wantPayload, full.usage)
					}
				}
			}
		}
	}
}

func TestIndexByFindsWhatBytesIndexFinds(t *testing.T) {
	for _, b := range []string{"", "u", `"usage"`, `x"usage`, `"usag"usage"`, `{"a":"usage","usage":1}`, `usage"`, `""usage""`} {
		for k := range len(`"usage"`) {
			if got, want := indexBy([]byte(b), usageKey, k), strings.Index(b, `"usage"`); got != want {
				t.Errorf("indexBy(%q, k=%d) = %d, want %d", b, k, got, want)
			}
		}
	}
}

// BenchmarkChunkFilterDelta is the filter's work on each plain delta of a
// stream whose client asked for usage: OpenAI's chunk shape.
func BenchmarkChunkFilterDelta(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-9xQ2mJkR7bT4vNwYz1aLp","object":"chat.completion.chunk","created":1718900000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"content":" the quick brown fox"},"logprobs":null,"finish_reason":null}],"usage":null}`)
	f := chunkFilter{includeUsage: true}
	f.apply(chunk)
	for b.Loop() {
		if _, keep := f.apply(chunk); !keep {
			b.Fatal("dropped")
		}
	}
}

// TestParseUsageReadsAsUnmarshalDoes: the reader without reflection makes
// of each usage object what json.Unmarshal makes of it.
func TestParseUsageReadsAsUnmarshalDoes(t *testing.T) {
	for _, raw := range []string{
		`{"prompt_tokens":21,"completion_tokens":50,"total_tokens":71}`,
		`{"prompt_tokens":21,"completion_tokens":50}`,
		`{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10,"prompt_tokens_details":{"cached_tokens":4,"cache_write_tokens":2,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}`,
		`{"prompt_tokens":null,"completion_tokens":3,"prompt_tokens_details":null}`,
		`{"Prompt_Tokens":7,"completion_tokens":3}`,
		`{"prompt_tokens":1.5,"completion_tokens":3}`,
		`{"prompt_tokens":"7"}`,
		`{}`,
		`[1,2]`,
		`{"prompt_tokens":7`,
	} {
		var want usage
		if json.Unmarshal([]byte(raw), &want) == nil {
			want.known = true
			if want.TotalTokens == 0 {
				want.TotalTokens = want.PromptTokens + want.CompletionTokens
			}
		}
		if got := parseUsage([]byte(raw)); got != want {
			t.Errorf("%s: parseUsage %+v, json.Unmarshal %+v", raw, got, want)
		}
	}
}

// BenchmarkChunkFilterNullUsage is the filter's work on each delta OpenAI
// streams when the gateway, not the client, asked for usage: a null
// usage, then the chunk's "obfuscation", which the client must not see
// the usage of.
func BenchmarkChunkFilterNullUsage(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-9xQ2mJkR7bT4vNwYz1aLp","object":"chat.completion.chunk","created":1718900000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"content":" the quick brown fox"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Ab3dE"}`)
	f := chunkFilter{}
	buf := make([]byte, len(chunk))
	for b.Loop() {
		copy(buf, chunk)
		if _, keep := f.apply(buf); !keep {
			b.Fatal("dropped")
		}
	}
}
