package integration

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestCostThroughCaddy prices answers at a LiteLLM price list's entry and
// at a Caddyfile price, to the nanodollar, and shows the cost in the
// header, the access log's placeholder and the gateway's log line.
func TestCostThroughCaddy(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.OpenAI.JSON(http.StatusOK, `{"id":"chatcmpl-1","object":"chat.completion","created":1735689600,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok","refusal":null},"logprobs":null,"finish_reason":"stop"}],`+
		`"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":300,"cache_write_tokens":200}}}`))
	dir := t.TempDir()
	prices := filepath.Join(dir, "model_prices.json")
	if err := os.WriteFile(prices, []byte(`{
  "sample_spec": {"input_cost_per_token": 0.0, "mode": "one of chat"},
  "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06, "litellm_provider": "openai"},
  "openai/gpt-4o-mini": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07, "litellm_provider": "openai"}
}`), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "caddy.log")
	tester := caddyTester(t)
	tester.InitServer(testGlobals("\tlog {\n\t\toutput file "+logFile+"\n\t\tformat json\n\t}\n")+`

http://localhost:9080 {
	log {
		output file `+logFile+`
		format json
	}
	log_append gw_cost {http.llm_gateway.cost}
	llm_gateway {
		provider up openai {
			base_url `+up.URL+`
			api_key sk-upstream
		}
		model listed up/gpt-4o
		model listed-mini up/gpt-4o-mini
		model inline up/claude-sonnet
		model unpriced up/no-such-model
		prices `+prices+`
		price inline {
			input 3
			output 15
			cached_input 0.30
			cache_write 3.75
		}
	}
}
`, "caddyfile")
	for _, tc := range []struct{ model, want string }{
		// 500 × 2.5 + 300 × 1.25 + 200 × 2.5 (no cache-write price: input's) + 500 × 10 µ$.
		{"listed", "0.007125"},
		// gpt-4o-mini is listed with its provider's prefix only: 700 × 0.15 + 300 × 0.15 + 500 × 0.6 µ$.
		{"listed-mini", "0.00045"},
		// 500 × 3 + 300 × 0.30 + 200 × 3.75 + 500 × 15 µ$.
		{"inline", "0.00984"},
		{"unpriced", ""},
	} {
		got := chat(t, freshHTTP(), gatewayURL, tc.model, nil)
		if got.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tc.model, got.status, got.body)
		}
		if cost := got.header.Get("X-LLM-Gateway-Cost"); cost != tc.want {
			t.Errorf("%s: X-LLM-Gateway-Cost = %q, want %q", tc.model, cost, tc.want)
		}
	}
	tester.InitServer(testGlobals(""), "caddyfile") // flush and close the log file
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var placeholders, logged []string
	warned := false
	for line := range strings.Lines(string(logs)) {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		if strings.HasPrefix(entry["msg"].(string), "models without a price") {
			warned = entry["models"] == "unpriced (up/no-such-model)"
		}
		if entry["msg"] != "handled request" {
			continue
		}
		if _, access := entry["request"]; access {
			cost, _ := entry["gw_cost"].(string)
			placeholders = append(placeholders, cost)
		} else {
			cost, _ := entry["cost_usd"].(string)
			logged = append(logged, cost)
		}
	}
	want := []string{"0.007125", "0.00045", "0.00984", ""}
	if strings.Join(placeholders, ",") != strings.Join(want, ",") || strings.Join(logged, ",") != strings.Join(want, ",") {
		t.Errorf("costs in the access log %q and the gateway's log %q, want %q each", placeholders, logged, want)
	}
	if !warned {
		t.Errorf("no warning naming the one model without a price:\n%s", logs)
	}
}
