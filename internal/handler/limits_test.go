package handler

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/llmgateway/caddy-llm-gateway/internal/limitstore"
)

func TestRequestLimitHeadersAnd429(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Ratelimit-Limit-Requests", "10000") // the upstream's own, overridden
		_, _ = w.Write([]byte(chatCompletion))
	})
	gw := gateway(t, Config{
		Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})},
		Limits: Limits{Requests: &Limit{N: 3, Window: time.Minute}, Counter: memoryCounter()},
	})
	for i := 1; i <= 4; i++ {
		resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
		body := readAll(t, resp.Body)
		if got := resp.Header.Get("X-Ratelimit-Limit"); got != "3" {
			t.Errorf("request %d: X-RateLimit-Limit = %q", i, got)
		}
		if got := resp.Header.Get("X-Ratelimit-Limit-Requests"); got != "3" {
			t.Errorf("request %d: x-ratelimit-limit-requests = %q, want the gateway's", i, got)
		}
		reset, err := strconv.ParseInt(resp.Header.Get("X-Ratelimit-Reset"), 10, 64)
		if err != nil || reset < time.Now().Unix() || reset > time.Now().Add(61*time.Second).Unix() {
			t.Errorf("request %d: X-RateLimit-Reset = %q", i, resp.Header.Get("X-Ratelimit-Reset"))
		}
		wantRemaining := strconv.Itoa(max(3-i, 0))
		if got := resp.Header.Get("X-Ratelimit-Remaining"); got != wantRemaining {
			t.Errorf("request %d: remaining %q, want %s", i, got, wantRemaining)
		}
		if i <= 3 {
			if resp.StatusCode != 200 {
				t.Fatalf("request %d: status %d", i, resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("request 4: status %d, want 429", resp.StatusCode)
		}
		if e := decodeError(t, body); e.Error.Code == nil || *e.Error.Code != "rate_limit_exceeded" {
			t.Errorf("429 body %s", body)
		}
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
			t.Errorf("Retry-After = %q", resp.Header.Get("Retry-After"))
		}
	}
	if n := len(up.requests); n != 3 {
		t.Errorf("the upstream got %d requests, want 3", n)
	}
}

func TestLimitsArePerCaller(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(chatCompletion)) })
	auth := NewKeyAuth([]APIKey{
		{SHA256: sha256.Sum256([]byte("a")), Name: "a"},
		{SHA256: sha256.Sum256([]byte("b")), Name: "b", RequestLimit: &Limit{N: 2, Window: time.Minute}},
	})
	gw := gateway(t, Config{Auth: auth,
		Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})},
		Limits: Limits{Requests: &Limit{N: 1, Window: time.Minute}, Counter: memoryCounter()},
	})
	status := func(key string) int {
		req, _ := http.NewRequest("POST", gw.URL+"/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	got := []int{status("a"), status("a"), status("b"), status("b"), status("b")}
	want := []int{200, 429, 200, 200, 429}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
}

func TestTokenLimitReservesThenSettles(t *testing.T) {
	// The upstream reports 12 tokens used (prompt 9 + completion 3).
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Replace(chatCompletion, `"prompt_tokens":82,"completion_tokens":17,"total_tokens":99`, `"prompt_tokens":9,"completion_tokens":3,"total_tokens":12`, 1)))
	})
	gw := gateway(t, Config{
		Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})},
		Limits: Limits{Tokens: &Limit{N: 100, Window: time.Minute}, CompletionReserve: 30, Counter: memoryCounter()},
	})

	// A request that could never fit is a client error, not a wait.
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","max_tokens":500,"messages":[]}`)
	if body := readAll(t, resp.Body); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"code":"token_limit_exceeded"`) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}

	// Each request reserves 37 (30, plus 7 for its 27-byte body) and then
	// costs 12: six fit in 100 (the sixth reserves 60+37). Without
	// settling, the third would already be refused.
	for i := 0; i < 6; i++ {
		resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d; settling to real usage should leave room", i, resp.StatusCode)
		}
	}
	// 72 used: a 37-token reservation no longer fits, and is given back;
	// a 17-token one does fit.
	resp = post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("status %d after 72 of 100 tokens, want 429 for a 37-token reservation", resp.StatusCode)
	}
	if got := resp.Header.Get("X-Ratelimit-Remaining-Tokens"); got != "28" {
		t.Errorf("remaining tokens after a refused reservation = %s, want 28", got)
	}
	resp = post(t, gw.URL+"/v1/chat/completions", `{"model":"m","max_tokens":10,"messages":[]}`)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d for a small reservation that fits", resp.StatusCode)
	}
}

func TestStoreErrorAllowOrDeny(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(chatCompletion)) })
	down, err := limitstore.NewRedis("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	before := testutil.ToFloat64(storeErrors)
	for deny, want := range map[bool]int{false: 200, true: 503} {
		gw := gateway(t, Config{
			Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})},
			Limits: Limits{Requests: &Limit{N: 1, Window: time.Minute}, Counter: storeCounter{down}, DenyOnStoreError: deny},
		})
		resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
		if resp.StatusCode != want {
			t.Errorf("deny=%v: status %d, want %d", deny, resp.StatusCode, want)
		}
	}
	if got := testutil.ToFloat64(storeErrors) - before; got != 2 {
		t.Errorf("store errors counted %v times, want 2", got)
	}
}

func TestPassthroughKeysStayWithTheirCallers(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		// Each caller's key must come back in its own answer.
		_, _ = w.Write([]byte(strings.Replace(chatCompletion, "Hello.", r.Header.Get("Authorization"), 1)))
	})
	p := openAIProvider(t, "oai", up.URL)
	keyless := openAIProviderWithKey(t, "keyless", up.URL, "")
	gw := gateway(t, Config{Auth: PassthroughAuth{},
		Routes: []Route{route("own", Target{Provider: p}), route(Wildcard, Target{Provider: keyless})}})

	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(key string) {
			defer wg.Done()
			req, _ := http.NewRequest("POST", gw.URL+"/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[]}`))
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var b strings.Builder
			buf := make([]byte, 4096)
			for {
				n, err := resp.Body.Read(buf)
				b.WriteString(string(buf[:n]))
				if err != nil {
					break
				}
			}
			if !strings.Contains(b.String(), `"content":"Bearer `+key+`"`) {
				t.Errorf("caller %s got %s", key, b.String())
			}
		}("sk-caller-" + strconv.Itoa(i))
	}
	wg.Wait()

	// A provider with a key of its own keeps it.
	req, _ := http.NewRequest("POST", gw.URL+"/v1/chat/completions", strings.NewReader(`{"model":"own","messages":[]}`))
	req.Header.Set("Authorization", "Bearer sk-caller-x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp.Body); !strings.Contains(body, "Bearer sk-upstream-secret") {
		t.Errorf("own-key provider answered %s", body)
	}
	resp.Body.Close()

	// No key at all: refused before any upstream call.
	if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d without a key", resp.StatusCode)
	}
}

func TestDifferentLimitsCountApartOnOneStore(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(chatCompletion)) })
	shared := memoryCounter()
	strict := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})},
		Limits: Limits{Requests: NewLimit(2, time.Minute), Counter: shared}})
	loose := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})},
		Limits: Limits{Requests: NewLimit(100, time.Minute), Counter: shared}})
	post(t, strict.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
	post(t, strict.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
	if got := post(t, loose.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`).Header.Get("X-Ratelimit-Remaining"); got != "99" {
		t.Errorf("remaining under the other limit = %s, want 99", got)
	}
}

func TestUpstreamLimitHeadersGiveWayToTheGateways(t *testing.T) {
	for _, status := range []int{200, 429} {
		up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Ratelimit-Limit-Requests", "500")
			w.Header().Set("X-Ratelimit-Remaining-Tokens", "123456")
			w.WriteHeader(status)
			if status == 200 {
				_, _ = w.Write([]byte(chatCompletion))
			} else {
				_, _ = w.Write([]byte(`{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}`))
			}
		})
		gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})},
			Limits: Limits{Requests: NewLimit(60, time.Minute), Counter: memoryCounter()}})
		resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
		if resp.StatusCode != status || resp.Header.Get("X-Ratelimit-Limit-Requests") != "60" || resp.Header.Get("X-Ratelimit-Remaining-Tokens") != "" {
			t.Errorf("upstream %d: status %d, headers %v", status, resp.StatusCode, resp.Header)
		}
	}
}

func TestDefaultReserveNeverMakesARequestImpossible(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(chatCompletion)) })
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})},
		Limits: Limits{Tokens: NewLimit(500, time.Minute), CompletionReserve: 1024, Counter: memoryCounter()}})
	if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`); resp.StatusCode != http.StatusOK {
		t.Errorf("status %d: a reserve larger than the limit refused a small request", resp.StatusCode)
	}
	huge := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", 4000) + `"}]}`
	if resp := post(t, gw.URL+"/v1/chat/completions", huge); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d for a prompt larger than the whole limit", resp.StatusCode)
	}
}
