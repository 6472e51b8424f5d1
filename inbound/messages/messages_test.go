package messages

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestToolRoundTrip runs a tool round trip through the pipeline: the
// answer's tool_use goes back as a tool_result, and the upstream gets
// the chat history in testdata/pipeline/round-trip.chat.json.
func TestToolRoundTrip(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.OpenAI.JSON(200, chatAnswerBody(
		`{"role":"assistant","content":"Checking.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}`, "tool_calls")))
	base := gateway(t, up, handler.Config{})
	const tools = `"tools":[{"name":"get_weather","description":"city weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]`
	first := `{"model":"fast","max_tokens":256,"system":"Be brief.",` + tools + `,"messages":[{"role":"user","content":"Weather in Paris?"}]}`
	resp, body := post(t, base+"/v1/messages", first, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	providertest.Golden(t, "testdata/pipeline/round-trip.message.json", pinIDs(body))

	var msg struct {
		Content []json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	assistant, _ := json.Marshal(msg.Content)
	up.Reply(providertest.OpenAI.JSON(200, chatAnswerBody(`{"role":"assistant","content":"18 °C and sunny."}`, "stop")))
	second := `{"model":"fast","max_tokens":256,"system":"Be brief.",` + tools + `,"messages":[{"role":"user","content":"Weather in Paris?"},` +
		`{"role":"assistant","content":` + string(assistant) + `},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"{\"temp_c\":18}"}]}]}]}`
	resp, body = post(t, base+"/v1/messages", second, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"text":"18 °C and sunny."`) || !strings.Contains(string(body), `"stop_reason":"end_turn"`) {
		t.Fatalf("%d: %s", resp.StatusCode, body)
	}
	last := up.Last(t)
	if last.Path != "/v1/chat/completions" || last.Header.Get("Authorization") != "Bearer sk-upstream-secret" {
		t.Errorf("upstream got %s with %q", last.Path, last.Header.Get("Authorization"))
	}
	providertest.Golden(t, "testdata/pipeline/round-trip.chat.json", last.Body)
}

// TestStreamThroughPipeline streams a chat stream with thinking, text and
// tool calls to the client as Anthropic's events.
func TestStreamThroughPipeline(t *testing.T) {
	for _, name := range []string{"text", "tools"} {
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.OpenAI.Stream(chatStream(t, name)+"data: [DONE]\n\n"))
			base := gateway(t, up, handler.Config{})
			resp, body := post(t, base+"/v1/messages", `{"model":"fast","max_tokens":64,"stream":true,"stop_sequences":["END"],"messages":[{"role":"user","content":"hi"}]}`, nil)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			checkEventOrder(t, body)
			// The same events as the encoder's own test: the public model,
			// not the upstream's, names the message.
			providertest.Golden(t, "testdata/stream/"+name+".events", pinIDs(body))
			var chat struct {
				StreamOptions struct {
					IncludeUsage bool `json:"include_usage"`
				} `json:"stream_options"`
			}
			if err := json.Unmarshal(up.Last(t).Body, &chat); err != nil || !chat.StreamOptions.IncludeUsage {
				t.Errorf("the upstream was not asked for usage: %s", up.Last(t).Body)
			}
		})
	}
}

// TestStreamCutMidway ends a stream the upstream breaks off with an
// error event.
func TestStreamCutMidway(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.OpenAI.Stream(chatStream(t, "fail")).Cut())
	base := gateway(t, up, handler.Config{})
	resp, body := post(t, base+"/v1/messages", `{"model":"fast","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d: %s", resp.StatusCode, body)
	}
	checkEventOrder(t, body)
	events := parseEvents(t, body)
	last := events[len(events)-1]
	if last.name != "error" || last.data["error"].(map[string]any)["type"] != "api_error" {
		t.Errorf("the stream ends with %v", last)
	}
	if !strings.Contains(string(body), `"text":"Hel"`) {
		t.Errorf("the text before the cut is lost:\n%s", body)
	}
}

// TestErrorShapes checks that every refusal on this door is Anthropic's
// error, with the type its status has.
func TestErrorShapes(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Script(func(r *http.Request) providertest.Reply {
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		switch req.Messages[len(req.Messages)-1].Content {
		case "overload":
			return providertest.OpenAI.JSON(503, providertest.OpenAIError("busy", "server_error", ""))
		case "throttle":
			return providertest.OpenAI.JSON(429, providertest.OpenAIError("slow down", "rate_limit_error", "")).With("Retry-After", "7")
		case "bad":
			return providertest.OpenAI.JSON(400, providertest.OpenAIError("bad temperature", "invalid_request_error", ""))
		}
		return providertest.OpenAI.JSON(200, chatAnswerBody(`{"role":"assistant","content":"ok"}`, "stop"))
	}))
	limited := gateway(t, up, handler.Config{Limits: handler.Limits{Requests: handler.NewLimit(1, time.Hour), Counter: spentCounter{}}})
	base := gateway(t, up, handler.Config{})
	// A throttled upstream cools down: the overloaded one gets a gateway
	// of its own.
	overloaded := gateway(t, up, handler.Config{})
	ask := func(model, text string) string {
		return `{"model":"` + model + `","max_tokens":16,"messages":[{"role":"user","content":"` + text + `"}]}`
	}
	cases := []struct {
		name, url, body string
		header          map[string]string
		status          int
		typ             string
		message         string // a substring
	}{
		{"no max_tokens", base, `{"model":"fast","messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error", "max_tokens: Field required"},
		{"not JSON", base, `{"model":`, nil, 400, "invalid_request_error", ""},
		{"no key", base, ask("fast", "hi"), map[string]string{"x-api-key": ""}, 401, "authentication_error", ""},
		{"wrong key", base, ask("fast", "hi"), map[string]string{"x-api-key": "sk-wrong"}, 401, "authentication_error", ""},
		{"bearer key", base, ask("fast", "hi"), map[string]string{"x-api-key": "", "Authorization": "Bearer " + gatewayKey}, 200, "", ""},
		{"unknown model", base, ask("claude-nope", "hi"), nil, 404, "not_found_error", "claude-nope"},
		{"upstream refuses", base, ask("fast", "bad"), nil, 400, "invalid_request_error", "bad temperature"},
		{"upstream throttles", base, ask("fast", "throttle"), nil, 429, "rate_limit_error", "slow down"},
		{"upstream overloaded", overloaded, ask("fast", "overload"), nil, 503, "overloaded_error", ""},
		{"too large", base, ask("fast", strings.Repeat("x", 2<<20)), nil, 413, "request_too_large", ""},
		{"over the limit", limited, ask("fast", "hi"), nil, 429, "rate_limit_error", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, tc.url+"/v1/messages", tc.body, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == 200 {
				return
			}
			checkErrorBody(t, body, tc.typ, tc.message)
			if tc.status == 429 && resp.Header.Get("Retry-After") == "" {
				t.Error("a 429 without retry-after")
			}
		})
	}
	t.Run("method not allowed", func(t *testing.T) {
		resp, err := http.Get(base + "/v1/messages")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body := make([]byte, 1024)
		n, _ := resp.Body.Read(body)
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
			t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
		checkErrorBody(t, body[:n], "invalid_request_error", "POST")
	})
}

func checkErrorBody(t *testing.T, body []byte, typ, message string) {
	t.Helper()
	var e errorEnvelope
	if err := json.Unmarshal(body, &e); err != nil || e.Type != "error" || e.Error.Type != typ || e.Error.Message == "" {
		t.Fatalf("not Anthropic's %s error: %s", typ, body)
	}
	if !strings.Contains(e.Error.Message, message) {
		t.Errorf("message %q lacks %q", e.Error.Message, message)
	}
}

// TestTopKOnlyWhereTaken leaves top_k out for an OpenAI upstream, which
// refuses it.
func TestTopKOnlyWhereTaken(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.OpenAI.JSON(200, chatAnswerBody(`{"role":"assistant","content":"ok"}`, "stop")))
	base := gateway(t, up, handler.Config{})
	resp, body := post(t, base+"/v1/messages", `{"model":"fast","max_tokens":16,"top_k":5,"temperature":0.3,"messages":[{"role":"user","content":"hi"}]}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d: %s", resp.StatusCode, body)
	}
	sent := string(up.Last(t).Body)
	if strings.Contains(sent, "top_k") || !strings.Contains(sent, `"temperature":0.3`) {
		t.Errorf("the upstream got %s", sent)
	}
}

// TestPingWhileTheFirstChunkIsSlow sends Anthropic's ping events, not SSE
// comments, while the upstream has yet to say anything.
func TestPingWhileTheFirstChunkIsSlow(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	up := providertest.NewUpstream(t, providertest.OpenAI.Stream(chatStream(t, "text")+"data: [DONE]\n\n").PauseAfter(0, release))
	base := gateway(t, up, handler.Config{Keepalive: 10 * time.Millisecond})
	// Without pings nothing would release the upstream.
	watchdog := time.AfterFunc(5*time.Second, func() { once.Do(func() { close(release) }) })
	defer watchdog.Stop()
	req, _ := http.NewRequest("POST", base+"/v1/messages", strings.NewReader(`{"model":"fast","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("x-api-key", gatewayKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stream []byte
	rd := bufio.NewReader(resp.Body)
	for {
		line, err := rd.ReadBytes('\n')
		if err != nil {
			break
		}
		if string(line) == "event: ping\n" {
			once.Do(func() { close(release) })
		}
		stream = append(stream, line...)
	}
	events := parseEvents(t, stream)
	if events[0].name != "ping" || strings.Contains(string(stream), ": keepalive") {
		t.Fatalf("no ping first:\n%s", stream)
	}
	checkEventOrder(t, stream)
}
