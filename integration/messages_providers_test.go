package integration

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

const azureUpstreamKey = "sk-azure-upstream"

// fakeAzure is an Azure OpenAI resource with the deployment gpt-4o-mini:
// it checks Azure's URL and api-key header, then answers as fakeOpenAI.
func fakeAzure(t *testing.T) *providertest.Upstream {
	return providertest.NewUpstream(t, providertest.Script(func(r *http.Request) providertest.Reply {
		if r.URL.Path != "/openai/deployments/gpt-4o-mini/chat/completions" || r.URL.Query().Get("api-version") != "2024-10-21" {
			return providertest.OpenAI.JSON(http.StatusNotFound, providertest.OpenAIError("Resource not found", "invalid_request_error", "404"))
		}
		if r.Header.Get("Api-Key") != azureUpstreamKey {
			return providertest.OpenAI.JSON(http.StatusUnauthorized, providertest.OpenAIError("Access denied due to invalid subscription key.", "invalid_request_error", "401"))
		}
		r.Header.Set("Authorization", "Bearer sk-upstream")
		return openAIAPI(r)
	}))
}

// messagesTools are two tools, as a Messages request offers them; the
// fakes that call tools call both.
const messagesTools = `"tools":[{"name":"get_weather","description":"City weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},` +
	`{"name":"get_time","input_schema":{"type":"object","properties":{}}}],`

// TestMessagesPerProviderThroughCaddy sends the same Messages requests to
// every provider type (each a fake in its own wire format), streamed and
// not, with and without tools where the fake calls them, and compares the
// Message or the event stream with its golden file in
// testdata/messages: translated for openai, azure, gemini, ollama and
// dashscope, relayed untouched for anthropic. Every stream also keeps
// Anthropic's event order.
func TestMessagesPerProviderThroughCaddy(t *testing.T) {
	startGateway(t, `		provider up openai {
			base_url `+fakeOpenAI(t).URL+`/v1
			api_key sk-upstream
		}
		provider az azure {
			endpoint `+fakeAzure(t).URL+`
			api_key `+azureUpstreamKey+`
			api_version 2024-10-21
		}
		provider gem gemini {
			base_url `+newFakeGeminiAPI(t).URL+`
			api_key `+geminiUpstreamKey+`
		}
		provider local ollama {
			base_url `+newFakeOllamaNative(t).URL+`
		}
		provider ali dashscope {
			base_url `+newFakeDashScope(t).URL+`
			api_key `+dashScopeKey+`
		}
		provider claude anthropic {
			base_url `+newFakeAnthropicAPI(t).URL+`
			api_key `+anthropicUpstreamKey+`
		}
		model openai up/gpt-4o-mini
		model azure az/gpt-4o-mini
		model gemini gem/gemini-2.5-flash
		model ollama local/llama3.2
		model dashscope ali/qwen-plus
		model anthropic claude/claude-sonnet-4-5
		auth keys {
			key `+clientKey+` tests
		}`)
	cases := []struct {
		provider string
		tools    bool
	}{
		{"openai", false}, {"azure", false},
		{"gemini", false}, {"gemini", true},
		{"ollama", false}, {"ollama", true},
		{"dashscope", false}, {"dashscope", true},
		{"anthropic", false}, {"anthropic", true},
	}
	for _, tc := range cases {
		for _, stream := range []bool{false, true} {
			name := tc.provider
			if tc.tools {
				name += "-tools"
			}
			body := `{"model":"` + tc.provider + `","max_tokens":64,"system":"Be brief.",`
			if tc.tools {
				body += messagesTools
			}
			if stream {
				name += "-stream"
				body += `"stream":true,`
			}
			body += `"messages":[{"role":"user","content":"Say hello"}]}`
			t.Run(name, func(t *testing.T) {
				resp, answer := do(t, "POST", "/v1/messages", body, messagesHeader)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", resp.StatusCode, answer)
				}
				if !stream {
					providertest.Golden(t, "testdata/messages/"+name+".json", []byte(normalizeIDs(answer)))
					return
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
					t.Errorf("Content-Type %q", ct)
				}
				events := parseMessagesEvents(t, answer)
				checkEventOrder(t, events)
				var lines []byte
				for _, e := range events {
					line, _ := json.Marshal(struct {
						Event string          `json:"event"`
						Data  json.RawMessage `json:"data"`
					}{e.name, json.RawMessage(normalizeIDs(string(e.data)))})
					lines = append(append(lines, line...), '\n')
				}
				providertest.Golden(t, "testdata/messages/"+name+".jsonl", lines)
			})
		}
	}
}

// generatedIDs are the ids that differ from run to run: the Message's, and
// the random part of the tool-call ids of upstreams that send none (a
// Gemini thought signature after it stays).
var generatedIDs = regexp.MustCompile(`"(msg|call)_[0-9A-Za-z]{20,}`)

func normalizeIDs(s string) string {
	return generatedIDs.ReplaceAllString(s, `"${1}_ID`)
}

type messagesEvent struct {
	name string
	data []byte
}

// parseMessagesEvents splits an Anthropic event stream into its events:
// an `event:` line and a `data:` line each, whose type is the event's name.
func parseMessagesEvents(t *testing.T, stream string) []messagesEvent {
	t.Helper()
	var out []messagesEvent
	for _, raw := range strings.Split(strings.TrimSuffix(stream, "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(raw, "\n")
		if !ok || !strings.HasPrefix(name, "event: ") || !strings.HasPrefix(data, "data: ") {
			t.Fatalf("not an event: %q", raw)
		}
		e := messagesEvent{name: strings.TrimPrefix(name, "event: "), data: []byte(strings.TrimPrefix(data, "data: "))}
		var typed struct{ Type string }
		if err := json.Unmarshal(e.data, &typed); err != nil || typed.Type != e.name {
			t.Fatalf("event %s has data of type %q: %s", e.name, typed.Type, e.data)
		}
		out = append(out, e)
	}
	return out
}

// checkEventOrder checks Anthropic's order: message_start first, content
// blocks one at a time with indexes from 0 (start, deltas of that index,
// stop), then message_delta and message_stop; pings anywhere.
func checkEventOrder(t *testing.T, events []messagesEvent) {
	t.Helper()
	var names []string
	for _, e := range events {
		if e.name != "ping" {
			names = append(names, e.name)
		}
	}
	if len(names) < 3 || names[0] != "message_start" || names[len(names)-2] != "message_delta" || names[len(names)-1] != "message_stop" {
		t.Fatalf("events %v: want message_start first, message_delta and message_stop last", names)
	}
	open, next := -1, 0
	for _, e := range events {
		var ev struct{ Index int }
		_ = json.Unmarshal(e.data, &ev)
		switch e.name {
		case "content_block_start":
			if open >= 0 || ev.Index != next {
				t.Fatalf("block %d starts while %d is open (next is %d)", ev.Index, open, next)
			}
			open = ev.Index
		case "content_block_delta":
			if ev.Index != open {
				t.Fatalf("a delta for block %d while %d is open", ev.Index, open)
			}
		case "content_block_stop":
			if ev.Index != open {
				t.Fatalf("block %d stops while %d is open", ev.Index, open)
			}
			open, next = -1, next+1
		case "message_delta", "message_stop":
			if open >= 0 {
				t.Fatalf("%s while block %d is open", e.name, open)
			}
		}
	}
}
