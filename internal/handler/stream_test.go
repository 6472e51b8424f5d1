package handler

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/anthropic"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

func TestStreamFlushesEachEventAsItArrives(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, roleChunk, chunk("chatcmpl-9x2", "Hel"))
		<-release // the client must see the events above before the rest exists
		writeSSE(w, chunk("chatcmpl-9x2", "lo"), finishChunk, usageChunk, doneEventLine)
	})
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})

	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// Without flushing, the events above would wait in a buffer forever.
	watchdog := time.AfterFunc(10*time.Second, func() { resp.Body.Close() })
	defer watchdog.Stop()
	rd := bufio.NewReader(resp.Body)
	for i := 0; i < 2; i++ {
		line := readEventLine(t, rd)
		if !strings.Contains(line, "chat.completion.chunk") {
			t.Fatalf("event %d = %q", i, line)
		}
	}
	close(release)
	rest := readAll(t, rd)
	events := sseEvents(rest)
	if len(events) != 3 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("rest of stream = %q", events)
	}
	if strings.Contains(rest, `"usage":{`) {
		t.Error("the usage chunk reached a client that did not ask for it")
	}
	var upBody struct {
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.Unmarshal(up.last(t).body, &upBody); err != nil || !upBody.StreamOptions.IncludeUsage {
		t.Errorf("the gateway did not ask the upstream for usage (%v)", err)
	}
}

func readEventLine(t *testing.T, rd *bufio.Reader) string {
	t.Helper()
	line, err := rd.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if blank, err := rd.ReadString('\n'); err != nil || blank != "\n" {
		t.Fatalf("event not terminated by a blank line: %q %v", blank, err)
	}
	return line
}

func TestStreamUsageReachesClientsThatAsk(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, roleChunk, chunk("chatcmpl-9x2", "Hi"), finishChunk, usageChunk, doneEventLine)
	})
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	sent := `{"model":"m","stream":true,"stream_options":{"include_usage":true,"include_obfuscation":false},"messages":[]}`
	events := sseEvents(readAll(t, post(t, gw.URL+"/v1/chat/completions", sent).Body))
	if len(events) != 5 || events[3] != strings.TrimPrefix(usageChunk, "data: ") || events[4] != "[DONE]" {
		t.Fatalf("events = %q", events)
	}
	if got := up.last(t); string(got.body) != sent {
		t.Errorf("a request that already asks for usage was changed: %s", got.body)
	}
}

func TestStreamUsageOnlyOnFinishChunkIsMovedToItsOwnChunk(t *testing.T) {
	// Older llama.cpp builds report usage on the finish chunk, unasked.
	finishWithUsage := strings.Replace(finishChunk, `"usage":null`, `"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}`, 1)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, roleChunk, finishWithUsage, doneEventLine)
	})
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})

	events := sseEvents(readAll(t, post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`).Body))
	if len(events) != 3 || strings.Contains(events[1], `"prompt_tokens"`) {
		t.Fatalf("usage must be nulled for a client that did not ask: %q", events)
	}
	events = sseEvents(readAll(t, post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}`).Body))
	if len(events) != 4 || events[3] != "[DONE]" {
		t.Fatalf("events = %q", events)
	}
	var u struct {
		ID      string            `json:"id"`
		Choices []json.RawMessage `json:"choices"`
		Usage   *struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(events[2]), &u); err != nil || u.Choices == nil || len(u.Choices) != 0 || u.Usage == nil || u.Usage.TotalTokens != 4 || u.ID != "chatcmpl-9x2" {
		t.Errorf("synthesised usage chunk = %s (%v)", events[2], err)
	}
}

func TestAzureStreamDropsPromptFilterChunk(t *testing.T) {
	azureFirst := `data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}`
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, azureFirst,
			`data: {"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1750697159,"id":"chatcmpl-Bl1","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_ee1d"}`,
			`data: {"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1750697159,"id":"chatcmpl-Bl1","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_ee1d"}`,
			`data: {"choices":[],"created":1750697159,"id":"chatcmpl-Bl1","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`,
			doneEventLine)
	})
	p := azureProvider(t, "az", up.URL, "2024-10-21", map[string]string{"gpt-4o": "prod-4o"})
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: p})}})

	events := sseEvents(readAll(t, post(t, gw.URL+"/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[]}`).Body))
	if len(events) != 3 || strings.Contains(events[0], "prompt_filter_results") || events[2] != "[DONE]" {
		t.Fatalf("events = %q", events)
	}
	got := up.last(t)
	if got.path != "/openai/deployments/prod-4o/chat/completions" || got.query != "api-version=2024-10-21" {
		t.Errorf("azure URL = %s?%s", got.path, got.query)
	}
	if got.header.Get("Api-Key") != "azure-secret" || got.header.Get("Authorization") != "" {
		t.Errorf("azure auth headers: api-key %q, authorization %q", got.header.Get("Api-Key"), got.header.Get("Authorization"))
	}
}

func TestStreamErrorsAfterFirstByteEndWithAnErrorEvent(t *testing.T) {
	cases := map[string][]string{
		"openai error event":   {roleChunk, `data: {"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}`},
		"llama.cpp error line": {roleChunk, `error: {"code":500,"message":"slot unavailable","type":"server_error"}`},
		"truncated":            {roleChunk, chunk("chatcmpl-9x2", "Hel")},
	}
	for name, events := range cases {
		t.Run(name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { writeSSE(w, events...) })
			gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})
			resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
			got := sseEvents(readAll(t, resp.Body))
			if resp.StatusCode != http.StatusOK || len(got) < 2 {
				t.Fatalf("status %d, events %q", resp.StatusCode, got)
			}
			last := got[len(got)-1]
			var e struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(last), &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("last event %q is not an OpenAI error (%v)", last, err)
			}
			for _, ev := range got {
				if ev == "[DONE]" {
					t.Error("[DONE] after an error")
				}
			}
		})
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	upstreamDone := make(chan error, 1)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, roleChunk)
		<-r.Context().Done() // a slow model that would go on spending tokens
		upstreamDone <- r.Context().Err()
	})
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gw.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"m","stream":true,"messages":[]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readEventLine(t, bufio.NewReader(resp.Body)) // the stream is under way
	cancel()
	resp.Body.Close()
	select {
	case err := <-upstreamDone:
		if err == nil {
			t.Error("upstream context not cancelled")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled when the client left")
	}
}

func TestStreamTimeoutBeforeFirstChunkIs504(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	gw := gateway(t, Config{Timeout: 50 * time.Millisecond, Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	body := readAll(t, resp.Body)
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, `"upstream_timeout"`) {
		t.Errorf("status %d body %s", resp.StatusCode, body)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
}

// TestTranslatedStreamFlushesBurstsWithoutWaiting sends a burst of
// Anthropic events, some of which make no chunk, followed by half an
// event: the client must get every chunk of the burst before the rest of
// the upstream's stream exists.
func TestTranslatedStreamFlushesBurstsWithoutWaiting(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"+
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"+
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n"+
			"event: ping\ndata: {\"type\":\"ping\"}\n\n"+
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}\n\n"+
			"event: ping\ndata: {\"type\":\"ping\"}\n\n"+
			"event: content_block_stop\ndata: {\"type\":")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "\"content_block_stop\",\"index\":0}\n\n"+
			"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\n"+
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	})
	p := &anthropic.Anthropic{Base: providers.Base{Name: "claude", BaseURL: up.URL, APIKey: "sk-ant-test"}}
	if err := p.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: p})}})

	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"claude-x","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	watchdog := time.AfterFunc(10*time.Second, func() { resp.Body.Close() })
	defer watchdog.Stop()
	rd := bufio.NewReader(resp.Body)
	var before []string
	for len(before) < 3 { // role, "Hel", "lo"
		before = append(before, readEventLine(t, rd))
	}
	close(release)
	if !strings.Contains(before[1], `"content":"Hel"`) || !strings.Contains(before[2], `"content":"lo"`) {
		t.Fatalf("chunks before the rest of the stream = %q", before)
	}
	events := sseEvents(readAll(t, rd))
	if len(events) != 2 || !strings.Contains(events[0], `"finish_reason":"stop"`) || events[1] != "[DONE]" {
		t.Fatalf("rest of stream = %q", events)
	}
}

// TestStreamFlushesTheFirstChunkAtOnce: the first chunk reaches the client
// even when what follows it looks like more of a burst (a read that
// filled the buffer and stopped mid-event) and the rest is slow to come.
func TestStreamFlushesTheFirstChunkAtOnce(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseUpstream := func() { releaseOnce.Do(func() { close(release) }) }
	long := chunk("chatcmpl-9x2", strings.Repeat("x", 3000))
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, roleChunk+"\n\n"+long[:2000])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, long[2000:]+"\n\n")
		writeSSE(w, finishChunk, doneEventLine)
	})
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	// Registered after the servers, so it runs before they wait for their
	// requests to end.
	t.Cleanup(releaseUpstream)

	type firstEvent struct {
		resp *http.Response
		rd   *bufio.Reader
		line string
		err  error
	}
	first := make(chan firstEvent, 1)
	go func() {
		var ev firstEvent
		ev.resp, ev.err = http.Post(gw.URL+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
		if ev.err == nil {
			ev.rd = bufio.NewReader(ev.resp.Body)
			ev.line, ev.err = ev.rd.ReadString('\n')
		}
		first <- ev
	}()
	var rd *bufio.Reader
	select {
	case ev := <-first:
		if ev.err != nil {
			t.Fatal(ev.err)
		}
		defer ev.resp.Body.Close()
		if !strings.Contains(ev.line, `"role":"assistant"`) {
			t.Fatalf("first event = %q", ev.line)
		}
		rd = ev.rd
	case <-time.After(5 * time.Second):
		t.Fatal("the first chunk was held back waiting for the rest of the upstream's burst")
	}
	releaseUpstream()
	events := sseEvents(readAll(t, rd))
	// The blank line after the first event is still to read.
	if len(events) != 3 || !strings.Contains(events[0], strings.Repeat("x", 3000)) || events[2] != "[DONE]" {
		t.Fatalf("rest of stream = %d events", len(events))
	}
}

// A client that did not ask for usage gets the stream the upstream sends
// when not asked, byte for byte, though the gateway asked for usage.
func TestStreamWithoutIncludeUsageIsTheUpstreamsOwn(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Script(providertest.OpenAIStreamAsAsked))
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	for _, tc := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/completions", `{"model":"gpt-4o-mini","stream":true,"prompt":"hi"}`},
	} {
		direct := readAll(t, post(t, up.URL+tc.path, tc.body).Body)
		got := readAll(t, post(t, gw.URL+tc.path, tc.body).Body)
		if !strings.Contains(string(up.Last(t).Body), `"include_usage":true`) {
			t.Fatalf("%s: the gateway did not ask the upstream for usage", tc.path)
		}
		if got != direct {
			t.Errorf("%s: the gateway sent\n%s\nthe upstream, not asked for usage, sends\n%s", tc.path, got, direct)
		}
		if strings.Contains(got, `"usage"`) {
			t.Errorf("%s: usage reached a client that did not ask", tc.path)
		}
	}
	// One that asks gets the upstream's stream as it is, nulls included.
	asked := `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`
	direct := readAll(t, post(t, up.URL+"/v1/chat/completions", asked).Body)
	if got := readAll(t, post(t, gw.URL+"/v1/chat/completions", asked).Body); got != direct {
		t.Errorf("a client that asked for usage got\n%s\nnot the upstream's\n%s", got, direct)
	}
}
