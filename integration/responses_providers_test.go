package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/redistest"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// responsesCall sends a request with key as its bearer token to url and
// reads the whole answer.
func responsesCall(t *testing.T, method, url, key, body string) (int, string) {
	t.Helper()
	resp, answer := doURL(t, method, url, body, map[string]string{"Authorization": "Bearer " + key})
	return resp.StatusCode, answer
}

// keptResponse is what the tests read of a Response.
type keptResponse struct {
	ID     string `json:"id"`
	Output []struct {
		Type    string `json:"type"`
		CallID  string `json:"call_id"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	} `json:"output"`
}

// readKept validates a Response and reads it.
func readKept(t *testing.T, body string) keptResponse {
	t.Helper()
	if err := openaischema.Validate(openaischema.Response, []byte(body)); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	var r keptResponse
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestResponsesPerProviderType runs OpenAI's Responses API through a
// real Caddy onto every provider type: relayed natively to openai and
// azure (each upstream a fake of its Responses API), translated for
// anthropic, gemini, ollama, dashscope and an openai provider set to
// `responses translate` (each upstream a fake of its own wire format);
// whole and streamed, every Response and stream schema-checked, and a
// function-tool round trip on a native and a translated type.
func TestResponsesPerProviderType(t *testing.T) {
	oa := providertest.NewUpstream(t, &providertest.ResponsesAPI{Reply: "Hello from the Responses API."})
	az := providertest.NewUpstream(t, &providertest.ResponsesAPI{Reply: "Hello from Azure."})
	compat := fakeOpenAI(t)
	claude := newFakeAnthropicAPI(t)
	gem := newFakeGeminiAPI(t)
	ollama := newFakeOllamaNative(t)
	ali := newFakeDashScope(t)
	startGateway(t, `		provider oa openai {
			base_url `+oa.URL+`/v1
			api_key sk-upstream
		}
		provider az azure {
			endpoint `+az.URL+`
			api_key az-upstream
			api_version v1
			deployment gpt-4o prod-4o
		}
		provider compat openai {
			base_url `+compat.URL+`/v1
			api_key sk-upstream
			responses translate
		}
		provider claude anthropic {
			base_url `+claude.URL+`
			api_key `+anthropicUpstreamKey+`
			max_tokens 1000
		}
		provider gem gemini {
			base_url `+gem.URL+`
			api_key `+geminiUpstreamKey+`
		}
		provider local ollama {
			base_url `+ollama.URL+`
		}
		provider ali dashscope {
			base_url `+ali.URL+`
			api_key `+dashScopeKey+`
		}
		model gpt oa/gpt-4o
		model azure az/gpt-4o
		model compat compat/gpt-4o-mini
		model sonnet claude/claude-sonnet-4-5
		model flash gem/gemini-2.5-flash
		model llama local/llama3.2
		model qwen ali/qwen-plus
		auth keys {
			key `+clientKey+` tests
		}`)
	const tools = `"tools":[{"type":"function","name":"get_weather","description":"City weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]`
	for _, tc := range []struct {
		model, provider, text string
		up                    *providertest.Upstream
		path                  string // where a native upstream gets the request; "" when translated
		toolRound             bool
	}{
		{"gpt", "oa", "Hello from the Responses API.", oa, "/v1/responses", true},
		{"azure", "az", "Hello from Azure.", az, "/openai/v1/responses", false},
		{"compat", "compat", "Hello from upstream.", compat, "", false},
		{"sonnet", "claude", "Hello from Claude.", claude, "", true},
		{"flash", "gem", "Hello from Gemini.", gem, "", false},
		{"llama", "local", "Hello from Ollama.", ollama, "", false},
		{"qwen", "ali", "你好，世界！", ali, "", false},
	} {
		t.Run(tc.model, func(t *testing.T) {
			tokens := func(kind string) float64 {
				return metricValue(t, `llm_gateway_tokens_total{kind="`+kind+`",model="`+tc.model+`",provider="`+tc.provider+`"}`)
			}
			prompt, completion := tokens("prompt"), tokens("completion")
			status, body := responsesCall(t, "POST", gatewayURL+"/v1/responses", clientKey, `{"model":"`+tc.model+`","input":"Say hello"}`)
			if status != 200 || !strings.Contains(body, tc.text) {
				t.Fatalf("whole: %d %s", status, body)
			}
			whole := readKept(t, body)
			if tc.path != "" {
				if got := tc.up.Last(t); got.Path != tc.path {
					t.Errorf("the native upstream got %s", got.Path)
				}
				if status, got := responsesCall(t, "GET", gatewayURL+"/v1/responses/"+whole.ID, clientKey, ""); status != 200 || got != body ||
					tc.up.Last(t).Path != tc.path+"/"+whole.ID {
					t.Errorf("GET of a native response: %d %s", status, got)
				}
			}

			status, stream := responsesCall(t, "POST", gatewayURL+"/v1/responses", clientKey, `{"model":"`+tc.model+`","stream":true,"input":"Say hello"}`)
			if status != 200 {
				t.Fatalf("streamed: %d %s", status, stream)
			}
			if err := openaischema.ValidateResponseStream([]byte(stream)); err != nil {
				t.Errorf("%v\n%s", err, stream)
			}
			answer, err := openaischema.FinalResponse([]byte(stream))
			if err != nil {
				t.Fatal(err)
			}
			if final := readKept(t, string(answer)); len(final.Output) == 0 || !strings.Contains(fmt.Sprint(final.Output), tc.text) {
				t.Errorf("streamed answer %+v, want %q", final.Output, tc.text)
			}
			if tc.path != "" {
				// The fake's usage, 11 in and 5 out, read from the Response
				// and from response.completed.
				if p, c := tokens("prompt")-prompt, tokens("completion")-completion; p != 22 || c != 10 {
					t.Errorf("tokens metered: %v prompt, %v completion; want 22 and 10", p, c)
				}
			}

			if !tc.toolRound {
				return
			}
			status, body = responsesCall(t, "POST", gatewayURL+"/v1/responses", clientKey, `{"model":"`+tc.model+`",`+tools+`,"input":"Weather in Paris?"}`)
			if status != 200 {
				t.Fatalf("tool call: %d %s", status, body)
			}
			called := readKept(t, body)
			var outputs []string
			for _, item := range called.Output {
				if item.Type == "function_call" {
					outputs = append(outputs, `{"type":"function_call_output","call_id":"`+item.CallID+`","output":"sunny"}`)
				}
			}
			if len(outputs) == 0 {
				t.Fatalf("no function call in %s", body)
			}
			status, body = responsesCall(t, "POST", gatewayURL+"/v1/responses", clientKey, `{"model":"`+tc.model+`",`+tools+
				`,"previous_response_id":"`+called.ID+`","input":[`+strings.Join(outputs, ",")+`]}`)
			if status != 200 || !strings.Contains(body, tc.text) {
				t.Fatalf("after the tool's output: %d %s", status, body)
			}
			readKept(t, body)
		})
	}
}

// TestResponsesSharedByTwoInstances runs two Caddy processes that keep
// responses in one Redis: a response made on A is continued with
// previous_response_id on B, read on B, deleted on B and then gone on
// A; a response relayed natively on A is read and continued on B, at the
// provider that keeps it.
func TestResponsesSharedByTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two Caddy processes and a redis-server")
	}
	redis := redistest.Start(t)
	claude := newFakeAnthropicAPI(t)
	oa := providertest.NewUpstream(t, &providertest.ResponsesAPI{Reply: "Hello from the Responses API."})
	block := `provider claude anthropic {
			base_url ` + claude.URL + `
			api_key ` + anthropicUpstreamKey + `
			max_tokens 1000
		}
		provider oa openai {
			base_url ` + oa.URL + `/v1
			api_key sk-upstream
		}
		model sonnet claude/claude-sonnet-4-5
		model gpt oa/gpt-4o
		response_store redis ` + redis.URL + ` {
			ttl 1h
		}
		auth keys {
			key ` + clientKey + ` tests
			key sk-other-caller other
		}`
	bin := buildCaddy(t)
	a := startCaddyProcess(t, bin, block)
	b := startCaddyProcess(t, bin, block)

	status, created := responsesCall(t, "POST", a+"/v1/responses", clientKey, `{"model":"sonnet","input":"My name is Ada."}`)
	if status != 200 {
		t.Fatalf("create on A: %d %s", status, created)
	}
	id := readKept(t, created).ID
	status, body := responsesCall(t, "POST", b+"/v1/responses", clientKey, `{"model":"sonnet","input":"What is my name?","previous_response_id":"`+id+`"}`)
	if status != 200 || !strings.Contains(string(claude.Last(t).Body), "My name is Ada.") {
		t.Fatalf("continued on B: %d %s; the upstream got %s", status, body, claude.Last(t).Body)
	}
	if status, got := responsesCall(t, "GET", b+"/v1/responses/"+id, clientKey, ""); status != 200 || got != created {
		t.Fatalf("GET on B: %d %s", status, got)
	}
	if status, got := responsesCall(t, "GET", b+"/v1/responses/"+id, "sk-other-caller", ""); status != 404 {
		t.Fatalf("GET on B by another caller: %d %s", status, got)
	}
	if status, got := responsesCall(t, "DELETE", b+"/v1/responses/"+id, clientKey, ""); status != 200 || !strings.Contains(got, `"deleted":true`) {
		t.Fatalf("DELETE on B: %d %s", status, got)
	}
	if status, got := responsesCall(t, "GET", a+"/v1/responses/"+id, clientKey, ""); status != 404 {
		t.Fatalf("GET on A after DELETE on B: %d %s", status, got)
	}

	status, created = responsesCall(t, "POST", a+"/v1/responses", clientKey, `{"model":"gpt","input":"hi"}`)
	if status != 200 {
		t.Fatalf("native create on A: %d %s", status, created)
	}
	native := readKept(t, created).ID
	if status, got := responsesCall(t, "GET", b+"/v1/responses/"+native, clientKey, ""); status != 200 || got != created {
		t.Fatalf("GET on B of a native response: %d %s", status, got)
	}
	status, body = responsesCall(t, "POST", b+"/v1/responses", clientKey, `{"model":"gpt","input":"again","previous_response_id":"`+native+`"}`)
	if status != 200 || !strings.Contains(string(oa.Last(t).Body), `"previous_response_id":"`+native+`"`) {
		t.Fatalf("native continued on B: %d %s", status, body)
	}
}
