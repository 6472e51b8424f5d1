package jsonscan

import (
	"encoding/json"
	"testing"
)

// chatRequest is a typical ~1 KB OpenAI chat completion request.
const chatRequest = `{
  "model": "gpt-4o-mini",
  "messages": [
    {"role": "system", "content": "You are a helpful assistant that answers questions about the company's internal documentation. Be concise and cite the section you used."},
    {"role": "user", "content": "How do I rotate the API keys for the staging environment?"},
    {"role": "assistant", "content": "Keys are rotated from the admin console under Settings \u2192 Credentials. Staging keys expire every 90 days; see section 4.2 \"Key rotation\"."},
    {"role": "user", "content": "And what happens to requests that are in flight while the old key is revoked? Do they fail with a 401, or is there a grace period?\nPlease answer in two sentences."}
  ],
  "temperature": 0.7,
  "top_p": 1,
  "max_tokens": 512,
  "presence_penalty": 0,
  "frequency_penalty": 0,
  "user": "user-8c1f2e",
  "tools": [{"type": "function", "function": {"name": "search_docs", "description": "Full-text search over the documentation", "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}],
  "stream": true
}`

// chatChunk is a typical ~300-byte streamed chat.completion.chunk payload.
const chatChunk = `{"id":"chatcmpl-9xQ2mJkR7bT4vNwYz1aLp","object":"chat.completion.chunk","created":1718900000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"content":" grace period"},"logprobs":null,"finish_reason":null}],"usage":null}`

func BenchmarkFindRequest(b *testing.B) {
	body := []byte(chatRequest)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok, err := Find(body, "stream"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkFindChunk(b *testing.B) {
	body := []byte(chatChunk)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s, e, ok, err := Find(body, "usage")
		if !ok || err != nil || !IsNull(body[s:e]) {
			b.Fatal(ok, err)
		}
		if _, _, ok, err = Find(body, "choices"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkMembersChunk is the one-pass alternative to two Find calls.
func BenchmarkMembersChunk(b *testing.B) {
	body := []byte(chatChunk)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := Members(body, func(k []byte, _, _ int) bool {
			if string(k) == "usage" || string(k) == "choices" {
				n++
			}
			return true
		})
		if err != nil || n != 2 {
			b.Fatal(n, err)
		}
	}
}

func BenchmarkSetRequest(b *testing.B) {
	body := []byte(chatRequest)
	value := []byte(`{"include_usage":true}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Set(body, "stream_options", value); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJSONValid is the yardstick: encoding/json merely validating the
// payloads that Find scans.
func BenchmarkJSONValid(b *testing.B) {
	for _, tc := range []struct{ name, body string }{{"Request", chatRequest}, {"Chunk", chatChunk}} {
		b.Run(tc.name, func(b *testing.B) {
			body := []byte(tc.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if !json.Valid(body) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
