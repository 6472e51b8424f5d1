package ollama

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestErrorMapping answers with each kind of Ollama error and checks the
// OpenAI error the client gets.
func TestErrorMapping(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantStatus int
		wantType   string
		wantCode   string
		wantParam  string
		retryAfter time.Duration
	}{
		{"model not found", 404, nil, `{"error":"model 'llama9' not found"}`, 404, "invalid_request_error", "model_not_found", "model", 0},
		{"model not found, pull hint", 404, nil, `{"error":"model \"llama9\" not found, try pulling it first"}`, 404, "invalid_request_error", "model_not_found", "model", 0},
		{"unknown path", 404, nil, `404 page not found`, 404, "invalid_request_error", "", "", 0},
		{"bad request", 400, nil, `{"error":"json: cannot unmarshal string into Go struct field ChatRequest.messages of type []api.Message"}`, 400, "invalid_request_error", "", "", 0},
		{"no tool support", 400, nil, `{"error":"registry.ollama.ai/library/gemma:2b does not support tools"}`, 400, "invalid_request_error", "", "", 0},
		{"context overflow 400", 400, nil, `{"error":"input length exceeds maximum context length"}`, 400, "invalid_request_error", "context_length_exceeded", "messages", 0},
		{"context overflow 500", 500, nil, `{"error":"prompt too long; exceeded max context length by 1201 tokens"}`, 400, "invalid_request_error", "context_length_exceeded", "messages", 0},
		{"runner crashed", 500, nil, `{"error":"llama runner process has terminated: signal: killed"}`, 500, "server_error", "", "", 0},
		{"cloud model failed", 502, nil, `{"error":"upstream error"}`, 502, "server_error", "", "", 0},
		{"busy", 503, nil, `{"error":"server busy, please try again.  maximum pending requests exceeded"}`, 503, "server_error", "overloaded", "", 0},
		{"rate limited", 429, map[string]string{"Retry-After": "7"}, `{"error":"you have reached your hourly usage limit"}`, 429, "rate_limit_error", "rate_limit_exceeded", "", 7 * time.Second},
		{"overloaded proxy", 529, nil, `{"error":"overloaded"}`, 503, "server_error", "overloaded", "", 0},
		{"unauthorized proxy", 401, nil, `{"error":"invalid key sk-proxy"}`, 401, "authentication_error", "", "", 0},
		{"forbidden proxy", 403, nil, `<html>forbidden</html>`, 403, "permission_error", "", "", 0},
		{"openai-shaped proxy", 400, nil, `{"error":{"message":"bad","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}`, 400, "invalid_request_error", "invalid_value", "temperature", 0},
	}
	up := newFake(t)
	o := newOllama(t, up.URL, func(o *Ollama) { o.APIKey = "sk-proxy" })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reply := providertest.Ollama.JSON(tc.status, tc.body)
			for k, v := range tc.header {
				reply = reply.With(k, v)
			}
			up.Reply(reply)
			for _, stream := range []bool{false, true} {
				body := `{"model":"llama9","stream":` + map[bool]string{false: "false", true: "true"}[stream] + `,"messages":[{"role":"user","content":"hi"}]}`
				_, err := o.Send(t.Context(), providertest.NewCall(t, providers.Chat, []byte(body), "local"))
				var e *providers.Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v, want a *providers.Error", err)
				}
				if e.Status != tc.wantStatus || e.Type != tc.wantType || e.Code != tc.wantCode || e.Param != tc.wantParam || e.RetryAfter != tc.retryAfter {
					t.Errorf("stream=%v: %d %s code=%q param=%q retry=%v (%s), want %d %s code=%q param=%q retry=%v",
						stream, e.Status, e.Type, e.Code, e.Param, e.RetryAfter, e.Message, tc.wantStatus, tc.wantType, tc.wantCode, tc.wantParam, tc.retryAfter)
				}
				providertest.CheckError(t, e, "sk-proxy", up.URL)
			}
		})
	}
}

// TestErrorInOKBody checks a 200 whose single object is an error.
func TestErrorInOKBody(t *testing.T) {
	up := newFake(t)
	up.Reply(providertest.Ollama.JSON(http.StatusOK, providertest.OllamaError("an error was encountered while running the model")))
	o := newOllama(t, up.URL, nil)
	for _, op := range []providers.Operation{providers.Chat, providers.Completions} {
		_, err := o.Send(t.Context(), providertest.NewCall(t, op, []byte(`{"model":"m","prompt":"p","messages":[{"role":"user","content":"hi"}]}`), "local"))
		var e *providers.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadGateway || e.Type != "server_error" {
			t.Errorf("%s: err = %v, want a 502 server_error", op, err)
		}
	}
}

func TestUnreachable(t *testing.T) {
	up := newFake(t)
	url := up.URL
	up.Close()
	o := newOllama(t, url, nil)
	_, err := o.Send(t.Context(), providertest.NewCall(t, providers.Chat, []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`), "local"))
	var te *providers.TransportError
	if !errors.As(err, &te) {
		t.Errorf("err = %v, want a transport error", err)
	}
}
