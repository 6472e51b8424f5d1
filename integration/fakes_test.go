package integration

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

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
