package integration

import (
	"encoding/json"
	"net/http"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// streamSchema stands beside openaischema's schema names in the tests'
// tables for a whole chat or completions stream.
const streamSchema = "stream"

// validateOpenAI checks body against the named schema of openaischema,
// or as a whole stream (openaischema.ValidateStream) for streamSchema.
func validateOpenAI(schema string, body []byte) error {
	if schema == streamSchema {
		return openaischema.ValidateStream(body)
	}
	return openaischema.Validate(schema, body)
}

// modelIDs lists the gateway's models as go-openai reads them.
func modelIDs(t *testing.T, c *openai.Client) []string {
	t.Helper()
	list, err := c.ListModels(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range list.Models {
		ids = append(ids, m.ID)
	}
	return ids
}

// lastBody decodes the JSON body of the latest POST up received; nil
// before any.
func lastBody(t *testing.T, up *providertest.Upstream) map[string]any {
	t.Helper()
	seen := up.Requests()
	for i := len(seen) - 1; i >= 0; i-- {
		if seen[i].Method != http.MethodPost {
			continue
		}
		var body map[string]any
		if err := json.Unmarshal(seen[i].Body, &body); err != nil {
			t.Fatalf("the upstream got a body that is not JSON: %v\n%s", err, seen[i].Body)
		}
		return body
	}
	return nil
}
