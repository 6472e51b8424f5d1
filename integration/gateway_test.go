package integration

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	openai "github.com/sashabaranov/go-openai"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

const (
	gatewayURL = "http://localhost:9080"
	clientKey  = "sk-gateway-client"
)

// fakeOpenAI is an upstream speaking OpenAI's wire format. It streams the
// words of its answer one event each and reports usage when asked.
func fakeOpenAI(t *testing.T) *providertest.Upstream {
	return providertest.NewUpstream(t, providertest.Script(openAIAPI))
}

func openAIAPI(r *http.Request) providertest.Reply {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("Authorization") != "Bearer sk-upstream" {
		return providertest.OpenAI.JSON(http.StatusUnauthorized, providertest.OpenAIError("Incorrect API key provided: sk-up***am.", "invalid_request_error", "invalid_api_key"))
	}
	if !strings.Contains(string(body), `"stream":true`) {
		return providertest.OpenAI.JSON(http.StatusOK, `{"id":"chatcmpl-1","object":"chat.completion","created":1735689600,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from upstream.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`)
	}
	chunk := func(delta, finish string) string {
		return providertest.OpenAIEvent(`{"id":"chatcmpl-2","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":` + delta + `,"logprobs":null,"finish_reason":` + finish + `}],"usage":null}`)
	}
	sse := chunk(`{"role":"assistant","content":""}`, "null")
	for _, word := range []string{"Hello ", "from ", "upstream."} {
		sse += chunk(`{"content":"`+word+`"}`, "null")
	}
	sse += chunk(`{}`, `"stop"`)
	if strings.Contains(string(body), `"include_usage":true`) {
		sse += providertest.OpenAIEvent(`{"id":"chatcmpl-2","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`)
	}
	return providertest.OpenAI.Stream(sse + providertest.OpenAIEvent("[DONE]"))
}

// testGlobals is the global options block of the test Caddy, with extra
// options added at its end.
func testGlobals(extra string) string {
	return "{\n\tadmin localhost:2999\n\thttp_port 9080\n\thttps_port 9443\n\tskip_install_trust\n" + extra + "}\n"
}

// startGateway loads a Caddyfile whose llm_gateway block is block into
// the test Caddy.
func startGateway(t *testing.T, block string) *caddytest.Tester {
	t.Helper()
	tester := caddyTester(t)
	load := strconv.FormatInt(configLoads.Add(1), 10)
	tester.InitServer(testGlobals("")+`

http://localhost:9080 {
	root * testdata/www
	respond /config-load `+load+`
	llm_gateway {
`+block+`
	}
	file_server
}
`, "caddyfile")
	awaitLoad(t, load)
	return tester
}

// configLoads numbers the configs startGateway loads.
var configLoads atomic.Int64

// awaitLoad returns once new connections to the site are served by the
// config numbered load, three in a row. Right after a reload, the old
// config's server may still accept a connection before it shuts down
// (Caddy's reload says as much), and a test's first request would then
// meet the old config.
func awaitLoad(t *testing.T, load string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(10 * time.Second)
	for served := 0; ; {
		resp, err := client.Get(gatewayURL + "/config-load")
		served++
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != load {
				served = 0
			}
		} else {
			served = 0
		}
		if served == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("config %s is not served after 10 s (last error %v)", load, err)
		}
	}
}

// caddyTester is a caddytest.Tester with time for slow loads under -race.
func caddyTester(t testing.TB) *caddytest.Tester {
	noteFailure(t)
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{LoadRequestTimeout: 30 * time.Second, TestRequestTimeout: 30 * time.Second})
	tester.Client.Transport = retryClosedConn{tester.Client.Transport}
	return tester
}

func openAIBlock(upstreamURL string) string {
	return `		provider up openai {
			base_url ` + upstreamURL + `/v1
			api_key sk-upstream
		}
		provider echo mock {
			models echo
		}
		model fast up/gpt-4o-mini
		model echo echo
		auth keys {
			key ` + clientKey + ` tests
		}`
}

// freshHTTP is a client with a connection pool of its own: each test
// reloads Caddy, which closes the idle connections of the previous config's
// server, and a POST on such a connection fails without a retry.
func freshHTTP() *http.Client {
	return &http.Client{Transport: retryClosedConn{&http.Transport{}}}
}

// retryClosedConn resends a request whose connection closed before any
// answer: right after a reload, a new connection can still land on the
// old server as it shuts down (Caddy's behaviour, not the gateway's).
type retryClosedConn struct{ http.RoundTripper }

// CloseIdleConnections closes the idle connections of the transport
// underneath, so a test leaves no connection (and goroutine) behind.
func (rt retryClosedConn) CloseIdleConnections() {
	if c, ok := rt.RoundTripper.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (rt retryClosedConn) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, err := rt.RoundTripper.RoundTrip(req)
		closed := errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
		if err == nil || !closed || attempt == 3 || (req.Body != nil && req.GetBody == nil) {
			return resp, err
		}
		req = req.Clone(req.Context())
		if req.GetBody != nil {
			if req.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
	}
}

func client(key string) *openai.Client {
	cfg := openai.DefaultConfig(key)
	cfg.BaseURL = gatewayURL + "/v1"
	cfg.HTTPClient = freshHTTP()
	return openai.NewClientWithConfig(cfg)
}

func TestGoOpenAIClient(t *testing.T) {
	up := fakeOpenAI(t)
	startGateway(t, openAIBlock(up.URL))
	c := client(clientKey)
	ctx := context.Background()
	messages := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Say hello."}}

	resp, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "fast", Messages: messages})
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if resp.Choices[0].Message.Content != "Hello from upstream." || resp.Usage.TotalTokens != 12 {
		t.Errorf("chat answer = %+v", resp)
	}
	if r := up.Last(t); r.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-upstream" {
		t.Errorf("upstream saw %s with %q", r.Path, r.Header.Get("Authorization"))
	}

	for _, includeUsage := range []bool{false, true} {
		req := openai.ChatCompletionRequest{Model: "fast", Messages: messages, Stream: true}
		if includeUsage {
			req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
		}
		text, _, _, usage := readStream(t, c, req)
		if text != "Hello from upstream." {
			t.Errorf("streamed text = %q", text)
		}
		if includeUsage != (usage != nil) || (usage != nil && usage.TotalTokens != 12) {
			t.Errorf("include_usage=%v: usage = %+v", includeUsage, usage)
		}
	}

	_, err = c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "gpt-9", Messages: messages})
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Errorf("unknown model: %v", err)
	}
	_, err = client("wrong-key").CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "fast", Messages: messages})
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 401 || strings.Contains(apiErr.Message, "wrong-key") {
		t.Errorf("wrong key: %v", err)
	}

	models, err := c.ListModels(ctx)
	if err != nil || len(models.Models) != 2 || models.Models[0].ID != "fast" {
		t.Errorf("models = %+v, %v", models, err)
	}
}

// TestOutputMatchesOpenAISchemas checks every kind of body the gateway
// writes against OpenAI's published OpenAPI schemas.
func TestOutputMatchesOpenAISchemas(t *testing.T) {
	up := fakeOpenAI(t)
	tester := startGateway(t, openAIBlock(up.URL))
	cases := []struct {
		name, method, path, body, schema string
		status                           int
	}{
		{"passthrough chat", "POST", "/v1/chat/completions", `{"model":"fast","messages":[{"role":"user","content":"hi"}]}`, openaischema.ChatCompletion, 200},
		{"passthrough stream", "POST", "/v1/chat/completions", `{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}`, streamSchema, 200},
		{"passthrough stream with usage", "POST", "/v1/chat/completions", `{"model":"fast","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, streamSchema, 200},
		{"mock chat", "POST", "/v1/chat/completions", `{"model":"echo","messages":[{"role":"user","content":"hi there"}]}`, openaischema.ChatCompletion, 200},
		{"mock stream with usage", "POST", "/v1/chat/completions", `{"model":"echo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi there"}]}`, streamSchema, 200},
		{"mock completion", "POST", "/v1/completions", `{"model":"echo","prompt":"Say this"}`, openaischema.Completion, 200},
		{"mock completion stream", "POST", "/v1/completions", `{"model":"echo","prompt":"Say this","stream":true}`, streamSchema, 200},
		{"mock embeddings", "POST", "/v1/embeddings", `{"model":"echo","input":["a","b"]}`, openaischema.Embedding, 200},
		{"model list", "GET", "/v1/models", ``, openaischema.ModelList, 200},
		{"model", "GET", "/v1/models/echo", ``, openaischema.Model, 200},
		{"unknown model", "POST", "/v1/chat/completions", `{"model":"nope","messages":[]}`, openaischema.Error, 404},
		{"bad json", "POST", "/v1/chat/completions", `{"model"`, openaischema.Error, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, gatewayURL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+clientKey)
			resp := tester.AssertResponseCode(req, tc.status)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			err = validateOpenAI(tc.schema, body)
			if err != nil {
				t.Errorf("%v\nbody: %s", err, body)
			}
			if resp.Header.Get("X-Llm-Gateway-Overhead-Ms") == "" {
				t.Error("no overhead header")
			}
		})
	}
}

func TestNextHandlerServesOtherPaths(t *testing.T) {
	tester := startGateway(t, "\t\tprovider mock")
	tester.AssertGetResponse(gatewayURL+"/hello.txt", 200, "static file\n")
}

func TestClientDisconnectCancelsUpstreamThroughCaddy(t *testing.T) {
	cancelled := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`+"\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(cancelled)
	}))
	t.Cleanup(up.Close)
	startGateway(t, "\t\tprovider up openai {\n\t\t\tbase_url "+up.URL+"\n\t\t}")

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", gatewayURL+"/v1/chat/completions", strings.NewReader(`{"model":"m","stream":true,"messages":[]}`))
	resp, err := freshHTTP().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request outlived the client")
	}
}

func TestMetricsAtAdminEndpoint(t *testing.T) {
	tester := startGateway(t, "\t\tprovider mock")
	req, _ := http.NewRequest("POST", gatewayURL+"/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"count me"}]}`))
	tester.AssertResponseCode(req, 200).Body.Close()
	body := httpGet(t, "http://localhost:2999/metrics")
	for _, want := range []string{
		`llm_gateway_requests_total{model="*",provider="mock",status="200"}`,
		`llm_gateway_tokens_total{kind="completion",model="*",provider="mock"}`,
		"llm_gateway_overhead_seconds_bucket",
		"llm_gateway_active_requests 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestStreamSurvivesConfigReload reloads the config while a stream is
// open: the stream must finish on the old config, whole and in order.
func TestStreamSurvivesConfigReload(t *testing.T) {
	words := "one two three four five six seven eight"
	const streamTime = 8 * 250 * time.Millisecond
	startGateway(t, "\t\tprovider mock {\n\t\t\treply \""+words+"\"\n\t\t\tdelay 250ms\n\t\t}")
	began := time.Now()
	resp, err := freshHTTP().Post(gatewayURL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"go"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	if _, err := rd.ReadString('\n'); err != nil {
		t.Fatal(err)
	}

	startGateway(t, "\t\tprovider mock {\n\t\t\treply \"after the reload\"\n\t\t}")
	if time.Since(began) > streamTime*3/4 {
		t.Fatalf("the reload took %v, too long to overlap the stream", time.Since(began))
	}

	rest, err := io.ReadAll(rd)
	if err != nil {
		t.Fatalf("stream broken by the reload: %v", err)
	}
	if err := openaischema.ValidateStream(append([]byte("data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":null}]}\n\n"), rest...)); err != nil {
		t.Errorf("stream after reload: %v", err)
	}
	var text strings.Builder
	for _, line := range strings.Split(string(rest), "\n") {
		if i := strings.Index(line, `"content":"`); i >= 0 {
			text.WriteString(strings.SplitN(line[i+len(`"content":"`):], `"`, 2)[0])
		}
	}
	if text.String() != words {
		t.Errorf("streamed %q, want %q", text.String(), words)
	}
	after := httpPostJSON(t, gatewayURL+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}]}`)
	if !strings.Contains(after, "after the reload") {
		t.Errorf("new requests do not use the new config: %s", after)
	}
}

func httpPostJSON(t *testing.T, url, body string) string {
	t.Helper()
	c := freshHTTP()
	defer c.CloseIdleConnections()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readStream reads a whole stream with go-openai: the text, the tool calls
// assembled from their deltas (which must carry an index and arrive in
// order), the finish reason and the usage chunk, if any.
func readStream(t *testing.T, c *openai.Client, req openai.ChatCompletionRequest) (string, []openai.ToolCall, openai.FinishReason, *openai.Usage) {
	t.Helper()
	stream, err := c.CreateChatCompletionStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var text strings.Builder
	var calls []openai.ToolCall
	var finish openai.FinishReason
	var usage *openai.Usage
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return text.String(), calls, finish, usage
		}
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		if chunk.Usage != nil {
			usage = chunk.Usage
			continue
		}
		if len(chunk.Choices) == 0 {
			t.Fatalf("chunk without choices reached the client: %+v", chunk)
		}
		d := chunk.Choices[0].Delta
		text.WriteString(d.Content)
		for _, tc := range d.ToolCalls {
			if tc.Index == nil {
				t.Fatalf("tool-call delta without index: %+v", tc)
			}
			i := *tc.Index
			if i == len(calls) {
				calls = append(calls, openai.ToolCall{ID: tc.ID, Type: tc.Type, Function: openai.FunctionCall{Name: tc.Function.Name}})
			} else if i > len(calls) || tc.ID != "" {
				t.Fatalf("tool-call delta %+v out of order (%d calls so far)", tc, len(calls))
			}
			calls[i].Function.Arguments += tc.Function.Arguments
		}
		if chunk.Choices[0].FinishReason != "" {
			finish = chunk.Choices[0].FinishReason
		}
	}
}

// Through Caddy, a passthrough stream's client that did not ask for usage
// gets, byte for byte, the stream the upstream sends when not asked,
// though the gateway asked it for usage; one that asked gets the
// upstream's stream as it is.
func TestStreamWithoutIncludeUsageIsTheUpstreamsOwnThroughCaddy(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Script(providertest.OpenAIStreamAsAsked))
	startGateway(t, `		provider up openai {
			base_url `+up.URL+`/v1
		}
		model * up`)
	for _, tc := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/completions", `{"model":"gpt-4o-mini","stream":true,"prompt":"hi"}`},
		{"/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`},
	} {
		_, direct := doURL(t, http.MethodPost, up.URL+tc.path, tc.body, nil)
		resp, got := do(t, http.MethodPost, tc.path, tc.body, nil)
		if resp.StatusCode != 200 || !strings.Contains(string(up.Last(t).Body), `"include_usage":true`) {
			t.Fatalf("%s: status %d, or the gateway did not ask the upstream for usage: %s", tc.body, resp.StatusCode, got)
		}
		if got != direct {
			t.Errorf("%s: the gateway sent\n%s\nthe upstream sends\n%s", tc.body, got, direct)
		}
		if asked := strings.Contains(tc.body, "include_usage"); asked != strings.Contains(got, `"usage"`) {
			t.Errorf("%s: usage in the stream is %v", tc.body, !asked)
		}
	}
}
