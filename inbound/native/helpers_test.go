package native

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/inbound/inboundtest"
	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/internal/limitstore"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/openai"
)

// echoUpstream answers OpenAI chat requests with the last message's text,
// streamed word by word when asked; a prompt of "fail" gets a 500 and one
// of "missing" a 404.
func echoUpstream(t *testing.T, inFlight func()) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if inFlight != nil {
			inFlight()
		}
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
			Stream   bool                       `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		text := req.Messages[len(req.Messages)-1].Content
		switch text {
		case "fail":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`)
			return
		case "missing":
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"message":"model not found","type":"invalid_request_error","param":null,"code":"model_not_found"}}`)
			return
		}
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":`+
				jsonString(text)+`},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		events := []string{roleChunk}
		for _, word := range strings.SplitAfter(text, " ") {
			events = append(events, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":`+jsonString(word)+`},"finish_reason":null}]}`)
		}
		events = append(events, finishChunk, usageChunk, "data: [DONE]")
		for _, e := range events {
			_, _ = io.WriteString(w, e+"\n\n")
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The chunks that begin and end an OpenAI stream, as OpenAI sends them.
const (
	roleChunk   = `data: {"id":"chatcmpl-9x2","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","system_fingerprint":"fp_1a2b","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`
	finishChunk = `data: {"id":"chatcmpl-9x2","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","system_fingerprint":"fp_1a2b","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`
	usageChunk  = `data: {"id":"chatcmpl-9x2","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","system_fingerprint":"fp_1a2b","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`
)

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func openAIProvider(t *testing.T, name, baseURL string) providers.Provider {
	t.Helper()
	p := &openai.OpenAI{Base: providers.Base{Name: name, BaseURL: baseURL + "/v1", APIKey: "sk-upstream-secret"}}
	if err := p.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	return p
}

// memoryCounter is a limit store in this process, counting for the
// pipeline as the root module's stores do.
func memoryCounter() handler.Counter { return storeCounter{limitstore.NewMemory()} }

// storeCounter counts in a limit store.
type storeCounter struct{ store *limitstore.Store }

func (c storeCounter) Add(ctx context.Context, key string, n int64, l handler.Limit) (handler.Window, error) {
	w, err := c.store.Add(ctx, key, n, l.N, l.Window)
	return handler.Window(w), err
}

func route(name string, targets ...handler.Target) handler.Route {
	return handler.Route{Name: name, Targets: targets}
}

// gateway serves the pipeline with door over real HTTP, so flushing and
// client disconnects behave as in production; requests that are not the
// gateway's get 418 from the next handler. The settings a test leaves
// unset get the root module's defaults.
func gateway(t *testing.T, cfg handler.Config, door *Door) string {
	t.Helper()
	door.BatchConcurrency = cmp.Or(door.BatchConcurrency, 4)
	door.BatchMax = cmp.Or(door.BatchMax, 32)
	cfg.Doors = []inbound.Door{door}
	return inboundtest.Serve(t, cfg)
}

// nativeGateway routes the model "fast" to up.
func nativeGateway(t *testing.T, up *httptest.Server, cfg handler.Config, door *Door) string {
	t.Helper()
	cfg.Routes = []handler.Route{route("fast", handler.Target{Provider: openAIProvider(t, "up", up.URL)})}
	return gateway(t, cfg, door)
}

func postWith(t *testing.T, url, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp, readAll(t, resp.Body)
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
