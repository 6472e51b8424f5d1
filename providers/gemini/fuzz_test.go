package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// FuzzGeminiStream feeds arbitrary upstream bytes to the stream reader: it
// must never panic or loop, every chunk must be JSON, and the stream must
// end with io.EOF, ErrTruncated or an *providers.Error.
func FuzzGeminiStream(f *testing.F) {
	for _, b := range providertest.Seeds(f, "testdata/stream_*.sse") {
		f.Add(b)
		f.Add(bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")))
	}
	f.Add([]byte("data: {\"candidates\":[{\"index\":-3,\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":null},\"thoughtSignature\":\"@@\"}]},\"finishReason\":\"STOP\"}]}\n\n"))
	f.Add([]byte("data: {\"error\":{\"code\":\"x\"}}\n\n"))
	f.Add([]byte(": keep-alive\n\ndata: [ ]\n\ndata:"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newStream(io.NopCloser(bytes.NewReader(body)), "m")
		defer s.Close()
		for n := 0; ; n++ {
			if n > len(body)+16 {
				t.Fatalf("more chunks than input bytes for %q", body)
			}
			c, err := s.Next()
			if err != nil {
				var perr *providers.Error
				if !errors.Is(err, io.EOF) && !errors.Is(err, providers.ErrTruncated) && !errors.As(err, &perr) {
					t.Fatalf("unexpected end %v", err)
				}
				return
			}
			if !json.Valid(c) {
				t.Fatalf("chunk is not JSON: %s", c)
			}
		}
	})
}

// FuzzRequest feeds arbitrary OpenAI request bodies to the translation
// into a generateContent request: it must refuse them with an error or
// make a request that encodes as JSON, never panic.
func FuzzRequest(f *testing.F) {
	for _, b := range providertest.Seeds(f, "testdata/request_*.openai.json") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		chat, perr := translate.DecodeChat(body)
		if perr != nil {
			return
		}
		native, perr := buildRequest(chat)
		if perr != nil {
			return
		}
		if out, err := providers.MarshalJSON(native); err != nil || !json.Valid(out) {
			t.Fatalf("request does not encode: %v", err)
		}
	})
}
