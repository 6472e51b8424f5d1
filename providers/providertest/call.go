package providertest

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
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

// CheckError checks a failed call's error as the client gets it: a
// message that quotes none of secrets (keys, the upstream's URL), in
// OpenAI's error shape.
func CheckError(t testing.TB, e *providers.Error, secrets ...string) {
	t.Helper()
	if e.Message == "" {
		t.Errorf("error %d %s %q has no message", e.Status, e.Type, e.Code)
	}
	for _, secret := range secrets {
		if strings.Contains(e.Message, secret) {
			t.Errorf("message %q quotes %q", e.Message, secret)
		}
	}
	body, _ := e.MarshalJSON()
	if err := openaischema.Validate(openaischema.Error, body); err != nil {
		t.Errorf("%v\n%s", err, body)
	}
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
