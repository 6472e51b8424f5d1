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

// TestAccessLogCarriesGatewayFields reads Caddy's access log and the
// gateway's own log line of one request: the access log has the gateway's
// fields and the vars and placeholders asked for with log_append, and both
// name the request id the client sent and the upstream's own.
func TestAccessLogCarriesGatewayFields(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.OpenAI.JSON(http.StatusOK, `{"id":"chatcmpl-1","object":"chat.completion","created":1735689600,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":300,"completion_tokens":7,"total_tokens":307}}`).
		With("X-Request-Id", "req_upstream_7"))
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	tester := caddyTester(t)
	tester.InitServer(testGlobals("\tlog {\n\t\toutput file "+logFile+"\n\t\tformat json\n\t}\n")+`

http://localhost:9080 {
	log {
		output file `+logFile+`
		format json
	}
	log_append gw_upstream_id {http.vars.llm_gateway.upstream_request_id}
	log_append gw_request_id {http.vars.llm_gateway.request_id}
	log_append gw_model {http.vars.llm_gateway.upstream_model}
	log_append gw_prompt_tokens {http.vars.llm_gateway.prompt_tokens}
	log_append gw_placeholder_model {http.llm_gateway.model}
	log_append gw_placeholder_upstream_model {http.llm_gateway.upstream_model}
	log_append gw_placeholder_attempts {http.llm_gateway.attempts}
	log_append gw_placeholder_completion_tokens {http.llm_gateway.completion_tokens}
	llm_gateway {
		provider up openai {
			base_url `+up.URL+`
			api_key sk-upstream
		}
		model logged up/m
	}
}
`, "caddyfile")
	got := chat(t, freshHTTP(), gatewayURL, "logged", map[string]string{"X-Request-Id": "trace-42"})
	if got.status != http.StatusOK {
		t.Fatalf("status %d: %s", got.status, got.body)
	}
	tester.InitServer(testGlobals(""), "caddyfile") // flush and close the log file
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var access, handled map[string]any
	for line := range strings.Lines(string(logs)) {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		switch entry["msg"] {
		case "handled request":
			if _, ok := entry["request"]; ok {
				access = entry
			} else {
				handled = entry
			}
		}
	}
	if access == nil || handled == nil {
		t.Fatalf("want an access log line and the gateway's line, got:\n%s", logs)
	}
	for field, want := range map[string]any{
		"llm_model": "logged", "llm_provider": "up", "llm_prompt_tokens": 300.0, "llm_completion_tokens": 7.0,
		"gw_upstream_id": "req_upstream_7", "gw_request_id": "trace-42", "gw_model": "m", "gw_prompt_tokens": 300.0,
		"gw_placeholder_model": "logged", "gw_placeholder_upstream_model": "m", "gw_placeholder_attempts": 1.0,
		"gw_placeholder_completion_tokens": 7.0,
	} {
		if access[field] != want {
			t.Errorf("access log %s = %v, want %v", field, access[field], want)
		}
	}
	if handled["request_id"] != "trace-42" || handled["upstream_request_id"] != "req_upstream_7" {
		t.Errorf("gateway log ids = %v, %v", handled["request_id"], handled["upstream_request_id"])
	}
}

// A batch's access log line sums its items: their attempts and tokens,
// the models they used; no item's values stand for the whole.
func TestBatchAccessLogSumsItsItems(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.OpenAI.JSON(http.StatusOK, `{"id":"chatcmpl-1","object":"chat.completion","created":1735689600,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":300,"completion_tokens":7,"total_tokens":307}}`))
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	tester := caddyTester(t)
	tester.InitServer(testGlobals("")+`

http://localhost:9080 {
	log {
		output file `+logFile+`
		format json
	}
	log_append gw_placeholder_model {http.llm_gateway.model}
	log_append gw_placeholder_attempts {http.llm_gateway.attempts}
	log_append gw_prompt_tokens {http.vars.llm_gateway.prompt_tokens}
	llm_gateway {
		provider up openai {
			base_url `+up.URL+`
			api_key sk-upstream
		}
		provider echo mock
		model logged up/m
		model echo echo
	}
}
`, "caddyfile")
	resp, body := do(t, http.MethodPost, "/api/v1/batch/generate", `{"model":"logged","requests":[{"prompt":"a"},{"prompt":"b"},{"prompt":"c","model":"echo"}]}`, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	tester.InitServer(testGlobals(""), "caddyfile") // flush and close the log file
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var access map[string]any
	for line := range strings.Lines(string(logs)) {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil && entry["msg"] == "handled request" {
			access = entry
		}
	}
	if access == nil {
		t.Fatalf("no access log line:\n%s", logs)
	}
	// The mock counts words: its one prompt token.
	if access["gw_placeholder_attempts"] != 3.0 || access["gw_prompt_tokens"] != 601.0 || access["llm_prompt_tokens"] != 601.0 {
		t.Errorf("the batch's line does not sum its items: %v", access)
	}
	if m := access["gw_placeholder_model"]; m != "logged,echo" && m != "echo,logged" {
		t.Errorf("models %v", m)
	}
}
