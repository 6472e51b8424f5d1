package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/sse"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// FuzzAnthropicStream feeds arbitrary upstream bytes to the stream
// translator: it must never panic or loop, every chunk it emits must be
// JSON, and it must end with io.EOF only after a finish chunk.
func FuzzAnthropicStream(f *testing.F) {
	for _, b := range providertest.Seeds(f, "testdata/stream/*.sse") {
		f.Add(b, false)
		f.Add(b, true)
		f.Add(b[:len(b)/2], false)
	}
	f.Add([]byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n"), false)
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"index\":-1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"x\"}}\n\n"), false)
	f.Add([]byte("data: {\"type\":\"content_block_stop\",\"index\":99999999999}\n\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, jsonMode bool) {
		tool := ""
		if jsonMode {
			tool = "city"
		}
		st := newStream(translate.NewAnswer("m"), sse.NewReader(bytes.NewReader(data), providers.MaxEvent), tool)
		s := translate.NewStream(st.pull, io.NopCloser(nil))
		finished := false
		for i := 0; ; i++ {
			if i > len(data)+10 {
				t.Fatal("the stream does not end")
			}
			chunk, err := s.Next()
			if err != nil {
				if errors.Is(err, io.EOF) && !finished {
					t.Fatal("io.EOF without a finish chunk")
				}
				return
			}
			if !json.Valid(chunk) {
				t.Fatalf("chunk is not JSON: %s", chunk)
			}
			if bytes.Contains(chunk, []byte(`"finish_reason":"`)) {
				finished = true
			}
		}
	})
}

// FuzzRequest feeds arbitrary OpenAI request bodies to the translation
// into a Messages request: it must refuse them with an error or make a
// request that encodes as JSON, never panic.
func FuzzRequest(f *testing.F) {
	for _, b := range providertest.Seeds(f, "testdata/request/*.openai.json") {
		f.Add(b)
	}
	a := &Anthropic{Base: providers.Base{Name: "claude"}, MaxTokens: DefaultMaxTokens}
	f.Fuzz(func(t *testing.T, body []byte) {
		chat, perr := translate.DecodeChat(body)
		if perr != nil {
			return
		}
		native, _, perr := a.buildRequest(&providers.Call{Op: providers.Chat, Model: "claude-x", Body: body}, chat)
		if perr != nil {
			return
		}
		if out, err := providers.MarshalJSON(native); err != nil || !json.Valid(out) {
			t.Fatalf("request does not encode: %v", err)
		}
	})
}
