package integration

import (
	"io"
	"strings"
	"testing"
)

// TestLimitsSurviveConfigReload uses up a limit, reloads the config with
// the same limit and another provider reply, and expects the caller still
// limited; the refusal is counted in the metrics.
func TestLimitsSurviveConfigReload(t *testing.T) {
	startGateway(t, "\t\tprovider mock {\n\t\t\treply before\n\t\t}\n\t\trate_limit 3 1m")
	client := freshHTTP()
	for i := range 3 {
		if got := chat(t, client, gatewayURL, "m", nil); got.status != 200 {
			t.Fatalf("request %d: %d %s", i, got.status, got.body)
		}
	}
	startGateway(t, "\t\tprovider mock {\n\t\t\treply after\n\t\t}\n\t\trate_limit 3 1m")
	if got := chat(t, client, gatewayURL, "m", nil); got.status != 429 {
		t.Fatalf("after the reload: %d %s; the reload reset the caller's count", got.status, got.body)
	}
	resp, err := client.Get("http://localhost:2999/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(metrics), `llm_gateway_rate_limited_total{limit="requests"}`) {
		t.Error("no llm_gateway_rate_limited_total series after a refusal")
	}
}
