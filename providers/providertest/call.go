package providertest

import (
	"encoding/json"
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
