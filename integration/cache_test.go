package integration

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/redistest"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// Two callers of the cache tests.
const (
	cacheKeyA = "sk-cache-a"
	cacheKeyB = "sk-cache-b"
)

// cachedUpstream is an OpenAI upstream for the cache tests: it answers
// like fakeOpenAI, fails a question that says "fail", cuts the stream of
// one that says "cut", and holds a stream that says "slow" after its
// first event until release is closed.
func cachedUpstream(t *testing.T, release <-chan struct{}) *providertest.Upstream {
	return providertest.NewUpstream(t, providertest.Script(func(r *http.Request) providertest.Reply {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		switch {
		case strings.Contains(string(body), "fail"):
			return providertest.OpenAI.JSON(http.StatusBadRequest, providertest.OpenAIError("Invalid 'messages'.", "invalid_request_error", "invalid_value"))
		case strings.Contains(string(body), "cut"):
			first := providertest.OpenAIEvent(`{"id":"chatcmpl-3","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Half"},"logprobs":null,"finish_reason":null}]}`)
			return providertest.OpenAI.Stream(first).Cut()
		case strings.Contains(string(body), "slow"):
			return openAIAPI(r).PauseAfter(1, release)
		}
		return openAIAPI(r)
	}))
}

// cacheBlock is an llm_gateway block with two keys before up, and a
// memory cache with the given options.
func cacheBlock(upstreamURL, options string) string {
	return `		provider up openai {
			base_url ` + upstreamURL + `/v1
			api_key sk-upstream
		}
		provider translated openai {
			base_url ` + upstreamURL + `/v1
			api_key sk-upstream
			responses translate
		}
		model fast up/gpt-4o-mini
		model slow-door translated/gpt-4o-mini
		auth keys {
			key ` + cacheKeyA + ` a
			key ` + cacheKeyB + ` b
		}
		cache memory {
` + options + `
		}`
}

// ask posts body to path with key and extra headers.
func ask(t *testing.T, url, path, key, body string, header map[string]string) call {
	t.Helper()
	all := map[string]string{"Authorization": "Bearer " + key}
	maps.Copy(all, header)
	resp, b := doURL(t, "POST", url+path, body, all)
	return call{resp.StatusCode, b, resp.Header}
}

func question(words string, stream bool) string {
	s := `{"model":"fast","messages":[{"role":"user","content":"` + words + `"}]}`
	if stream {
		s = `{"stream":true,"stream_options":{"include_usage":true},` + s[1:]
	}
	return s
}

func TestCacheThroughCaddy(t *testing.T) {
	up := cachedUpstream(t, nil)
	startGateway(t, cacheBlock(up.URL, "\t\t\tscope caller"))
	const chatPath = "/v1/chat/completions"
	expect := func(got call, status int, result string) {
		t.Helper()
		if got.status != status || got.header.Get("X-LLM-Gateway-Cache") != result {
			t.Errorf("status %d, cache %q; want %d, %s: %s", got.status, got.header.Get("X-LLM-Gateway-Cache"), status, result, got.body)
		}
	}
	calls := func(want int) {
		t.Helper()
		if n := up.Count(); n != want {
			t.Errorf("%d upstream calls, want %d", n, want)
		}
	}

	t.Run("hit", func(t *testing.T) {
		first := ask(t, gatewayURL, chatPath, cacheKeyA, question("hello", false), nil)
		expect(first, 200, "miss")
		second := ask(t, gatewayURL, chatPath, cacheKeyA, `{ "messages" : [ {"content":"hello","role":"user"} ], "model":"fast", "user":"u-9" }`, nil)
		expect(second, 200, "hit")
		if age, err := strconv.Atoi(second.header.Get("Age")); err != nil || age < 0 || second.body != first.body {
			t.Errorf("hit: Age %q, body %s; want the first answer", second.header.Get("Age"), second.body)
		}
		if err := openaischema.Validate(openaischema.ChatCompletion, []byte(second.body)); err != nil {
			t.Error(err)
		}
		streamed := ask(t, gatewayURL, chatPath, cacheKeyA, question("hello", true), nil)
		expect(streamed, 200, "hit")
		if err := openaischema.ValidateStream([]byte(streamed.body)); err != nil {
			t.Errorf("%v\n%s", err, streamed.body)
		}
		if !strings.Contains(streamed.body, `"content":"Hello from upstream."`) || !strings.Contains(streamed.body, `"total_tokens":12`) || !strings.HasSuffix(streamed.body, "data: [DONE]\n\n") {
			t.Errorf("replayed stream: %s", streamed.body)
		}
		calls(1)
	})

	t.Run("a stream is kept for the next ask", func(t *testing.T) {
		expect(ask(t, gatewayURL, chatPath, cacheKeyA, question("streamed first", true), nil), 200, "miss")
		plain := ask(t, gatewayURL, chatPath, cacheKeyA, question("streamed first", false), nil)
		expect(plain, 200, "hit")
		if err := openaischema.Validate(openaischema.ChatCompletion, []byte(plain.body)); err != nil || !strings.Contains(plain.body, `"content":"Hello from upstream."`) {
			t.Errorf("%v: %s", err, plain.body)
		}
		calls(2)
	})

	t.Run("scope caller", func(t *testing.T) {
		expect(ask(t, gatewayURL, chatPath, cacheKeyB, question("hello", false), nil), 200, "miss")
		calls(3)
	})

	t.Run("cache-control", func(t *testing.T) {
		expect(ask(t, gatewayURL, chatPath, cacheKeyA, question("hello", false), map[string]string{"Cache-Control": "no-cache"}), 200, "bypass")
		expect(ask(t, gatewayURL, chatPath, cacheKeyA, question("not kept", false), map[string]string{"Cache-Control": "no-store"}), 200, "bypass")
		expect(ask(t, gatewayURL, chatPath, cacheKeyA, question("not kept", false), nil), 200, "miss")
		calls(6)
	})

	t.Run("errors and cut streams are not kept", func(t *testing.T) {
		for range 2 {
			expect(ask(t, gatewayURL, chatPath, cacheKeyA, question("fail", false), nil), 400, "miss")
		}
		for range 2 {
			got := ask(t, gatewayURL, chatPath, cacheKeyA, question("cut", true), nil)
			expect(got, 200, "miss")
			if strings.Contains(got.body, "[DONE]") {
				t.Errorf("a cut stream ended as a whole one: %s", got.body)
			}
		}
		calls(10)
	})

	t.Run("the Messages door renders a hit", func(t *testing.T) {
		body := `{"model":"fast","max_tokens":100,"messages":[{"role":"user","content":"door"}]}`
		header := map[string]string{"anthropic-version": "2023-06-01"}
		first := ask(t, gatewayURL, "/v1/messages", cacheKeyA, body, header)
		expect(first, 200, "miss")
		second := ask(t, gatewayURL, "/v1/messages", cacheKeyA, body, header)
		expect(second, 200, "hit")
		if !strings.Contains(second.body, `"type":"message"`) || !strings.Contains(second.body, "Hello from upstream.") {
			t.Errorf("Messages hit: %s", second.body)
		}
		streamed := ask(t, gatewayURL, "/v1/messages", cacheKeyA, `{"stream":true,`+body[1:], header)
		expect(streamed, 200, "hit")
		for _, want := range []string{"event: message_start", `"text":"Hello from upstream."`, "event: message_stop"} {
			if !strings.Contains(streamed.body, want) {
				t.Errorf("Messages stream hit lacks %s: %s", want, streamed.body)
			}
		}
		calls(11)
	})

	t.Run("the Responses door", func(t *testing.T) {
		translated := `{"model":"slow-door","input":"door"}`
		expect(ask(t, gatewayURL, "/v1/responses", cacheKeyA, translated, nil), 200, "miss")
		second := ask(t, gatewayURL, "/v1/responses", cacheKeyA, translated, nil)
		expect(second, 200, "hit")
		if err := openaischema.Validate(openaischema.Response, []byte(second.body)); err != nil || !strings.Contains(second.body, "Hello from upstream.") {
			t.Errorf("%v: %s", err, second.body)
		}
		// Relayed untouched to a provider that serves the Responses API.
		expect(ask(t, gatewayURL, "/v1/responses", cacheKeyA, `{"model":"fast","input":"door"}`, nil), 200, "bypass")
		calls(13)
	})

	metrics := httpGet(t, "http://localhost:2999/metrics")
	for _, result := range []string{"hit", "miss", "bypass"} {
		if !regexp.MustCompile(`llm_gateway_cache_requests_total\{result="` + result + `"\} [1-9]`).MatchString(metrics) {
			t.Errorf("no %s in llm_gateway_cache_requests_total", result)
		}
	}
}

func TestCacheSharedScope(t *testing.T) {
	up := cachedUpstream(t, nil)
	startGateway(t, cacheBlock(up.URL, "\t\t\tscope shared"))
	if got := ask(t, gatewayURL, "/v1/chat/completions", cacheKeyA, question("shared", false), nil); got.header.Get("X-LLM-Gateway-Cache") != "miss" {
		t.Fatalf("first ask: %s", got.header.Get("X-LLM-Gateway-Cache"))
	}
	if got := ask(t, gatewayURL, "/v1/chat/completions", cacheKeyB, question("shared", false), nil); got.status != 200 || got.header.Get("X-LLM-Gateway-Cache") != "hit" {
		t.Errorf("another caller under scope shared: %d %s", got.status, got.header.Get("X-LLM-Gateway-Cache"))
	}
	if up.Count() != 1 {
		t.Errorf("%d upstream calls, want 1", up.Count())
	}
}

func TestCacheCoalescesConcurrentMissesThroughCaddy(t *testing.T) {
	release := make(chan struct{})
	up := cachedUpstream(t, release)
	startGateway(t, cacheBlock(up.URL, ""))
	var wg sync.WaitGroup
	results := make([]call, 3)
	for i := range results {
		wg.Go(func() {
			results[i] = ask(t, gatewayURL, "/v1/chat/completions", cacheKeyA, question("slow", i != 1), nil)
		})
	}
	active := regexp.MustCompile(`(?m)^llm_gateway_active_requests 3$`)
	deadline := time.Now().Add(10 * time.Second)
	for up.Count() < 1 || !active.MatchString(httpGet(t, "http://localhost:2999/metrics")) {
		if time.Now().After(deadline) {
			close(release)
			t.Fatal("the three requests were not all under way")
		}
		time.Sleep(10 * time.Millisecond) // polling the metrics, not synchronising
	}
	close(release)
	wg.Wait()
	hits := 0
	for _, r := range results {
		if r.status != 200 || !strings.Contains(r.body, "Hello") {
			t.Errorf("%d %s", r.status, r.body)
		}
		if r.header.Get("X-LLM-Gateway-Cache") == "hit" {
			hits++
		}
	}
	if up.Count() != 1 || hits != 2 {
		t.Errorf("%d upstream calls and %d hits, want 1 and 2", up.Count(), hits)
	}
}

func TestCacheTTLExpires(t *testing.T) {
	up := cachedUpstream(t, nil)
	startGateway(t, cacheBlock(up.URL, "\t\t\tttl 1s"))
	body := question("brief", false)
	stored := time.Now()
	if got := ask(t, gatewayURL, "/v1/chat/completions", cacheKeyA, body, nil); got.header.Get("X-LLM-Gateway-Cache") != "miss" {
		t.Fatalf("first ask: %s", got.header.Get("X-LLM-Gateway-Cache"))
	}
	if got := ask(t, gatewayURL, "/v1/chat/completions", cacheKeyA, body, nil); got.header.Get("X-LLM-Gateway-Cache") != "hit" {
		t.Fatalf("second ask: %s", got.header.Get("X-LLM-Gateway-Cache"))
	}
	for {
		got := ask(t, gatewayURL, "/v1/chat/completions", cacheKeyA, body, nil)
		if got.header.Get("X-LLM-Gateway-Cache") == "miss" {
			break
		}
		if time.Since(stored) > 10*time.Second {
			t.Fatal("the answer was still served 10s after it was kept with ttl 1s")
		}
		time.Sleep(50 * time.Millisecond) // polling for the expiry, not synchronising
	}
	if since := time.Since(stored); since < 900*time.Millisecond {
		t.Errorf("the answer expired after %v, before its ttl of 1s", since)
	}
	if up.Count() != 2 {
		t.Errorf("%d upstream calls, want 2", up.Count())
	}
}

// TestCacheSharedThroughRedis runs two Caddy processes with one Redis
// cache: an answer instance 0 kept is a hit on instance 1.
func TestCacheSharedThroughRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two Caddy processes and a redis-server")
	}
	redis := redistest.Start(t)
	bin := buildCaddy(t)
	up := cachedUpstream(t, nil)
	block := fmt.Sprintf(`provider up openai {
			base_url %s/v1
			api_key sk-upstream
		}
		cache redis %s`, up.URL, redis.URL)
	instances := []string{startCaddyProcess(t, bin, block), startCaddyProcess(t, bin, block)}
	client := freshHTTP()
	first := chat(t, client, instances[0], "gpt-4o-mini", nil)
	second := chat(t, client, instances[1], "gpt-4o-mini", nil)
	if first.header.Get("X-LLM-Gateway-Cache") != "miss" || second.header.Get("X-LLM-Gateway-Cache") != "hit" || second.header.Get("Age") == "" {
		t.Errorf("instance 0: %s; instance 1: %s, Age %q", first.header.Get("X-LLM-Gateway-Cache"), second.header.Get("X-LLM-Gateway-Cache"), second.header.Get("Age"))
	}
	chats := 0
	for _, r := range up.Requests() { // the instances' start-up polls list the models
		if r.Path == "/v1/chat/completions" {
			chats++
		}
	}
	if second.body != first.body || chats != 1 {
		t.Errorf("%d upstream chat calls; instance 1 answered %s", chats, second.body)
	}
}

// BenchmarkCacheThroughCaddy sends one non-streaming chat request at a
// time through a Caddy in this process: passed through to a loopback
// upstream by a site without a cache, and answered from the memory cache
// by a site with one. Client and Caddy are measured alike; the upstream's
// work is in the passthrough only, as it is in production.
func BenchmarkCacheThroughCaddy(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, okCompletion)
	}))
	defer up.Close()
	provider := `		provider up openai {
			base_url ` + up.URL + `/v1
			api_key sk-bench
		}`
	tester := caddyTester(b)
	tester.InitServer(testGlobals("")+`
http://localhost:9080 {
	llm_gateway {
`+provider+`
		cache memory
	}
}

http://localhost:9081 {
	llm_gateway {
`+provider+`
	}
}
`, "caddyfile")
	const body = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Write one sentence about the sea."}],"temperature":0.2,"max_tokens":64}`
	for _, target := range []struct{ name, url, want string }{
		{"passthrough", "http://localhost:9081/v1/chat/completions", ""},
		{"memory_hit", gatewayURL + "/v1/chat/completions", "hit"},
	} {
		b.Run(target.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			post := func() {
				resp, err := client.Post(target.url, "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				answer, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.Header.Get("X-LLM-Gateway-Cache") != target.want {
					b.Fatalf("status %d, cache %q: %s", resp.StatusCode, resp.Header.Get("X-LLM-Gateway-Cache"), answer)
				}
			}
			if target.want == "hit" {
				resp, err := client.Post(target.url, "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close() // the miss that fills the cache
			}
			b.ReportAllocs()
			for b.Loop() {
				post()
			}
		})
	}
}
