package dashscope

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/sse"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// FuzzDashScopeStream feeds arbitrary upstream bytes to the stream reader,
// streaming and gathering: it must never panic, never loop, emit only
// JSON chunks, and end with io.EOF, ErrTruncated or a *providers.Error.
func FuzzDashScopeStream(f *testing.F) {
	for _, b := range providertest.Seeds(f, filepath.Join("testdata", "stream", "*.sse")) {
		f.Add(b, uint8(1))
	}
	f.Add([]byte("data:{\"output\":{\"choices\":[{\"index\":3,\"finish_reason\":\"stop\",\"message\":{\"tool_calls\":[{},{\"index\":-1}]}}]}}\n\n"), uint8(2))
	f.Add([]byte("event:error\ndata:{}\n\n"), uint8(0))
	f.Fuzz(func(t *testing.T, input []byte, n uint8) {
		for _, gather := range []bool{false, true} {
			var chunks [][]byte
			emit := func(c []byte) { chunks = append(chunks, c) }
			if gather {
				emit = nil
			}
			r := &reader{src: sseSource{sse.NewReader(bytes.NewReader(input), 1<<16)},
				ans: newAnswer(translate.NewAnswer("m"), int(n%6), emit)}
			var err error
			for steps := 0; err == nil; steps++ {
				if steps > len(input)+2 {
					t.Fatal("the reader does not end")
				}
				err = r.step()
			}
			var pe *providers.Error
			if !errors.Is(err, io.EOF) && !errors.Is(err, providers.ErrTruncated) && !errors.As(err, &pe) {
				t.Fatalf("unexpected error %T %v", err, err)
			}
			if r.step() != io.EOF {
				t.Fatal("the reader goes on after its end")
			}
			for _, c := range chunks {
				if !json.Valid(c) {
					t.Fatalf("invalid chunk %q", c)
				}
			}
			if errors.Is(err, io.EOF) {
				_ = r.ans.result()
			}
		}
	})
}

// FuzzRequest feeds arbitrary OpenAI request bodies to the translation
// into a DashScope request, text and multimodal: it must refuse them with
// an error or make a request that encodes as JSON, never panic.
func FuzzRequest(f *testing.F) {
	for _, b := range providertest.Seeds(f, filepath.Join("testdata", "request", "*.in.json")) {
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, body []byte, multimodal bool) {
		chat, perr := translate.DecodeChat(body)
		if perr != nil {
			return
		}
		native, _, perr := buildChat(chat, "qwen-x", multimodal)
		if perr != nil {
			return
		}
		if out, err := providers.MarshalJSON(native); err != nil || !json.Valid(out) {
			t.Fatalf("request does not encode: %v", err)
		}
	})
}
