package handler

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/llmgateway/caddy-llm-gateway/internal/answercache"
	"github.com/llmgateway/caddy-llm-gateway/internal/pricing"
	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
)

func TestCacheKeyNormalisesTheBody(t *testing.T) {
	key := func(body string) string {
		t.Helper()
		k, err := cacheKey("caller", "chat", "gpt", "p/gpt,", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := key(`{"model":"gpt","messages":[{"role":"user","content":"hi"}],"temperature":0.2}`)
	for _, same := range []string{
		`{"temperature":0.2,"messages":[{"content":"hi","role":"user"}],"model":"gpt"}`,
		" {\n\t\"model\" : \"gpt\" , \"messages\" : [ { \"role\":\"user\", \"content\":\"hi\" } ],\"temperature\":0.2 }\n",
		`{"model":"gpt","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"stream":true,"stream_options":{"include_usage":true},"user":"u-1"}`,
	} {
		if key(same) != base {
			t.Errorf("%s has another key than the same question", same)
		}
	}
	for _, other := range []string{
		`{"model":"gpt","messages":[{"role":"user","content":"hi "}],"temperature":0.2}`,                               // a string's spaces
		`{"model":"gpt","messages":[{"role":"user","content":"hi"}],"temperature":0.20}`,                               // a number's spelling
		`{"model":"gpt","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"seed":1}`,                       // any other member
		`{"model":"gpt","messages":[{"role":"user","content":"hi","user":"u-1"}],"temperature":0.2}`,                   // user below the top
		`{"model":"gpt","messages":[{"role":"user","content":"hi"},{"role":"user","content":"hi"}],"temperature":0.2}`, // order of a list
	} {
		if key(other) == base {
			t.Errorf("%s has the key of another question", other)
		}
	}
	body := `{"model":"gpt","messages":[]}`
	for _, k := range []string{
		mustKey(t, "other-caller", "chat", "gpt", "p/gpt,", body),
		mustKey(t, "caller", "completions", "gpt", "p/gpt,", body),
		mustKey(t, "caller", "chat", "gpt2", "p/gpt,", body),
		mustKey(t, "caller", "chat", "gpt", "q/gpt,", body),
	} {
		if k == mustKey(t, "caller", "chat", "gpt", "p/gpt,", body) {
			t.Error("scope, operation, model and targets must each change the key")
		}
	}
}

func mustKey(t *testing.T, scope, op, model, targets, body string) string {
	t.Helper()
	k, err := cacheKey(scope, op, model, targets, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCanonicalFormIsValidJSON(t *testing.T) {
	got, err := appendCanonical(nil, []byte(` { "b" : [ 1 , { "d" : null , "c" : "x y" } ] , "a" : true } `), false)
	if err != nil || string(got) != `{"a":true,"b":[1,{"c":"x y","d":null}]}` {
		t.Errorf("canonical form %s (%v)", got, err)
	}
}

// streamOf is an upstream's stream of events.
func streamOf(events ...string) string { return strings.Join(events, "\n\n") + "\n\n" }

func TestStreamRecorderRebuildsTheAnswer(t *testing.T) {
	var rec streamRecorder
	for _, ev := range sseEvents(streamOf(roleChunk, chunk("chatcmpl-9x2", "Hel"), chunk("chatcmpl-9x2", "lo."), finishChunk, usageChunk)) {
		rec.add([]byte(ev))
	}
	answer, ok := rec.answer()
	if !ok {
		t.Fatal("a complete stream was not kept")
	}
	if err := openaischema.Validate(openaischema.ChatCompletion, answer); err != nil {
		t.Fatalf("%v\n%s", err, answer)
	}
	for _, want := range []string{`"content":"Hello."`, `"finish_reason":"stop"`, `"completion_tokens":2`, `"object":"chat.completion"`} {
		if !strings.Contains(string(answer), want) {
			t.Errorf("the answer lacks %s: %s", want, answer)
		}
	}

	var cut streamRecorder
	cut.add([]byte(strings.TrimPrefix(roleChunk, "data: ")))
	cut.add([]byte(strings.TrimPrefix(chunk("chatcmpl-9x2", "Hel"), "data: ")))
	if _, ok := cut.answer(); ok {
		t.Error("a stream without its finish was kept")
	}
}

func TestStreamRecorderMergesToolCalls(t *testing.T) {
	var rec streamRecorder
	for _, c := range []string{
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"weather","arguments":""}}]},"finish_reason":null}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Oslo\"}"}}]},"finish_reason":null}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
	} {
		rec.add([]byte(c))
	}
	answer, ok := rec.answer()
	if !ok {
		t.Fatal("not kept")
	}
	if err := openaischema.Validate(openaischema.ChatCompletion, answer); err != nil {
		t.Fatalf("%v\n%s", err, answer)
	}
	if !strings.Contains(string(answer), `"arguments":"{\"city\":\"Oslo\"}"`) || !strings.Contains(string(answer), `"content":null`) {
		t.Errorf("tool call not merged: %s", answer)
	}
}

// cacheGateway is a gateway with a memory cache before one OpenAI
// upstream that counts its calls.
func cacheGateway(t *testing.T, serve http.HandlerFunc, cache *Cache) (string, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		serve(w, r)
	})
	if cache.Store == nil {
		cache.Store = &answercache.Memory{TTL: time.Hour, MaxBytes: 1 << 20}
	}
	srv := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "openai", up.URL)})}, Cache: cache})
	go func() {
		for range up.requests {
		}
	}()
	return srv.URL, &calls
}

func TestCacheReplaysAnAnswerAsAValidStream(t *testing.T) {
	url, calls := cacheGateway(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(chatCompletion))
	}, &Cache{})
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	resp, got := postWith(t, url+"/v1/chat/completions", body, nil)
	if resp.Header.Get("X-LLM-Gateway-Cache") != "miss" || got != chatCompletion {
		t.Fatalf("first ask: %s %s", resp.Header.Get("X-LLM-Gateway-Cache"), got)
	}
	resp, got = postWith(t, url+"/v1/chat/completions", body, nil)
	if resp.Header.Get("X-LLM-Gateway-Cache") != "hit" || resp.Header.Get("Age") == "" || got != chatCompletion {
		t.Fatalf("second ask: %s age %q %s", resp.Header.Get("X-LLM-Gateway-Cache"), resp.Header.Get("Age"), got)
	}
	streamed := `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`
	resp, got = postWith(t, url+"/v1/chat/completions", streamed, nil)
	if resp.Header.Get("X-LLM-Gateway-Cache") != "hit" || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("streamed ask: %s %s", resp.Header.Get("X-LLM-Gateway-Cache"), resp.Header.Get("Content-Type"))
	}
	if err := openaischema.ValidateStream([]byte(got)); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	events := sseEvents(got)
	if len(events) != 5 || !strings.Contains(events[1], `"content":"Hello."`) || !strings.Contains(events[3], `"total_tokens":99`) || events[4] != "[DONE]" {
		t.Errorf("replayed stream: %q", events)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d upstream calls for three identical questions, want 1", n)
	}
}

func TestCacheKeepsAStreamForAPlainAsk(t *testing.T) {
	url, calls := cacheGateway(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, roleChunk, chunk("chatcmpl-9x2", "Hel"), chunk("chatcmpl-9x2", "lo."), finishChunk, usageChunk, doneEventLine)
	}, &Cache{})
	streamed := `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	resp, got := postWith(t, url+"/v1/chat/completions", streamed, nil)
	if resp.Header.Get("X-LLM-Gateway-Cache") != "miss" || !strings.Contains(got, "[DONE]") {
		t.Fatalf("first ask: %s %s", resp.Header.Get("X-LLM-Gateway-Cache"), got)
	}
	resp, got = postWith(t, url+"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, nil)
	if resp.Header.Get("X-LLM-Gateway-Cache") != "hit" {
		t.Fatalf("plain ask: %s %s", resp.Header.Get("X-LLM-Gateway-Cache"), got)
	}
	if err := openaischema.Validate(openaischema.ChatCompletion, []byte(got)); err != nil || !strings.Contains(got, `"content":"Hello."`) {
		t.Fatalf("%v\n%s", err, got)
	}
	if calls.Load() != 1 {
		t.Errorf("%d upstream calls, want 1", calls.Load())
	}
}

func TestCacheControlAndErrors(t *testing.T) {
	var fail atomic.Bool
	url, calls := cacheGateway(t, func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}`))
			return
		}
		_, _ = w.Write([]byte(chatCompletion))
	}, &Cache{Models: []string{"gpt-*"}})
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	ask := func(b string, header map[string]string) string {
		resp, _ := postWith(t, url+"/v1/chat/completions", b, header)
		return resp.Header.Get("X-LLM-Gateway-Cache")
	}
	fail.Store(true)
	if got := ask(body, nil); got != "miss" {
		t.Errorf("an error: %s", got)
	}
	fail.Store(false)
	if got := ask(body, map[string]string{"Cache-Control": "no-store"}); got != "bypass" {
		t.Errorf("no-store: %s", got)
	}
	if got := ask(body, nil); got != "miss" {
		t.Errorf("after an error and a no-store ask: %s, want miss: neither was kept", got)
	}
	if got := ask(body, map[string]string{"Cache-Control": "no-cache"}); got != "bypass" {
		t.Errorf("no-cache: %s", got)
	}
	if got := ask(body, nil); got != "hit" {
		t.Errorf("after a stored answer: %s", got)
	}
	if got := ask(`{"model":"o3","messages":[]}`, nil); got != "bypass" {
		t.Errorf("a model the cache leaves out: %s", got)
	}
	if n := calls.Load(); n != 5 {
		t.Errorf("%d upstream calls, want 5", n)
	}
}

func TestCacheCoalescesConcurrentMisses(t *testing.T) {
	release := make(chan struct{})
	url, calls := cacheGateway(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		_, _ = w.Write([]byte(chatCompletion))
	}, &Cache{})
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"same"}]}`
	before := activeRequests.Value()
	var wg sync.WaitGroup
	results := make([]string, 3)
	for i := range results {
		wg.Go(func() {
			resp, got := postWith(t, url+"/v1/chat/completions", body, nil)
			if got != chatCompletion {
				t.Errorf("answer %d: %s", i, got)
			}
			results[i] = resp.Header.Get("X-LLM-Gateway-Cache")
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for activeRequests.Value() < before+3 || calls.Load() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the three requests did not all arrive")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	hits := strings.Count(strings.Join(results, ","), "hit")
	if calls.Load() != 1 || hits != 2 {
		t.Errorf("%d upstream calls, results %v; want 1 call and 2 hits", calls.Load(), results)
	}
}

func TestFlightFailureSendsFollowersUpstream(t *testing.T) {
	var fs flights
	f, leader := fs.join("k")
	g, second := fs.join("k")
	if !leader || second || f != g {
		t.Fatal("the second join did not follow the first")
	}
	go f.land(answercache.Entry{}, false)
	if _, ok := g.wait(context.Background()); ok {
		t.Error("a failed flight gave an answer")
	}
	if _, leader := fs.join("k"); !leader {
		t.Error("a landed flight was still joined")
	}
}

func TestCacheHitCostsNothingButARequest(t *testing.T) {
	var calls atomic.Int32
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = w.Write([]byte(meteredAnswer(30)))
	})
	go func() {
		for range up.requests {
		}
	}()
	store := memoryStore()
	gw := gateway(t, Config{
		Routes: []Route{route("metered", Target{Provider: openAIProvider(t, "oai", up.URL)})},
		Prices: &pricing.Book{Models: map[string]pricing.Price{"metered": meteredPrice}},
		Limits: Limits{Budget: &Budget{Limit: 10_000_000, Period: Period{Every: time.Hour}}, Spender: store, Counter: store,
			Requests: NewLimit(3, time.Hour), Tokens: NewLimit(1000, time.Hour), CompletionReserve: 1024},
		Cache: &Cache{Store: &answercache.Memory{TTL: time.Hour, MaxBytes: 1 << 20}},
	}).URL
	tokens := tokensTotal.WithLabelValues("metered", "oai", "completion")
	first, _ := postWith(t, gw+"/v1/chat/completions", meteredAsk, nil)
	if first.StatusCode != http.StatusOK || first.Header.Get("X-LLM-Gateway-Cost") != "0.00003" {
		t.Fatalf("miss: %d, cost %q", first.StatusCode, first.Header.Get("X-LLM-Gateway-Cost"))
	}
	spent, tokensBefore := keyFigures(t, gw, "")["usage"], testutil.ToFloat64(tokens)
	hit, _ := postWith(t, gw+"/v1/chat/completions", meteredAsk, nil)
	if hit.Header.Get("X-LLM-Gateway-Cache") != "hit" || hit.Header.Get("X-LLM-Gateway-Cost") != "0" {
		t.Errorf("hit: cache %q, cost %q", hit.Header.Get("X-LLM-Gateway-Cache"), hit.Header.Get("X-LLM-Gateway-Cost"))
	}
	if got := hit.Header.Get("X-Ratelimit-Remaining-Requests"); got != "1" {
		t.Errorf("remaining requests after a hit: %q, want 1: a hit is a request", got)
	}
	if got := hit.Header.Get("X-Ratelimit-Remaining-Tokens"); got != "" && got != first.Header.Get("X-Ratelimit-Remaining-Tokens") {
		t.Errorf("remaining tokens %q after a hit, %q before: a hit uses none", got, first.Header.Get("X-Ratelimit-Remaining-Tokens"))
	}
	if got := keyFigures(t, gw, "")["usage"]; got != spent {
		t.Errorf("spent %v after a hit, %v before", got, spent)
	}
	if got := testutil.ToFloat64(tokens); got != tokensBefore {
		t.Errorf("llm_gateway_tokens_total grew by %v on a hit", got-tokensBefore)
	}
	if calls.Load() != 1 {
		t.Errorf("%d upstream calls, want 1", calls.Load())
	}
}

func TestCacheScopes(t *testing.T) {
	team := &Group{Name: "team"}
	a, b, loner := &Caller{ID: "key-a", Group: team}, &Caller{ID: "key-b", Group: team}, &Caller{ID: "key-c"}
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	for _, tc := range []struct {
		scope      string
		x, y       *Caller
		sameAnswer bool
	}{
		{CacheCaller, a, a, true},
		{CacheCaller, a, b, false},
		{CacheGroup, a, b, true},
		{CacheGroup, a, loner, false},
		{CacheGroup, loner, &Caller{ID: "key-d"}, false},
		{CacheShared, a, loner, true},
		{CacheCaller, &Caller{}, &Caller{}, true}, // anonymous, same client IP
	} {
		c := &Cache{Scope: tc.scope}
		if got := c.scopeOf(tc.x, r) == c.scopeOf(tc.y, r); got != tc.sameAnswer {
			t.Errorf("scope %s: %s and %s share answers = %v", tc.scope, tc.x.ID, tc.y.ID, got)
		}
	}
}

func TestCacheServesCompletionsAndEmbeddings(t *testing.T) {
	const completion = `{"id":"cmpl-1","object":"text_completion","created":1735689600,"model":"gpt-3.5-turbo-instruct","choices":[{"text":" the sea.","index":0,"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}}`
	const embedding = `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":2,"total_tokens":2}}`
	url, calls := cacheGateway(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/embeddings") {
			_, _ = w.Write([]byte(embedding))
			return
		}
		_, _ = w.Write([]byte(completion))
	}, &Cache{})
	ask := `{"model":"gpt-3.5-turbo-instruct","prompt":"Write about","max_tokens":3}`
	postWith(t, url+"/v1/completions", ask, nil)
	resp, got := postWith(t, url+"/v1/completions", `{"stream":true,`+ask[1:], nil)
	if resp.Header.Get("X-LLM-Gateway-Cache") != "hit" {
		t.Fatalf("streamed completion: %s", resp.Header.Get("X-LLM-Gateway-Cache"))
	}
	if err := openaischema.ValidateStream([]byte(got)); err != nil || !strings.Contains(got, `"text":" the sea.","logprobs":null,"finish_reason":"length"`) {
		t.Errorf("%v\n%s", err, got)
	}
	embed := `{"model":"text-embedding-3-small","input":"sea"}`
	postWith(t, url+"/v1/embeddings", embed, nil)
	resp, got = postWith(t, url+"/v1/embeddings", embed, nil)
	if resp.Header.Get("X-LLM-Gateway-Cache") != "hit" || got != embedding {
		t.Errorf("embeddings: %s %s", resp.Header.Get("X-LLM-Gateway-Cache"), got)
	}
	// The same body asked of another operation is another question.
	if resp, _ := postWith(t, url+"/v1/chat/completions", ask, nil); resp.Header.Get("X-LLM-Gateway-Cache") != "miss" {
		t.Errorf("a completions body sent to chat: %s", resp.Header.Get("X-LLM-Gateway-Cache"))
	}
	if calls.Load() != 3 {
		t.Errorf("%d upstream calls, want 3", calls.Load())
	}
}
