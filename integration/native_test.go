package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingUpstream speaks OpenAI's chat format, answers with the prompt,
// and records the most requests it had in flight at once. The first
// requests wait until hold of them run together, so a batch that reaches
// its concurrency is seen doing so.
func countingUpstream(t *testing.T, hold int32) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var cur, peak atomic.Int32
	full := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if n >= hold {
			once.Do(func() { close(full) })
		}
		select {
		case <-full:
		case <-time.After(5 * time.Second):
		}
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		text := req.Messages[len(req.Messages)-1].Content
		if text == "fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}`)
			return
		}
		content, _ := json.Marshal(text)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":`+
			string(content)+`},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &peak
}

func do(t *testing.T, method, path, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	return doURL(t, method, gatewayURL+path, body, header)
}

// doURL is do for a gateway at another address.
func doURL(t *testing.T, method, url, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := freshHTTP().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

var auth = map[string]string{"Authorization": "Bearer " + clientKey}

func TestNativeAPIThroughCaddy(t *testing.T) {
	up := fakeOpenAI(t)
	startGateway(t, openAIBlock(up.URL))
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		want                     []string
	}{
		{"generate", "POST", "/api/v1/generate", `{"prompt":"Say hello","model":"fast","max_tokens":16,"temperature":0.7,"stream":false}`, auth, 200,
			[]string{`"text":"Hello from upstream."`, `"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}`, `"latency":`}},
		{"generate stream", "POST", "/api/v1/generate/stream", `{"prompt":"Say hello","model":"fast"}`, auth, 200,
			[]string{`data: {"token":"Hello ","finished":false}`, `data: {"token":"upstream.","finished":false}`, `"finished":true`, `"total_tokens":12`}},
		{"generate, Accept event-stream", "POST", "/api/v1/generate", `{"prompt":"Say hello","model":"fast"}`,
			map[string]string{"Authorization": "Bearer " + clientKey, "Accept": "text/event-stream"}, 200, []string{`"finished":true`}},
		{"chat", "POST", "/api/chat", `{"model":"fast","messages":[{"role":"user","content":"hi"}],"temperature":0.7}`, auth, 200,
			[]string{"data: {\"content\":\"Hello \"}\n\ndata: {\"content\":\"from \"}\n\ndata: {\"content\":\"upstream.\"}\n\ndata: [DONE]\n\n"}},
		{"no key", "POST", "/api/v1/generate", `{"prompt":"x","model":"fast"}`, nil, 401, []string{`{"error":{"code":"UNAUTHORIZED"`}},
		{"unknown model", "POST", "/api/v1/generate/stream", `{"prompt":"x","model":"gpt-9"}`, auth, 404, []string{`"code":"MODEL_NOT_FOUND"`}},
		{"no prompt", "POST", "/api/v1/generate", `{"model":"fast"}`, auth, 400, []string{`"code":"INVALID_REQUEST"`}},
		{"chat, bad body", "POST", "/api/chat", `[1]`, auth, 400, []string{`"code":"INVALID_REQUEST"`}},
		{"wrong method", "GET", "/api/v1/batch/generate", ``, auth, 405, []string{`"code":"METHOD_NOT_ALLOWED"`}},
		{"models", "GET", "/api/v1/models", ``, auth, 200,
			[]string{`{"models":[{"name":"fast","format":null,"size":null,"loaded":true,"memory_usage":null`, `"provider":"up"`}},
		{"models, no key", "GET", "/api/v1/models", ``, nil, 401, []string{`"UNAUTHORIZED"`}},
		{"load on a remote provider", "POST", "/api/v1/models/fast/load", `{"quantization":"q4_0","prefer_gpu":false}`, auth, 501, []string{`"code":"NOT_IMPLEMENTED"`}},
		{"load, unknown model", "POST", "/api/v1/models/nope/load", `{}`, auth, 404, []string{`"code":"MODEL_NOT_FOUND"`}},
		{"health, open", "GET", "/health", ``, nil, 200, []string{`"status":"healthy"`, `"version":"devel"`, `"uptime_seconds":`, `"active_requests":`, `"memory_usage":"`, `{"name":"up","status":"up"`}},
		{"info, open", "GET", "/", ``, nil, 200, []string{`"service":"llm_gateway"`, `{"method":"POST","path":"/api/v1/batch/generate"`, `"usage":[`}},
		{"openapi, open", "GET", "/openapi.json", ``, nil, 200, []string{`"openapi": "3.1.0"`, `"/api/v1/models/{name}/load"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, tc.method, tc.path, tc.body, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %s:\n%s", want, body)
				}
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}

func TestRequestIDThroughCaddy(t *testing.T) {
	startGateway(t, "\t\tprovider mock")
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	resp, _ := do(t, "POST", "/v1/chat/completions", body, map[string]string{"X-Request-Id": "trace-7"})
	if got := resp.Header.Get("X-Request-Id"); got != "trace-7" {
		t.Errorf("the client's id is not echoed: %q", got)
	}
	resp, _ = do(t, "POST", "/v1/chat/completions", body, map[string]string{"X-Request-Id": strings.Repeat("x", 200)})
	if got := resp.Header.Get("X-Request-Id"); len(got) != 36 {
		t.Errorf("an unusable id should be replaced by Caddy's UUID, got %q", got)
	}
}

func TestBatchThroughCaddy(t *testing.T) {
	const conc, items = 5, 20
	up, peak := countingUpstream(t, conc)
	startGateway(t, `		provider up openai {
			base_url `+up.URL+`/v1
		}
		model fast up
		batch_concurrency `+strconv.Itoa(conc)+`
		batch_max 20`)
	var reqs []string
	for i := range items {
		prompt := "prompt " + strconv.Itoa(i)
		if i == 13 {
			prompt = "fail"
		}
		reqs = append(reqs, `{"prompt":"`+prompt+`","max_tokens":8}`)
	}
	reqs[4] = `{"prompt":"x","model":"nope"}`
	resp, body := do(t, "POST", "/api/v1/batch/generate", `{"model":"fast","requests":[`+strings.Join(reqs, ",")+`]}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var out struct {
		Results []struct {
			Text  string `json:"text"`
			Error *struct {
				Code string `json:"code"`
			} `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Results) != items {
		t.Fatalf("%v: %s", err, body)
	}
	for i, r := range out.Results {
		switch i {
		case 4:
			if r.Error == nil || r.Error.Code != "MODEL_NOT_FOUND" {
				t.Errorf("item 4 = %+v", r)
			}
		case 13:
			if r.Error == nil || r.Error.Code != "SERVICE_UNAVAILABLE" {
				t.Errorf("item 13 = %+v", r)
			}
		default:
			if r.Text != "prompt "+strconv.Itoa(i) {
				t.Errorf("item %d = %+v: out of order", i, r)
			}
		}
	}
	if p := peak.Load(); p != conc {
		t.Errorf("peak concurrency at the upstream = %d, want %d", p, conc)
	}

	resp, body = do(t, "POST", "/api/v1/batch/generate", `{"model":"fast","requests":[`+strings.Join(append(reqs, reqs[0]), ",")+`]}`, nil)
	if resp.StatusCode != 400 || !strings.Contains(body, "at most 20 requests") {
		t.Errorf("a batch over batch_max: %d %s", resp.StatusCode, body)
	}
}

// TestEveryMetricSeries makes one request of each kind and checks that
// /metrics shows every series design.md lists.
func TestEveryMetricSeries(t *testing.T) {
	up := fakeOpenAI(t)
	startGateway(t, openAIBlock(up.URL)+`
		provider down openai {
			base_url http://127.0.0.1:1/v1
		}
		model broken down
		fail_threshold 1
		rate_limit 20 1h
		token_limit 1000 1h
		token_reserve 16`)
	chat := `{"model":"fast","messages":[{"role":"user","content":"hi"}]}`
	requests := []struct{ path, body string }{
		{"/v1/chat/completions", chat},
		{"/v1/chat/completions", `{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/completions", `{"model":"echo","prompt":"Say this"}`},
		{"/v1/embeddings", `{"model":"echo","input":"a"}`},
		{"/api/v1/generate", `{"prompt":"hi","model":"fast"}`},
		{"/api/v1/generate/stream", `{"prompt":"hi","model":"fast"}`},
		{"/api/v1/batch/generate", `{"model":"echo","requests":[{"prompt":"a"},{"prompt":"b"}]}`},
		{"/api/chat", chat},
		{"/v1/chat/completions", `{"model":"broken","messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/chat/completions", `{"model":"broken","messages":[{"role":"user","content":"hi"}]}`},                 // its circuit is open: skipped, then an early trial
		{"/v1/chat/completions", `{"model":"fast","max_tokens":5000,"messages":[{"role":"user","content":"hi"}]}`}, // 400: can never fit
	}
	for _, r := range requests {
		do(t, "POST", r.path, r.body, auth)
	}
	// The token limit refuses a request that fits the limit but not what
	// is left of it (the requests above used well under 50 tokens); then
	// the request limit runs out.
	do(t, "POST", "/v1/chat/completions", `{"model":"fast","max_tokens":950,"messages":[{"role":"user","content":"hi"}]}`, auth)
	for range 10 {
		do(t, "POST", "/v1/chat/completions", chat, auth)
	}

	body := httpGet(t, "http://localhost:2999/metrics")
	for _, want := range []string{
		`llm_gateway_requests_total{model="fast",provider="up",status="200"}`,
		`llm_gateway_requests_total{model="broken",provider="down",status="502"}`,
		`llm_gateway_request_duration_seconds_bucket{model="fast",provider="up",le="0.01"}`,
		`llm_gateway_request_duration_seconds_bucket{model="fast",provider="up",le="300"}`,
		`llm_gateway_time_to_first_token_seconds_bucket{model="fast",provider="up",le="0.01"}`,
		`llm_gateway_time_to_first_token_seconds_count{model="echo",provider="echo"}`,
		`llm_gateway_tokens_total{kind="prompt",model="fast",provider="up"}`,
		`llm_gateway_tokens_total{kind="completion",model="fast",provider="up"}`,
		`llm_gateway_active_requests 0`,
		`llm_gateway_rate_limited_total{limit="requests"}`,
		`llm_gateway_rate_limited_total{limit="tokens"}`,
		`llm_gateway_upstream_attempts_total{outcome="success",provider="up"}`,
		`llm_gateway_upstream_attempts_total{outcome="error",provider="down"}`,
		`llm_gateway_upstream_skipped_total{provider="down"}`,
		`llm_gateway_provider_up{provider="up"} 1`,
		`llm_gateway_provider_up{provider="down"} 0`,
		`llm_gateway_target_up{model="broken",provider="down"} 0`,
		`llm_gateway_target_up{model="gpt-4o-mini",provider="up"} 1`,
		`llm_gateway_overhead_seconds_bucket`,
		`llm_gateway_overhead_seconds_count`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
