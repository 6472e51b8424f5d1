package integration

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/faultupstream"
)

// scriptedUpstream is an OpenAI-speaking fake whose nth request (from 1)
// is answered by serve; it records when each request arrived.
type scriptedUpstream struct {
	*httptest.Server
	mu    sync.Mutex
	times []time.Time
}

func newScripted(t *testing.T, serve func(n int, w http.ResponseWriter, r *http.Request)) *scriptedUpstream {
	t.Helper()
	u := &scriptedUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		u.mu.Lock()
		u.times = append(u.times, time.Now())
		n := len(u.times)
		u.mu.Unlock()
		serve(n, w, r)
	}))
	t.Cleanup(u.Server.Close)
	return u
}

func (u *scriptedUpstream) arrivals() []time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]time.Time(nil), u.times...)
}

const (
	okCompletion = `{"id":"chatcmpl-1","object":"chat.completion","created":1735689600,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
	roleEvent    = `data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1735689600,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`
	wordEvent    = `data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1735689600,"model":"m","choices":[{"index":0,"delta":{"content":"hello"},"logprobs":null,"finish_reason":null}]}`
	finishEvent  = `data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1735689600,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`
)

func serveOK(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Accept"), "event-stream") {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, okCompletion)
		return
	}
	sse(w, roleEvent, wordEvent, finishEvent, "data: [DONE]")
}

func sse(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		_, _ = io.WriteString(w, e+"\n\n")
	}
	w.(http.Flusher).Flush()
}

func serveStatus(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"error":{"message":"scripted failure","type":"server_error","param":null,"code":null}}`)
}

// retryBlock is a gateway with a route over the given upstreams.
func retryBlock(options string, upstreams ...*scriptedUpstream) string {
	return routeBlock("", options, upstreams...)
}

func chatPost(t *testing.T, body string) (int, string) {
	t.Helper()
	c := freshHTTP()
	defer c.CloseIdleConnections()
	resp, err := c.Post(gatewayURL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// attemptCount reads llm_gateway_upstream_attempts_total for provider and
// outcome from Caddy's metrics endpoint.
func attemptCount(t *testing.T, provider, outcome string) float64 {
	t.Helper()
	return metricValue(t, `llm_gateway_upstream_attempts_total{outcome="`+outcome+`",provider="`+provider+`"}`)
}

// TestFlakyFirstTargetNeverFailsAClient sends 1000 requests, 16 at a time,
// to two targets, the first of which answers 500 to about 30% of them:
// every client gets its answer, and the attempt metrics count exactly the
// failures and successes the upstreams served.
func TestFlakyFirstTargetNeverFailsAClient(t *testing.T) {
	flaky := faultupstream.New(faultupstream.Options{Plan: faultupstream.Random(6, 0.3, faultupstream.Fault{Status: http.StatusInternalServerError})})
	t.Cleanup(flaky.Close)
	steady := faultupstream.New(faultupstream.Options{})
	t.Cleanup(steady.Close)
	startGateway(t, routeBlockAt("", "", flaky.URL, steady.URL))
	baseline := goroutineBaseline(t)
	failed0, flakyOK0, steadyOK0 := attemptCount(t, "up1", "500"), attemptCount(t, "up1", "success"), attemptCount(t, "up2", "success")

	const requests, concurrency = 1000, 16
	client := freshHTTP()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < requests; i = next.Add(1) - 1 {
				body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
				if i%2 == 1 {
					body = `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
				}
				resp, err := client.Post(gatewayURL+"/v1/chat/completions", "application/json", strings.NewReader(body))
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				complete := bytes.HasSuffix(got, []byte("data: [DONE]\n\n")) || i%2 == 0
				if err != nil || resp.StatusCode != 200 || !bytes.Contains(got, []byte("chatcmpl-fault-")) || !complete {
					t.Errorf("request %d: status %d, %v: %s", i, resp.StatusCode, err, got)
					return
				}
			}
		})
	}
	wg.Wait()

	fc, sc := flaky.Counts(), steady.Counts()
	if fc.Status[200]+sc.Status[200] != requests || fc.Status[500] == 0 || sc.Requests != sc.Status[200] {
		t.Errorf("upstream answers: flaky %v, steady %v; want %d successes in all and some 500s", fc.Status, sc.Status, requests)
	}
	t.Logf("the first target failed %d of its %d requests; each was retried", fc.Status[500], fc.Requests)
	for _, c := range []struct {
		provider, outcome string
		before            float64
		want              int
	}{
		{"up1", "500", failed0, fc.Status[500]},
		{"up1", "success", flakyOK0, fc.Status[200]},
		{"up2", "success", steadyOK0, sc.Status[200]},
	} {
		if d := attemptCount(t, c.provider, c.outcome) - c.before; d != float64(c.want) {
			t.Errorf("attempts_total{%s,%s} grew by %v, want %d", c.provider, c.outcome, d, c.want)
		}
	}
	checkNoLeaks(t, baseline, []*http.Client{client}, flaky.Server, steady.Server)
}

func TestSingleTargetRetriedOnceThroughCaddy(t *testing.T) {
	up := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			serveStatus(w, http.StatusServiceUnavailable)
			return
		}
		serveOK(w, r)
	})
	startGateway(t, retryBlock("", up))
	if status, body := chatPost(t, `{"model":"m","messages":[]}`); status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if n := len(up.arrivals()); n != 2 {
		t.Errorf("%d upstream calls, want 2", n)
	}
}

func TestClientErrorIsNeverRetriedThroughCaddy(t *testing.T) {
	bad := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) { serveStatus(w, http.StatusBadRequest) })
	other := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) { serveOK(w, r) })
	startGateway(t, retryBlock("\t\tmax_attempts 5\n", bad, other))
	if status, body := chatPost(t, `{"model":"m","messages":[]}`); status != 400 {
		t.Fatalf("status %d: %s", status, body)
	}
	if len(bad.arrivals()) != 1 || len(other.arrivals()) != 0 {
		t.Errorf("calls: %d and %d, want 1 and 0", len(bad.arrivals()), len(other.arrivals()))
	}
}

func TestRetryAfterHonouredThroughCaddy(t *testing.T) {
	up := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			serveStatus(w, http.StatusTooManyRequests)
			return
		}
		serveOK(w, r)
	})
	startGateway(t, retryBlock("", up))
	if status, body := chatPost(t, `{"model":"m","messages":[]}`); status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	times := up.arrivals()
	if len(times) != 2 {
		t.Fatalf("%d upstream calls, want 2", len(times))
	}
	if gap := times[1].Sub(times[0]); gap < time.Second {
		t.Errorf("the retry came %v after a Retry-After of 1s", gap)
	}
}

// stalled opens a stream after the given events and then sends nothing
// until the request ends or release is closed.
func stalled(t *testing.T, release <-chan struct{}, events ...string) *scriptedUpstream {
	return newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		sse(w, events...)
		select {
		case <-release:
			sse(w, wordEvent, finishEvent, "data: [DONE]")
		case <-r.Context().Done():
		}
	})
}

func TestFirstTokenTimeoutThroughCaddy(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := stalled(t, release)
	fast := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) { serveOK(w, r) })
	startGateway(t, retryBlock("\t\tfirst_token_timeout 100ms\n", slow, fast))
	if status, body := chatPost(t, `{"model":"m","stream":true,"messages":[]}`); status != 200 || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("fallback: status %d: %s", status, body)
	}
	if len(slow.arrivals()) != 1 || len(fast.arrivals()) != 1 {
		t.Errorf("calls: %d and %d", len(slow.arrivals()), len(fast.arrivals()))
	}

	startGateway(t, retryBlock("\t\tfirst_token_timeout 100ms\n", slow))
	status, body := chatPost(t, `{"model":"m","stream":true,"messages":[]}`)
	if status != http.StatusGatewayTimeout || !strings.Contains(body, `"upstream_timeout"`) {
		t.Errorf("status %d: %s", status, body)
	}
	if n := len(slow.arrivals()); n != 3 {
		t.Errorf("the slow target got %d calls in all, want 3", n)
	}
}

func TestStreamIdleTimeoutThroughCaddy(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	up := stalled(t, release, roleEvent)
	startGateway(t, retryBlock("\t\tstream_idle_timeout 100ms\n", up))
	status, body := chatPost(t, `{"model":"m","stream":true,"messages":[]}`)
	if status != 200 || !strings.Contains(body, `"code":"upstream_timeout"`) || strings.Contains(body, "[DONE]") {
		t.Errorf("status %d: %s", status, body)
	}
	if n := len(up.arrivals()); n != 1 {
		t.Errorf("a begun stream was retried: %d calls", n)
	}
}

// keepaliveWatch is a transport that closes seen when a response body
// carries a keepalive comment.
type keepaliveWatch struct {
	seen chan struct{}
	once sync.Once
}

func (k *keepaliveWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := freshHTTP().Transport.RoundTrip(req)
	if err == nil {
		resp.Body = &watchedBody{ReadCloser: resp.Body, watch: k}
	}
	return resp, err
}

type watchedBody struct {
	io.ReadCloser
	watch *keepaliveWatch
	tail  []byte
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.tail = append(b.tail, p[:n]...)
	if bytes.Contains(b.tail, []byte(": keepalive\n\n")) {
		b.watch.once.Do(func() { close(b.watch.seen) })
	}
	if len(b.tail) > 64 {
		b.tail = b.tail[len(b.tail)-64:]
	}
	return n, err
}

func TestKeepaliveKeepsGoOpenAIStreaming(t *testing.T) {
	watch := &keepaliveWatch{seen: make(chan struct{})}
	up := stalled(t, watch.seen)
	startGateway(t, retryBlock("\t\tkeepalive 50ms\n", up))

	cfg := openai.DefaultConfig("unused")
	cfg.BaseURL = gatewayURL + "/v1"
	cfg.HTTPClient = &http.Client{Transport: watch}
	text, _, _, _ := readStream(t, openai.NewClientWithConfig(cfg), openai.ChatCompletionRequest{
		Model: "m", Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "hi"}}})
	if text != "hello" {
		t.Errorf("text %q", text)
	}
	select {
	case <-watch.seen:
	default:
		t.Error("no keepalive reached the client")
	}
}

// TestClientLeavingDuringKeepalivesLeavesNothing: a client goes away while
// the gateway sends keepalives, waiting for a stalled upstream's first
// event. The upstream request is cancelled, and no goroutine of the call
// (the keepalive path runs the call on a goroutine of its own) outlives it.
func TestClientLeavingDuringKeepalivesLeavesNothing(t *testing.T) {
	up := faultupstream.New(faultupstream.Options{Plan: faultupstream.Every(1, faultupstream.Fault{Break: faultupstream.Stall})})
	t.Cleanup(up.Close)
	startGateway(t, routeBlockAt("", "\t\tkeepalive 20ms\n", up.URL))
	baseline := goroutineBaseline(t)
	client := freshHTTP()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", gatewayURL+"/v1/chat/completions",
		strings.NewReader(`{"model":"m","stream":true,"user":"leaver","messages":[]}`))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != ": keepalive\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	cancel()
	resp.Body.Close()

	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	recs, err := up.Settle(wait, "leaver")
	if err != nil || len(recs) != 1 || !recs[0].Cancelled {
		t.Fatalf("upstream requests %v, %v; want one, cancelled", recs, err)
	}
	checkNoLeaks(t, baseline, []*http.Client{client}, up.Server)
}

// `timeout` bounds the wait for an answer to begin, and a non-streamed
// answer whole; a stream that has begun runs past it for as long as its
// upstream keeps sending (stream_idle_timeout bounds each silence).
func TestTimeoutDoesNotCutABegunStreamThroughCaddy(t *testing.T) {
	release := make(chan struct{})
	up := stalled(t, release, roleEvent)
	startGateway(t, retryBlock("\t\ttimeout 200ms\n\t\tstream_idle_timeout 5s\n", up))
	client := freshHTTP()
	defer client.CloseIdleConnections()
	resp, err := client.Post(gatewayURL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","stream":true,"messages":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); err != nil || !strings.Contains(line, "chat.completion.chunk") {
		t.Fatalf("first event: %q %v", line, err)
	}
	// Twice the timeout passes with the stream open, then it goes on.
	<-time.After(400 * time.Millisecond)
	close(release)
	rest, _ := io.ReadAll(rd)
	if !strings.HasSuffix(string(rest), "data: [DONE]\n\n") || strings.Contains(string(rest), "upstream_timeout") {
		t.Errorf("a stream that had begun was cut by timeout: %s", rest)
	}

	slow := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Second):
			serveOK(w, r)
		case <-r.Context().Done():
		}
	})
	startGateway(t, retryBlock("\t\ttimeout 200ms\n", slow))
	if status, body := chatPost(t, `{"model":"m","messages":[]}`); status != http.StatusGatewayTimeout || !strings.Contains(body, "within the gateway's timeout") {
		t.Errorf("an answer that had not begun within the timeout: status %d: %s", status, body)
	}
}
