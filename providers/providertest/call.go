package providertest

import (
	"encoding/json"
	"io"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// NewCall is the call the handler makes for an OpenAI request body whose
// model is already the upstream's: the model and whether to stream are
// read from the body; clientModel is the name the client asked for.
func NewCall(t testing.TB, op providers.Operation, body []byte, clientModel string) *providers.Call {
	t.Helper()
	var head struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		t.Fatalf("test request: %v\n%s", err, body)
	}
	return &providers.Call{Op: op, Model: head.Model, ClientModel: clientModel, Body: body, Stream: head.Stream}
}

// ReadAnswer reads a whole non-streamed answer and closes it.
func ReadAnswer(t testing.TB, resp *providers.Response) []byte {
	t.Helper()
	defer resp.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An EmbeddingList is an OpenAI embeddings answer, decoded.
type EmbeddingList struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float64 `json:"embedding"`
	} `json:"data"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
	} `json:"usage"`
}

// ReadEmbeddings reads a whole embeddings answer, closes it and decodes it.
func ReadEmbeddings(t testing.TB, resp *providers.Response) EmbeddingList {
	t.Helper()
	var list EmbeddingList
	if err := json.Unmarshal(ReadAnswer(t, resp), &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// Provision readies p as Caddy does, Provision then Validate when p has
// one, and cleans it up when the test ends.
func Provision[P caddy.Provisioner](t testing.TB, p P) P {
	t.Helper()
	if err := p.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if v, ok := any(p).(caddy.Validator); ok {
		if err := v.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	if c, ok := any(p).(caddy.CleanerUpper); ok {
		t.Cleanup(func() { _ = c.Cleanup() })
	}
	return p
}
