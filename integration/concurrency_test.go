package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// heldUpstream streams an OpenAI answer whose end waits for release. The
// upstream model picks how a stream goes wrong instead: "cut" drops the
// connection after the first chunk, "broken" sends an error event,
// "silent" sends nothing until the client leaves.
type heldUpstream struct {
	*providertest.Upstream
	arrived chan string // the model of each request, as it arrives
	release chan struct{}
}

const heldChunk = `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"},"logprobs":null,"finish_reason":null}]}` + "\n\n"

func newHeldUpstream(t *testing.T) *heldUpstream {
	t.Helper()
	u := &heldUpstream{arrived: make(chan string, 256), release: make(chan struct{})}
	silence := make(chan struct{}) // never closed: a silent stream waits for its client to leave
	u.Upstream = providertest.NewUpstream(t, providertest.Script(func(r *http.Request) providertest.Reply {
		var req struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		u.arrived <- req.Model
		switch {
		case !req.Stream:
			return providertest.OpenAI.JSON(http.StatusOK, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"whole","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
		case req.Model == "silent":
			return providertest.OpenAI.Stream("").PauseAfter(0, silence)
		case req.Model == "cut":
			return providertest.OpenAI.Stream(heldChunk).Cut()
		case req.Model == "broken":
			return providertest.OpenAI.Stream(heldChunk + providertest.OpenAIEvent(`{"error":{"message":"boom","type":"server_error"}}`))
		}
		return providertest.OpenAI.Stream(heldChunk+providertest.OpenAIEvent("[DONE]")).PauseAfter(1, u.release)
	}))
	return u
}

// openStream starts a streamed chat for model and returns once its first
// line arrived (or the answer is not a stream), with the way to leave.
func openStream(t *testing.T, client *http.Client, model string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gatewayURL+"/v1/chat/completions",
		strings.NewReader(`{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("%s: %v", model, err)
	}
	if resp.StatusCode == http.StatusOK {
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			t.Fatalf("%s: reading the first line: %v", model, err)
		}
	}
	return resp, func() { cancel(); resp.Body.Close() }
}

// gatewayHealth reads /health.
func gatewayHealth(t *testing.T) (active int, failures map[string]int) {
	t.Helper()
	var h struct {
		ActiveRequests int `json:"active_requests"`
		Providers      []struct {
			Name                string `json:"name"`
			ConsecutiveFailures int    `json:"consecutive_failures"`
		} `json:"providers"`
	}
	if err := json.Unmarshal([]byte(httpGet(t, gatewayURL+"/health")), &h); err != nil {
		t.Fatal(err)
	}
	failures = map[string]int{}
	for _, p := range h.Providers {
		failures[p.Name] = p.ConsecutiveFailures
	}
	return h.ActiveRequests, failures
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := freshHTTP().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// awaitIdle polls /health until no request is active in the gateway.
func awaitIdle(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if active, _ := gatewayHealth(t); active == 0 {
			return
		}
	}
	t.Fatal("requests still active in the gateway")
}

var busyAttempts = regexp.MustCompile(`llm_gateway_upstream_attempts_total\{outcome="busy",provider="slow"\} (\d+)`)

// TestMaxConcurrentThroughCaddy: a provider with max_concurrent 2 serves
// two calls at once; a third is refused without an upstream call and goes
// to the route's next target, or gets 503 provider_busy with Retry-After
// when there is none. Refusals are counted as busy attempts, never as
// failures in /health, and no way of ending a stream keeps a slot.
func TestMaxConcurrentThroughCaddy(t *testing.T) {
	slow := newHeldUpstream(t)
	spare := fakeOpenAI(t)
	startGateway(t, `		provider slow openai {
			base_url `+slow.URL+`
			api_key sk-upstream
			max_concurrent 2
		}
		provider spare openai {
			base_url `+spare.URL+`/v1
			api_key sk-upstream
		}
		model only slow
		model either slow spare
		model cut slow/cut
		model broken slow/broken
		model silent slow/silent`)
	client := freshHTTP()

	_, leave1 := openStream(t, client, "only")
	_, leave2 := openStream(t, client, "only")
	before := slow.Count()

	got := chat(t, client, gatewayURL, "only", nil)
	if got.status != http.StatusServiceUnavailable || !strings.Contains(got.body, `"code":"provider_busy"`) || got.header.Get("Retry-After") != "1" {
		t.Errorf("no room anywhere: %d %v %s", got.status, got.header, got.body)
	}
	if err := openaischema.Validate(openaischema.Error, []byte(got.body)); err != nil {
		t.Errorf("busy error shape: %v", err)
	}
	if got := chat(t, client, gatewayURL, "either", nil); got.status != http.StatusOK || !strings.Contains(got.body, "Hello from upstream.") {
		t.Errorf("the next target did not serve: %d %s", got.status, got.body)
	}
	if n := slow.Count(); n != before {
		t.Errorf("%d refused calls reached the busy upstream", n-before)
	}
	if _, failures := gatewayHealth(t); failures["slow"] != 0 {
		t.Errorf("busy refusals counted as %d upstream failures in /health", failures["slow"])
	}
	if m := busyAttempts.FindStringSubmatch(httpGet(t, "http://localhost:2999/metrics")); m == nil {
		t.Error("busy attempts are not counted")
	} else if n, _ := strconv.Atoi(m[1]); n < 2 {
		t.Errorf("%d busy attempts counted, want at least 2", n)
	}

	// The held streams end: one finishes, one is left by its client.
	select {
	case slow.release <- struct{}{}:
	case <-time.After(10 * time.Second):
		t.Fatal("no stream is held at the upstream")
	}
	leave1()
	leave2()

	// Every other way for an answer to end, many times over.
	for i := range 40 {
		switch i % 5 {
		case 0:
			_, leave := openStream(t, client, "only") // the client leaves mid-stream
			leave()
		case 1:
			resp, leave := openStream(t, client, "cut")
			_, _ = io.Copy(io.Discard, resp.Body)
			leave()
		case 2:
			resp, leave := openStream(t, client, "broken")
			_, _ = io.Copy(io.Discard, resp.Body)
			leave()
		case 3: // the client leaves before the first chunk
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gatewayURL+"/v1/chat/completions",
				strings.NewReader(`{"model":"silent","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
			done := make(chan struct{})
			go func() {
				defer close(done)
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
		waiting:
			for {
				select {
				case model := <-slow.arrived:
					if model == "silent" {
						break waiting
					}
				case <-done:
					t.Fatal("the stream ended before it reached the upstream")
				}
			}
			cancel()
			<-done
		case 4:
			if got := chat(t, client, gatewayURL, "only", nil); got.status != http.StatusOK {
				t.Fatalf("a whole answer: %d %s", got.status, got.body)
			}
		}
		awaitIdle(t)
	}

	// All slots are free again, and there are still only two.
	_, leave1 = openStream(t, client, "only")
	defer leave1()
	resp, leave2 := openStream(t, client, "only")
	defer leave2()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a slot leaked: the second stream got %d", resp.StatusCode)
	}
	if got := chat(t, client, gatewayURL, "only", nil); got.status != http.StatusServiceUnavailable {
		t.Errorf("a third call at once: %d, want 503", got.status)
	}
}
