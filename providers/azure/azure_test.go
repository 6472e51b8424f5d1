package azure

import (
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

func TestTargetURLs(t *testing.T) {
	cases := []struct {
		version, endpoint string
		op                providers.Operation
		model, want       string
	}{
		{"2024-10-21", "https://res.openai.azure.com/", providers.Chat, "gpt-4o", "https://res.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21"},
		{"2024-10-21", "https://res.openai.azure.com/openai", providers.Completions, "gpt-35-turbo-instruct", "https://res.openai.azure.com/openai/deployments/gpt-35-turbo-instruct/completions?api-version=2024-10-21"},
		{"2024-02-01", "https://res.openai.azure.com", providers.Embeddings, "text-embedding-3-small", "https://res.openai.azure.com/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-02-01"},
		{"v1", "https://res.openai.azure.com", providers.Chat, "gpt-4o", "https://res.openai.azure.com/openai/v1/chat/completions"},
	}
	for _, tc := range cases {
		a := &Azure{Base: providers.Base{Name: "az", BaseURL: tc.endpoint}, APIVersion: tc.version, Deployments: map[string]string{"gpt-4o": "prod-4o"}}
		if err := a.Provision(caddy.Context{}); err != nil {
			t.Fatal(err)
		}
		if got, err := a.Target(tc.op, tc.model); err != nil || got != tc.want {
			t.Errorf("%s %s: got %s (%v), want %s", tc.version, tc.op, got, err, tc.want)
		}
	}
}

// TestDeploymentStaysInItsSegment: a model name used as the deployment
// cannot leave its path segment. Escaping keeps slashes, query and
// fragment marks in it; the dot segments escaping leaves as they are
// ("." and "..", which an upstream resolves to a parent path) and the
// empty name are refused.
func TestDeploymentStaysInItsSegment(t *testing.T) {
	a := &Azure{Base: providers.Base{Name: "az", BaseURL: "https://res.openai.azure.com/pfx"}, APIVersion: "2024-10-21"}
	if err := a.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	for model, want := range map[string]string{
		"../../admin": "..%2F..%2Fadmin",
		"a?b=c#d":     "a%3Fb=c%23d",
		"%2e%2e":      "%252e%252e",
		"...":         "...",
	} {
		got, err := a.Target(providers.Chat, model)
		if err != nil || got != "https://res.openai.azure.com/pfx/openai/deployments/"+want+"/chat/completions?api-version=2024-10-21" {
			t.Errorf("%q: %s (%v)", model, got, err)
		}
	}
	for _, model := range []string{"", ".", ".."} {
		_, err := a.Target(providers.Chat, model)
		if e, ok := err.(*providers.Error); !ok || e.Status != 400 || e.Param != "model" {
			t.Errorf("%q: got %v, want a 400 for the model", model, err)
		}
	}
}

func TestStreamUsageOnlyWhereTheVersionAcceptsIt(t *testing.T) {
	for version, want := range map[string]bool{"2024-10-21": true, "2024-09-01-preview": true, "2025-04-01-preview": true, "v1": true, "2024-08-01-preview": false, "2024-02-01": false, "2023-05-15": false} {
		a := &Azure{Base: providers.Base{Name: "az", BaseURL: "https://res.openai.azure.com"}, APIVersion: version}
		if err := a.Provision(caddy.Context{}); err != nil {
			t.Fatal(err)
		}
		if a.streamUsage != want {
			t.Errorf("%s: stream usage %v, want %v", version, a.streamUsage, want)
		}
	}
}
