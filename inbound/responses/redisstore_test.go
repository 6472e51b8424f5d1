package responses

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/inbound/inboundtest"
	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/internal/limitstore"
	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/redistest"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// redisGateway serves the models "claude" (translated) and "gpt"
// (native) with a response store in the Redis at url, for the callers
// "key-a" and "key-b"; each call makes a gateway with a store of its own.
func redisGateway(t *testing.T, url string, claude, oa *providertest.Upstream) string {
	t.Helper()
	client, err := limitstore.RedisClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return inboundtest.Serve(t, handler.Config{
		Auth: handler.NewKeyAuth([]handler.APIKey{{SHA256: sha256.Sum256([]byte("key-a")), Name: "a"}, {SHA256: sha256.Sum256([]byte("key-b")), Name: "b"}}),
		Routes: []handler.Route{
			{Name: "claude", Targets: []handler.Target{claudeTarget(t, claude)}},
			{Name: "gpt", Targets: []handler.Target{openaiTarget(t, oa, "", "")}},
		},
		Doors: []inbound.Door{&Door{Store: &Store{TTL: time.Hour, MaxBytes: 1 << 20, Redis: client}}},
	})
}

// TestRedisStoreSharedByTwoGateways keeps responses in Redis, where
// another gateway finds them: translated and native responses made on A
// are continued, read and deleted on B, for their caller alone; a
// response is written with the store's TTL; and while Redis is away the
// requests that need the store answer 503.
func TestRedisStoreSharedByTwoGateways(t *testing.T) {
	redis := redistest.Start(t)
	claude := providertest.NewUpstream(t, claudeText("Hello, Ada."))
	oa := providertest.NewUpstream(t, &providertest.ResponsesAPI{Reply: "Hi."})
	a := redisGateway(t, redis.URL, claude, oa)
	b := redisGateway(t, redis.URL, claude, oa)

	_, created := call(t, "POST", a+"/v1/responses", "key-a", `{"model":"claude","input":"My name is Ada."}`)
	id := readResponse(t, created).ID
	if ttl := redis.Do(t, "PTTL", redisKeyPrefix+id); !strings.HasPrefix(ttl, ":") || ttl == ":-1" || ttl == ":-2" {
		t.Fatalf("PTTL of the kept response: %s", ttl)
	}
	resp, body := call(t, "POST", b+"/v1/responses", "key-a", `{"model":"claude","input":"What is my name?","previous_response_id":"`+id+`"}`)
	want := []string{"user: My name is Ada.", "assistant: Hello, Ada.", "user: What is my name?"}
	if got := sentMessages(t, claude); resp.StatusCode != 200 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%d %s: upstream got %q", resp.StatusCode, body, got)
	}
	if resp, got := call(t, "GET", b+"/v1/responses/"+id, "key-a", ""); resp.StatusCode != 200 || !bytes.Equal(got, created) {
		t.Fatalf("GET on B: %d %s", resp.StatusCode, got)
	}
	if resp, _ := call(t, "GET", b+"/v1/responses/"+id, "key-b", ""); resp.StatusCode != 404 {
		t.Fatalf("GET by another caller: %d", resp.StatusCode)
	}
	if resp, got := call(t, "DELETE", b+"/v1/responses/"+id, "key-a", ""); resp.StatusCode != 200 {
		t.Fatalf("DELETE on B: %d %s", resp.StatusCode, got)
	}
	if resp, _ := call(t, "GET", a+"/v1/responses/"+id, "key-a", ""); resp.StatusCode != 404 {
		t.Fatalf("GET on A after DELETE on B: %d", resp.StatusCode)
	}

	_, created = call(t, "POST", a+"/v1/responses", "key-a", `{"model":"gpt","input":"hi"}`)
	native := readResponse(t, created).ID
	if resp, got := call(t, "GET", b+"/v1/responses/"+native, "key-a", ""); resp.StatusCode != 200 || !bytes.Equal(got, created) || oa.Last(t).Path != "/v1/responses/"+native {
		t.Fatalf("GET on B of a native response: %d %s", resp.StatusCode, got)
	}
	if resp, got := call(t, "POST", b+"/v1/responses", "key-a", `{"model":"gpt","input":"again","previous_response_id":"`+native+`"}`); resp.StatusCode != 200 ||
		!bytes.Contains(oa.Last(t).Body, []byte(`"previous_response_id":"`+native+`"`)) {
		t.Fatalf("continued on B: %d %s", resp.StatusCode, got)
	}

	redis.Stop(t)
	for _, method := range []string{"GET", "DELETE"} {
		if resp, got := call(t, method, b+"/v1/responses/"+native, "key-a", ""); resp.StatusCode != 503 || !bytes.Contains(got, []byte(`"code":"response_store_unavailable"`)) {
			t.Errorf("%s while Redis is away: %d %s", method, resp.StatusCode, got)
		}
	}
	resp, body = call(t, "POST", b+"/v1/responses", "key-a", `{"model":"gpt","input":"again","previous_response_id":"`+native+`"}`)
	if resp.StatusCode != 503 || !bytes.Contains(body, []byte(`"code":"response_store_unavailable"`)) {
		t.Errorf("previous_response_id while Redis is away: %d %s", resp.StatusCode, body)
	}
	if resp, body = call(t, "POST", b+"/v1/responses", "key-a", `{"model":"claude","input":"hi"}`); resp.StatusCode != 200 {
		t.Errorf("a request that needs no kept response while Redis is away: %d %s", resp.StatusCode, body)
	}
}
