package handler

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
)

type errorEnvelope struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func decodeError(t *testing.T, body string) errorEnvelope {
	t.Helper()
	if err := openaischema.Validate(openaischema.Error, []byte(body)); err != nil {
		t.Fatalf("error body %s does not match OpenAI's schema: %v", body, err)
	}
	var e errorEnvelope
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestGatewayErrors(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(chatCompletion)) })
	p := openAIProvider(t, "oai", up.URL)
	gw := gateway(t, Config{MaxBody: 64, Routes: []Route{route("gpt4", Target{Provider: p})}})
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"invalid json", "POST", "/v1/chat/completions", `{"model":`, 400, "invalid_request_body"},
		{"not an object", "POST", "/v1/chat/completions", `[1,2]`, 400, "invalid_request_body"},
		{"model not a string", "POST", "/v1/chat/completions", `{"model":4}`, 400, "invalid_type"},
		{"no model", "POST", "/v1/chat/completions", `{"messages":[]}`, 400, ""},
		{"unknown model", "POST", "/v1/chat/completions", `{"model":"gpt-5"}`, 404, "model_not_found"},
		{"too large", "POST", "/v1/chat/completions", `{"model":"gpt4","messages":[{"role":"user","content":"` + strings.Repeat("x", 100) + `"}]}`, 413, "request_too_large"},
		{"wrong method", "GET", "/v1/chat/completions", ``, 405, "method_not_allowed"},
		{"unknown model id", "GET", "/v1/models/nope", ``, 404, "model_not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, gw.URL+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := readAll(t, resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			e := decodeError(t, body)
			if (tc.code == "") != (e.Error.Code == nil) || (e.Error.Code != nil && *e.Error.Code != tc.code) {
				t.Errorf("code = %v, want %q (empty for null)", e.Error.Code, tc.code)
			}
		})
	}
	select {
	case r := <-up.requests:
		t.Errorf("a bad request reached the upstream: %s", r.body)
	default:
	}
}

func TestPathsTheGatewayDoesNotOwnGoToTheNextHandler(t *testing.T) {
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", "http://127.0.0.1:1")})}})
	for _, path := range []string{"/", "/index.html", "/v2/chat/completions", "/chat"} {
		resp := post(t, gw.URL+path, `{}`)
		if resp.StatusCode != http.StatusTeapot {
			t.Errorf("%s: status %d, want the next handler's", path, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodOptions, gw.URL+"/v1/chat/completion", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusTeapot {
		t.Errorf("a CORS preflight of an unknown API path did not go to the next handler: %v", err)
	}
}

// An API path the gateway does not serve is a 404 in its namespace's
// error shape, never the site's empty 200.
func TestUnknownAPIPathsAre404(t *testing.T) {
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", "http://127.0.0.1:1")})}})
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/v1/chat/completion", `{"error":{"message":"Invalid URL (POST /v1/chat/completion)","type":"invalid_request_error","param":null,"code":null}}`},
		{"GET", "/v1/model", `"message":"Invalid URL (GET /v1/model)"`},
		{"POST", "/chat/completions", `the API is under /v1`},
		{"POST", "/api/v1/generat", `{"error":{"code":"NOT_FOUND","message":"Invalid URL (POST /api/v1/generat)"`},
	} {
		req, _ := http.NewRequest(tc.method, gw.URL+tc.path, strings.NewReader(`{}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp.Body)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, body)
		}
	}
}

func TestUpstreamErrorsKeepStatusInOpenAIShape(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantStatus int
		wantType   string
		wantCode   string
		retryAfter string
	}{
		{"openai context length", 400, nil,
			`{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
			400, "invalid_request_error", "context_length_exceeded", ""},
		{"azure apim 429 with string code", 429, map[string]string{"Retry-After": "6"},
			`{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded token rate limit."}}`,
			429, "rate_limit_error", "429", "6"},
		{"azure content filter with null type", 400, nil,
			`{"error":{"message":"The response was filtered","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}`,
			400, "invalid_request_error", "content_filter", ""},
		{"vllm flat integer code", 400, nil,
			`{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}`,
			400, "BadRequestError", "400", ""},
		{"overloaded 529", 529, nil,
			`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			503, "overloaded_error", "overloaded", "1"},
		{"html 401", 401, nil, `<html>nope</html>`, 401, "authentication_error", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})
			resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
			body := readAll(t, resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			e := decodeError(t, body)
			if e.Error.Type != tc.wantType || (tc.wantCode != "" && (e.Error.Code == nil || *e.Error.Code != tc.wantCode)) {
				t.Errorf("error = %s", body)
			}
			if got := resp.Header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
			if strings.Contains(body, "sk-upstream-secret") || strings.Contains(body, up.URL) {
				t.Errorf("error leaks the key or upstream URL: %s", body)
			}
		})
	}
}

func TestFallbackToNextTargetBeforeAnyByte(t *testing.T) {
	failing := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}`))
	})
	working := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "event-stream") {
			writeSSE(w, roleChunk, finishChunk, doneEventLine)
			return
		}
		_, _ = w.Write([]byte(chatCompletion))
	})
	gw := gateway(t, Config{Routes: []Route{route("smart",
		Target{Provider: openAIProvider(t, "primary", failing.URL), Model: "big"},
		Target{Provider: openAIProvider(t, "backup", working.URL), Model: "small"})}})

	for _, body := range []string{`{"model":"smart","messages":[]}`, `{"model":"smart","stream":true,"messages":[]}`} {
		resp := post(t, gw.URL+"/v1/chat/completions", body)
		got := readAll(t, resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(got, "chatcmpl-") {
			t.Fatalf("status %d: %s", resp.StatusCode, got)
		}
		if m := failing.last(t); !strings.Contains(string(m.body), `"model":"big"`) {
			t.Errorf("first target got %s", m.body)
		}
		if m := working.last(t); !strings.Contains(string(m.body), `"model":"small"`) {
			t.Errorf("second target got %s", m.body)
		}
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	bad := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"message":"bad param","type":"invalid_request_error","param":"temperature","code":null}}`))
	})
	second := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(chatCompletion)) })
	gw := gateway(t, Config{Routes: []Route{route(Wildcard,
		Target{Provider: openAIProvider(t, "a", bad.URL)}, Target{Provider: openAIProvider(t, "b", second.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[],"temperature":9}`)
	body := readAll(t, resp.Body)
	if resp.StatusCode != 400 || decodeError(t, body).Error.Param == nil {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	select {
	case <-second.requests:
		t.Error("a 400 was retried on the next target")
	default:
	}
}

func TestUnreachableUpstreamIs502WithoutURL(t *testing.T) {
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "down", "http://127.0.0.1:1")})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
	body := readAll(t, resp.Body)
	if resp.StatusCode != http.StatusBadGateway || strings.Contains(body, "127.0.0.1") {
		t.Errorf("status %d body %s", resp.StatusCode, body)
	}
	decodeError(t, body)
}

func TestErrorAsFirstStreamEventKeepsItsStatus(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, `data: {"error":{"message":"This model's maximum context length is 4096 tokens.","type":"BadRequestError","param":null,"code":400}}`)
	})
	second := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { writeSSE(w, roleChunk, finishChunk, doneEventLine) })
	gw := gateway(t, Config{Routes: []Route{route(Wildcard,
		Target{Provider: openAIProvider(t, "vllm", up.URL)}, Target{Provider: openAIProvider(t, "b", second.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	body := readAll(t, resp.Body)
	if resp.StatusCode != http.StatusBadRequest || decodeError(t, body).Error.Code == nil {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	select {
	case <-second.requests:
		t.Error("a client error in the first event was retried elsewhere")
	default:
	}
}

func TestUpstreamAuthFailureDoesNotBlameOrQuoteKeys(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"message":"Incorrect API key provided: sk-ups***cret.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`))
	})
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
	body := readAll(t, resp.Body)
	e := decodeError(t, body)
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "sk-ups") || !strings.Contains(e.Error.Message, "gateway's credentials") {
		t.Errorf("status %d body %s", resp.StatusCode, body)
	}
}
