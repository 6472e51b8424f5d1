package native

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

func TestNativeGenerate(t *testing.T) {
	up := echoUpstream(t, nil)
	base := nativeGateway(t, up, handler.Config{}, &Door{})
	cases := []struct {
		name, path, body string
		header           map[string]string
		status           int
		want             []string // substrings of the body
	}{
		{"answer", "/api/v1/generate", `{"prompt":"hello there","model":"fast","max_tokens":5,"temperature":0.2}`, nil, 200,
			[]string{`"text":"hello there"`, `"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}`, `"latency":`, `"model":"fast"`}},
		{"stream endpoint", "/api/v1/generate/stream", `{"prompt":"one two","model":"fast"}`, nil, 200,
			[]string{`data: {"token":"one ","finished":false}`, `data: {"token":"two","finished":false}`, `"finished":true,"finish_reason":"stop","usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}`}},
		{"accept header", "/api/v1/generate", `{"prompt":"one","model":"fast"}`, map[string]string{"Accept": "text/event-stream"}, 200,
			[]string{`data: {"token":"one","finished":false}`, `"finished":true`}},
		{"no prompt", "/api/v1/generate", `{"model":"fast"}`, nil, 400, []string{`"code":"INVALID_REQUEST"`, `"details":"param: prompt"`}},
		{"bad json", "/api/v1/generate", `{"prompt":`, nil, 400, []string{`"code":"INVALID_REQUEST"`}},
		{"unknown model", "/api/v1/generate", `{"prompt":"x","model":"nope"}`, nil, 404, []string{`"code":"MODEL_NOT_FOUND"`, "`nope`"}},
		{"upstream lacks model", "/api/v1/generate", `{"prompt":"missing","model":"fast"}`, nil, 404, []string{`"code":"MODEL_NOT_LOADED"`}},
		{"upstream fails", "/api/v1/generate", `{"prompt":"fail","model":"fast"}`, nil, 500, []string{`"code":"UPSTREAM_ERROR"`, `"message":"boom"`}},
		{"stream, upstream fails first", "/api/v1/generate/stream", `{"prompt":"fail","model":"fast"}`, nil, 500, []string{`"code":"UPSTREAM_ERROR"`}},
		{"simple chat", "/api/chat", `{"model":"fast","messages":[{"role":"user","content":"hi you"}],"temperature":0.7}`, nil, 200,
			[]string{"data: {\"content\":\"hi \"}\n\ndata: {\"content\":\"you\"}\n\ndata: [DONE]\n\n"}},
		{"simple chat error", "/api/chat", `{"model":"nope","messages":[]}`, nil, 404, []string{`"code":"MODEL_NOT_FOUND"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := postWith(t, base+tc.path, tc.body, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %s:\n%s", want, body)
				}
			}
			if resp.StatusCode >= 400 {
				var e nativeError
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
					t.Errorf("error not in the native shape: %s", body)
				}
			}
			if resp.Header.Get("X-Llm-Gateway-Overhead-Ms") == "" {
				t.Error("no overhead header")
			}
		})
	}
}

func TestNativeMethodNotAllowed(t *testing.T) {
	base := nativeGateway(t, echoUpstream(t, nil), handler.Config{}, &Door{})
	resp, err := http.Get(base + "/api/v1/generate")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" || !strings.Contains(body, `"code":"METHOD_NOT_ALLOWED"`) {
		t.Errorf("%d %q %s", resp.StatusCode, resp.Header.Get("Allow"), body)
	}
	// Other methods on `/` belong to the site's next handler.
	resp, _ = postWith(t, base+"/", "{}", nil)
	if resp.StatusCode != http.StatusTeapot {
		t.Errorf("POST / = %d, want the next handler", resp.StatusCode)
	}
	// So does a browser asking for the home page: a site's index.html
	// must not be hidden by the gateway's info.
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	for accept, want := range map[string]int{"text/html,application/xhtml+xml,*/*;q=0.8": http.StatusTeapot, "": http.StatusOK} {
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET / with Accept %q: %d, want %d", accept, resp.StatusCode, want)
		}
	}
}

func TestBatchRunsBoundedAndInOrder(t *testing.T) {
	const conc, items = 3, 20
	var cur, peak atomic.Int32
	full := make(chan struct{})
	var once sync.Once
	up := echoUpstream(t, func() {
		n := cur.Add(1)
		defer cur.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if n == conc {
			once.Do(func() { close(full) })
		}
		// Hold the first requests until conc run at once: that proves
		// the batch reaches its concurrency, and the peak proves it
		// never goes beyond.
		select {
		case <-full:
		case <-time.After(5 * time.Second):
		}
	})
	base := nativeGateway(t, up, handler.Config{}, &Door{BatchConcurrency: conc})
	var reqs []string
	for i := range items {
		prompt := "prompt-" + string(rune('a'+i))
		switch i {
		case 5:
			prompt = ""
		case 7:
			prompt = "fail"
		}
		reqs = append(reqs, `{"prompt":`+jsonString(prompt)+`,"max_tokens":10}`)
	}
	reqs[9] = `{"prompt":"x","model":"nope"}`
	resp, body := postWith(t, base+"/api/v1/batch/generate", `{"model":"fast","requests":[`+strings.Join(reqs, ",")+`]}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var out struct {
		Results []struct {
			Text  string           `json:"text"`
			Error *json.RawMessage `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Results) != items {
		t.Fatalf("results: %v %s", err, body)
	}
	for i, r := range out.Results {
		switch i {
		case 5, 7, 9:
			want := map[int]string{5: "INVALID_REQUEST", 7: "UPSTREAM_ERROR", 9: "MODEL_NOT_FOUND"}[i]
			if r.Error == nil || !strings.Contains(string(*r.Error), want) {
				t.Errorf("item %d = %+v, want error %s", i, r, want)
			}
		default:
			if r.Text != "prompt-"+string(rune('a'+i)) {
				t.Errorf("item %d text %q: out of order", i, r.Text)
			}
		}
	}
	if p := peak.Load(); p != conc {
		t.Errorf("peak concurrency at the upstream = %d, want %d", p, conc)
	}
}

func TestBatchLimits(t *testing.T) {
	base := nativeGateway(t, echoUpstream(t, nil), handler.Config{}, &Door{BatchMax: 2})
	cases := []struct{ name, body, want string }{
		{"too many", `{"requests":[{"prompt":"a"},{"prompt":"b"},{"prompt":"c"}]}`, "at most 2 requests; this one has 3"},
		{"empty", `{"requests":[]}`, "non-empty array"},
		{"not json", `[`, "not a valid batch request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := postWith(t, base+"/api/v1/batch/generate", tc.body, nil)
			if resp.StatusCode != 400 || !strings.Contains(body, `"code":"INVALID_REQUEST"`) || !strings.Contains(body, tc.want) {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestBatchItemsCountAgainstLimits(t *testing.T) {
	base := nativeGateway(t, echoUpstream(t, nil), handler.Config{
		Limits: handler.Limits{Requests: handler.NewLimit(2, time.Hour), Counter: memoryCounter()},
	}, &Door{})
	_, body := postWith(t, base+"/api/v1/batch/generate", `{"model":"fast","requests":[{"prompt":"a"},{"prompt":"b"},{"prompt":"c"}]}`, nil)
	if strings.Count(body, `"RATE_LIMITED"`) != 1 || strings.Count(body, `"text"`) != 2 {
		t.Errorf("a limit of 2 requests should refuse one of 3 items: %s", body)
	}
}

// localProvider is a provider that runs models itself, as Ollama does.
type localProvider struct {
	providers.Provider
	loaded []string
	mu     sync.Mutex
}

func (l *localProvider) Tags(context.Context, string) ([]providers.LocalModel, error) {
	return []providers.LocalModel{
		{Name: "qwen2.5:7b-instruct", Size: 4_700_000_000, Format: "gguf", QuantizationLevel: "Q4_K_M", ParameterSize: "7.6B"},
		{Name: "llama3.2:latest", Size: 2_000_000_000, Format: "gguf"},
	}, nil
}

func (l *localProvider) Running(context.Context, string) ([]providers.RunningModel, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []providers.RunningModel
	for _, m := range l.loaded {
		out = append(out, providers.RunningModel{Name: m, Size: 5_100_000_000, SizeVRAM: 5_100_000_000})
	}
	return out, nil
}

func (l *localProvider) Preload(_ context.Context, model, _ string) error {
	if !strings.HasPrefix(model, "qwen2.5:") {
		return providers.NewError(http.StatusNotFound, "model_not_found", "model '"+model+"' not found")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loaded = append(l.loaded, model)
	return nil
}

func TestModelManagement(t *testing.T) {
	up := echoUpstream(t, nil)
	local := &localProvider{Provider: openAIProvider(t, "local", up.URL), loaded: []string{"llama3.2:latest"}}
	base := gateway(t, handler.Config{Routes: []handler.Route{
		route("qwen", handler.Target{Provider: local, Model: "qwen2.5:7b-instruct"}),
		route("gpt", handler.Target{Provider: openAIProvider(t, "remote", up.URL)}),
		route(handler.Wildcard, handler.Target{Provider: local}),
	}}, &Door{})

	resp, err := http.Get(base + "/api/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Models []nativeModel }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	names := []string{}
	for _, m := range list.Models {
		names = append(names, m.Name)
	}
	if !slices.Equal(names, []string{"qwen", "gpt", "qwen2.5:7b-instruct", "llama3.2:latest"}) {
		t.Fatalf("models = %v", names)
	}
	qwen, gpt, llama := list.Models[0], list.Models[1], list.Models[3]
	if qwen.Loaded || *qwen.Size != "4.7GB" || *qwen.Format != "gguf" || qwen.MemoryUsage != nil || !qwen.Local {
		t.Errorf("qwen = %+v", qwen)
	}
	if !gpt.Loaded || gpt.Size != nil || gpt.Local {
		t.Errorf("remote model = %+v", gpt)
	}
	if !llama.Loaded || *llama.MemoryUsage != "5.1GB" {
		t.Errorf("llama = %+v", llama)
	}

	cases := []struct {
		name, model, body string
		status            int
		want              string
	}{
		{"load", "qwen", `{"prefer_gpu":true}`, 200, `"model":"qwen2.5:7b-instruct","provider":"local","loaded":true`},
		{"quantized", "qwen", `{"quantization":"q4_0"}`, 200, `"model":"qwen2.5:7b-instruct-q4_0"`},
		{"bad quantization", "qwen", `{"quantization":"q4 0"}`, 400, `"INVALID_REQUEST"`},
		{"not installed", "mistral:7b", `{}`, 404, `"MODEL_NOT_FOUND"`},
		{"remote provider", "gpt", ``, 501, `"NOT_IMPLEMENTED"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := postWith(t, base+"/api/v1/models/"+tc.model+"/load", tc.body, nil)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestWithQuantization(t *testing.T) {
	cases := []struct{ model, q, want, err string }{
		{"qwen2.5:7b-instruct", "", "qwen2.5:7b-instruct", ""},
		{"qwen2.5:7b-instruct", "q4_0", "qwen2.5:7b-instruct-q4_0", ""},
		{"qwen2.5:7b-instruct-q4_0", "q4_0", "qwen2.5:7b-instruct-q4_0", ""},
		{"qwen2.5:7b-instruct-q8_0", "q4_0", "", "already quantized as q8_0"},
		{"hf.co/org/model:Q4_K_M", "q4_k_m", "hf.co/org/model:Q4_K_M", ""},
		{"qwen2.5", "q4_0", "", "has no tag"},
		{"hf.co/org/model", "q4_0", "", "has no tag"},
		{"qwen2.5:7b", "q4_0;rm", "", "tag suffix"},
	}
	for _, tc := range cases {
		got, err := withQuantization(tc.model, tc.q)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Message, tc.err)) {
			t.Errorf("withQuantization(%q, %q) = %q, %v", tc.model, tc.q, got, err)
		}
	}
}
