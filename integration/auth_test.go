package integration

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const jwtSecret = "0123456789abcdef0123456789abcdef-test-secret"

// echoKeyUpstream answers every chat request with the Authorization header
// it received as the message content, so a test can see whose key was used.
func echoKeyUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%q,"refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`,
			r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

type call struct {
	status int
	body   string
	header http.Header
}

func chat(t *testing.T, client *http.Client, url, model string, headers map[string]string) call {
	t.Helper()
	return postCall(t, client, url+"/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`, headers)
}

// postCall posts body to url with headers. A transport error fails the
// test without stopping it, so goroutines may call it too.
func postCall(t *testing.T, client *http.Client, url, body string, headers map[string]string) call {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return call{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return call{resp.StatusCode, string(b), resp.Header}
}

func token(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthModesThroughCaddy(t *testing.T) {
	up := echoKeyUpstream(t)
	provider := "\t\tprovider up openai {\n\t\t\tbase_url " + up.URL + "\n\t\t\tapi_key sk-upstream\n\t\t}\n"
	bearer := func(v string) map[string]string { return map[string]string{"Authorization": v} }
	now := time.Now()
	valid := jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix(), "iss": "https://auth.test", "models": []string{"small"}}
	expired := jwt.MapClaims{"sub": "alice", "exp": now.Add(-time.Hour).Unix(), "iss": "https://auth.test"}

	modes := []struct {
		name  string
		block string
		cases []struct {
			name, model string
			headers     map[string]string
			status      int
			code        string
		}
	}{
		{"keys", provider + "\t\tmodel big up\n\t\tmodel small up\n\t\tauth keys {\n\t\t\tkey team-key team {\n\t\t\t\tmodels small\n\t\t\t}\n\t\t}", []struct {
			name, model string
			headers     map[string]string
			status      int
			code        string
		}{
			{"no key", "small", nil, 401, "missing_api_key"},
			{"wrong key", "small", bearer("Bearer nope"), 401, "invalid_api_key"},
			{"malformed header", "small", bearer("Bearer"), 401, "missing_api_key"},
			{"basic scheme", "small", bearer("Basic dGVhbS1rZXk6"), 401, "missing_api_key"},
			{"good key", "small", bearer("Bearer team-key"), 200, ""},
			{"outside allow-list", "big", bearer("Bearer team-key"), 403, "model_not_allowed"},
		}},
		{"jwt", provider + "\t\tmodel big up\n\t\tmodel small up\n\t\tauth jwt {\n\t\t\tsecret " + jwtSecret + "\n\t\t\tissuer https://auth.test\n\t\t\tmodels_claim models\n\t\t}", []struct {
			name, model string
			headers     map[string]string
			status      int
			code        string
		}{
			{"valid", "small", bearer("Bearer " + token(t, jwt.SigningMethodHS256, []byte(jwtSecret), valid)), 200, ""},
			{"model outside claim", "big", bearer("Bearer " + token(t, jwt.SigningMethodHS256, []byte(jwtSecret), valid)), 403, "model_not_allowed"},
			{"expired", "small", bearer("Bearer " + token(t, jwt.SigningMethodHS256, []byte(jwtSecret), expired)), 401, "invalid_token"},
			{"forged", "small", bearer("Bearer " + token(t, jwt.SigningMethodHS256, []byte("another-secret-of-thirty-two-bytes!!"), valid)), 401, "invalid_token"},
			{"alg none", "small", bearer("Bearer " + token(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid)), 401, "invalid_token"},
			{"not a jwt", "small", bearer("Bearer team-key"), 401, "invalid_token"},
		}},
		{"passthrough", "\t\tprovider up openai {\n\t\t\tbase_url " + up.URL + "\n\t\t}\n\t\tauth passthrough", []struct {
			name, model string
			headers     map[string]string
			status      int
			code        string
		}{
			{"no key", "m", nil, 401, "missing_api_key"},
			{"own key", "m", bearer("Bearer sk-caller-1"), 200, ""},
			{"azure header", "m", map[string]string{"Api-Key": "sk-caller-2"}, 200, ""},
		}},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			startGateway(t, mode.block)
			client := freshHTTP()
			for _, tc := range mode.cases {
				got := chat(t, client, gatewayURL, tc.model, tc.headers)
				if got.status != tc.status || (tc.code != "" && !strings.Contains(got.body, `"code":"`+tc.code+`"`)) {
					t.Errorf("%s: status %d body %s, want %d %s", tc.name, got.status, got.body, tc.status, tc.code)
				}
				if tc.status == 200 && mode.name == "passthrough" {
					key := strings.TrimPrefix(tc.headers["Authorization"], "Bearer ") + tc.headers["Api-Key"]
					if !strings.Contains(got.body, `"Bearer `+key+`"`) {
						t.Errorf("%s: upstream got %s, want the caller's key", tc.name, got.body)
					}
				}
			}
		})
	}
}

// TestPassthroughIsolation has many callers with different keys at once:
// each request must reach the upstream with its own caller's key.
func TestPassthroughIsolation(t *testing.T) {
	up := echoKeyUpstream(t)
	startGateway(t, "\t\tprovider up openai {\n\t\t\tbase_url "+up.URL+"\n\t\t\tapi_key passthrough\n\t\t}")
	client := freshHTTP()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func(key string) {
			defer wg.Done()
			got := chat(t, client, gatewayURL, "m", map[string]string{"Authorization": "Bearer " + key})
			if got.status != 200 || !strings.Contains(got.body, `"content":"Bearer `+key+`"`) {
				t.Errorf("caller %s got %d %s", key, got.status, got.body)
			}
		}(fmt.Sprintf("sk-caller-%03d", i))
	}
	wg.Wait()
}

// TestRateLimitExactCounts sends more concurrent requests than the limit:
// exactly the limit succeed, the rest get 429 with Retry-After.
func TestRateLimitExactCounts(t *testing.T) {
	startGateway(t, "\t\tprovider mock\n\t\trate_limit 25 1m")
	statuses := concurrentChats(t, []string{gatewayURL}, 60)
	if statuses[200] != 25 || statuses[429] != 35 {
		t.Errorf("statuses %v, want 25×200 and 35×429", statuses)
	}
}

// concurrentChats sends n requests at once, spread over urls, and counts
// the statuses; every 429 must carry a whole Retry-After of at least 1.
func concurrentChats(t *testing.T, urls []string, n int) map[int]int {
	t.Helper()
	client := freshHTTP()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func(url string) {
			defer wg.Done()
			got := chat(t, client, url, "m", nil)
			if got.status == 429 {
				if ra, err := strconv.Atoi(got.header.Get("Retry-After")); err != nil || ra < 1 {
					t.Errorf("429 without a valid Retry-After: %q", got.header.Get("Retry-After"))
				}
				if !strings.Contains(got.body, `"code":"rate_limit_exceeded"`) {
					t.Errorf("429 body %s", got.body)
				}
			}
			mu.Lock()
			statuses[got.status]++
			mu.Unlock()
		}(urls[i%len(urls)])
	}
	wg.Wait()
	return statuses
}

// TestTokenLimitSettlesToRealUsage: each request reserves its estimate and
// then costs its real usage, so more requests fit than the reservations
// alone would allow, and exactly as many as the real usage allows.
func TestTokenLimitSettlesToRealUsage(t *testing.T) {
	startGateway(t, "\t\tprovider mock {\n\t\t\treply \"a b c d e\"\n\t\t}\n\t\ttoken_limit 60 1m\n\t\ttoken_reserve 10")
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	reserve := len(body)/4 + 1 + 10
	const cost = 1 + 5 // the mock's usage: one prompt word, five answer words
	want := 0
	for used := 0; used+reserve <= 60; used += cost {
		want++
	}
	client := freshHTTP()
	succeeded := 0
	for i := 0; i < want+2; i++ {
		got := chat(t, client, gatewayURL, "m", nil)
		switch got.status {
		case 200:
			succeeded++
			if got.header.Get("X-Ratelimit-Limit-Tokens") != "60" {
				t.Errorf("token limit headers: %v", got.header)
			}
		case 429:
			if !strings.Contains(got.body, `"type":"tokens"`) {
				t.Errorf("429 body %s", got.body)
			}
		default:
			t.Fatalf("status %d: %s", got.status, got.body)
		}
	}
	if succeeded != want || want <= 60/reserve {
		t.Errorf("%d requests fit, want %d (reservations alone would allow %d)", succeeded, want, 60/reserve)
	}
}
