package mock

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

func newMock(t *testing.T, m *Mock) *Mock {
	t.Helper()
	if err := m.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	return m
}

func send(t *testing.T, m *Mock, op providers.Operation, body string, stream bool) *providers.Response {
	t.Helper()
	resp, err := m.Send(context.Background(), &providers.Call{Op: op, Model: "mock", Body: []byte(body), Stream: stream})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestEchoAndMaxTokens(t *testing.T) {
	m := newMock(t, &Mock{})
	resp := send(t, m, providers.Chat, `{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"one two three four"}]}],"max_tokens":2}`, false)
	var got struct {
		Choices []struct {
			Message      struct{ Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			PromptTokens, CompletionTokens int `json:",omitempty"`
		}
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Choices[0].Message.Content != "one two " || got.Choices[0].FinishReason != "length" {
		t.Errorf("answer = %s", b)
	}
	if !strings.Contains(string(b), `"prompt_tokens":6,"completion_tokens":2`) {
		t.Errorf("usage in %s", b)
	}
}

func TestStreamWordByWord(t *testing.T) {
	m := newMock(t, &Mock{Reply: "Hello brave world"})
	resp := send(t, m, providers.Chat, `{"messages":[{"role":"user","content":"x"}]}`, true)
	var deltas []string
	var sawUsage bool
	for {
		chunk, err := resp.Stream.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Choices []struct {
				Delta struct{ Content *string }
			}
			Usage *struct {
				TotalTokens int `json:"total_tokens"`
			}
		}
		if err := json.Unmarshal(chunk, &c); err != nil {
			t.Fatal(err)
		}
		if c.Usage != nil {
			sawUsage = c.Usage.TotalTokens == 4 && len(c.Choices) == 0
		} else if c.Choices[0].Delta.Content != nil {
			deltas = append(deltas, *c.Choices[0].Delta.Content)
		}
	}
	if strings.Join(deltas, "|") != "|Hello |brave |world" || !sawUsage {
		t.Errorf("deltas %q, usage chunk %v", deltas, sawUsage)
	}
}

func TestStreamDelayStopsOnCancel(t *testing.T) {
	m := newMock(t, &Mock{Reply: "a b", Delay: caddy.Duration(time.Hour)})
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := m.Send(ctx, &providers.Call{Op: providers.Chat, Body: []byte(`{"messages":[{"role":"user","content":"x"}]}`), Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resp.Stream.Next(); err != nil { // the role chunk comes at once
		t.Fatal(err)
	}
	cancel()
	if _, err := resp.Stream.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel = %v", err)
	}
}

func TestEmbeddingsBase64(t *testing.T) {
	m := newMock(t, &Mock{})
	var floats, b64 struct {
		Data []struct {
			Embedding json.RawMessage
		}
	}
	for body, dst := range map[string]any{
		`{"input":"hello","dimensions":4}`:                            &floats,
		`{"input":"hello","dimensions":4,"encoding_format":"base64"}`: &b64,
	} {
		b, _ := io.ReadAll(send(t, m, providers.Embeddings, body, false).Body)
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	var vec []float32
	if err := json.Unmarshal(floats.Data[0].Embedding, &vec); err != nil || len(vec) != 4 {
		t.Fatalf("vector %s (%v)", floats.Data[0].Embedding, err)
	}
	var encoded string
	_ = json.Unmarshal(b64.Data[0].Embedding, &encoded)
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(raw) != 16 {
		t.Fatalf("base64 embedding %q (%v)", encoded, err)
	}
	var norm float64
	for i := range vec {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != vec[i] {
			t.Errorf("base64 value %d = %v, float value %v", i, got, vec[i])
		}
		norm += float64(vec[i]) * float64(vec[i])
	}
	if math.Abs(norm-1) > 1e-5 {
		t.Errorf("norm² = %v, want a unit vector", norm)
	}
}
