package dashscope

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestErrors maps every DashScope error code the gateway knows, through a
// real upstream call.
func TestErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		// want
		wantStatus int
		wantType   string
		wantCode   string
		wantParam  string
	}{
		{"invalid key", 401, providertest.DashScopeError("InvalidApiKey", "Invalid API-key provided."), 401, "authentication_error", "InvalidApiKey", ""},
		{"invalid parameter", 400, providertest.DashScopeError("InvalidParameter", "Temperature should be in [0.0, 2.0)"), 400, "invalid_request_error", "InvalidParameter", ""},
		{"context length", 400, providertest.DashScopeError("InvalidParameter", "Range of input length should be [1, 129024]"), 400, "invalid_request_error", "context_length_exceeded", "messages"},
		{"context length (algo)", 400, providertest.DashScopeError("InternalError.Algo.InvalidParameter", "Range of input length should be [1, 30720]"), 400, "invalid_request_error", "context_length_exceeded", "messages"},
		{"model not exist", 400, providertest.DashScopeError("InvalidParameter", "Model not exist."), 404, "invalid_request_error", "model_not_found", "model"},
		{"model not found", 404, providertest.DashScopeError("ModelNotFound", "The model qwen-9 does not exist."), 404, "invalid_request_error", "model_not_found", "model"},
		{"arrearage", 400, providertest.DashScopeError("Arrearage", "Access denied, please make sure your account is in good standing."), 403, "permission_error", "Arrearage", ""},
		{"access denied", 403, providertest.DashScopeError("AccessDenied", "Access denied."), 403, "permission_error", "AccessDenied", ""},
		{"unpurchased", 403, providertest.DashScopeError("AccessDenied.Unpurchased", "Access to model denied."), 403, "permission_error", "AccessDenied.Unpurchased", ""},
		{"throttling", 429, providertest.DashScopeError("Throttling", "Requests throttling triggered."), 429, "rate_limit_error", "Throttling", ""},
		{"rate quota", 429, providertest.DashScopeError("Throttling.RateQuota", "Requests rate limit exceeded, please try again later."), 429, "rate_limit_error", "Throttling.RateQuota", ""},
		{"allocation quota", 429, providertest.DashScopeError("Throttling.AllocationQuota", "Free allocated quota exceeded."), 429, "rate_limit_error", "Throttling.AllocationQuota", ""},
		{"data inspection", 400, providertest.DashScopeError("DataInspectionFailed", "Input data may contain inappropriate content."), 400, "invalid_request_error", "content_filter", ""},
		{"data inspection media", 400, providertest.DashScopeError("InvalidParameter.DataInspection", "The media format is not supported or incorrect for the data inspection."), 400, "invalid_request_error", "InvalidParameter.DataInspection", ""},
		{"empty input", 400, providertest.DashScopeError("BadRequest.EmptyInput", "Required input parameter missing from request."), 400, "invalid_request_error", "BadRequest.EmptyInput", ""},
		{"too large", 413, providertest.DashScopeError("BadRequest.TooLarge", "Payload Too Large"), 413, "invalid_request_error", "BadRequest.TooLarge", ""},
		{"invalid url", 400, providertest.DashScopeError("InvalidURL", "Invalid URL provided in your request."), 400, "invalid_request_error", "InvalidURL", ""},
		{"unsupported operation", 400, providertest.DashScopeError("UnsupportedOperation", "The operation is unsupported on the referee object."), 400, "invalid_request_error", "UnsupportedOperation", ""},
		{"timeout", 408, providertest.DashScopeError("RequestTimeOut", "Request timed out, please try again later."), 408, "invalid_request_error", "RequestTimeOut", ""},
		{"internal error", 500, providertest.DashScopeError("InternalError", "An internal error has occured, please try again later."), 500, "server_error", "InternalError", ""},
		{"internal algo", 500, providertest.DashScopeError("InternalError.Algo", "An error occurred in model serving."), 500, "server_error", "InternalError.Algo", ""},
		{"service unavailable", 503, providertest.DashScopeError("ServiceUnavailable", "Service temporarily unavailable."), 503, "server_error", "ServiceUnavailable", ""},
		{"overloaded 529", 529, providertest.DashScopeError("ModelServingError", "Too many requests, the model is overloaded."), 503, "server_error", "overloaded", ""},
		{"overloaded code", 503, providertest.DashScopeError("Overloaded", "Busy."), 503, "server_error", "overloaded", ""},
		{"unknown code keeps status", 418, providertest.DashScopeError("SomethingNew", "Odd."), 418, "invalid_request_error", "SomethingNew", ""},
		{"sse body", 400, providertest.DashScopeErrorEvent(1, 400, providertest.DashScopeError("InvalidParameter", "Range of input length should be [1, 129024]")), 400, "invalid_request_error", "context_length_exceeded", "messages"},
		{"openai envelope", 400, `{"error":{"code":"invalid_parameter_error","param":null,"message":"bad","type":"invalid_request_error"},"request_id":"x"}`, 400, "invalid_request_error", "invalid_parameter_error", ""},
		{"html", 502, `<html><body>Bad Gateway</body></html>`, 502, "server_error", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t)
			fake.Reply(providertest.DashScope.JSON(tc.status, tc.body))
			_, err := newDashScope(t, fake.URL).Send(t.Context(), chatCall(t, `{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}]}`))
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want *providers.Error", err)
			}
			if pe.Status != tc.wantStatus || pe.Type != tc.wantType || pe.Code != tc.wantCode || pe.Param != tc.wantParam {
				t.Errorf("got %d %s %q param %q, want %d %s %q param %q", pe.Status, pe.Type, pe.Code, pe.Param, tc.wantStatus, tc.wantType, tc.wantCode, tc.wantParam)
			}
			providertest.CheckError(t, pe, testKey, fake.URL)
			if strings.HasPrefix(tc.body, `{"code"`) && pe.Header.Get("X-Request-Id") != providertest.DashScopeRequestID {
				t.Errorf("request id not relayed: %v", pe.Header)
			}
		})
	}
}

// TestStreamedErrorCodes maps the same codes when they arrive as an error
// event, where the HTTP status is only a comment.
func TestStreamedErrorCodes(t *testing.T) {
	cases := []struct {
		code, message string
		status        int
		wantCode      string
	}{
		{"InvalidApiKey", "Invalid API-key provided.", 401, "InvalidApiKey"},
		{"InvalidParameter", "Range of input length should be [1, 129024]", 400, "context_length_exceeded"},
		{"DataInspectionFailed", "Output data may contain inappropriate content.", 400, "content_filter"},
		{"Throttling.RateQuota", "Requests rate limit exceeded.", 429, "Throttling.RateQuota"},
		{"Arrearage", "Access denied.", 403, "Arrearage"},
		{"InternalError", "An internal error has occured.", 500, "InternalError"},
		{"SomethingNew", "Odd.", 500, "SomethingNew"},
		{"InvalidURL", "see https://dashscope.aliyuncs.com/api/v1", 400, "InvalidURL"},
	}
	for _, tc := range cases {
		e := frameError(&frame{Code: tc.code, Message: tc.message, RequestID: "r"})
		if e.Status != tc.status || e.Code != tc.wantCode || e.Type != providers.TypeForStatus(tc.status) {
			t.Errorf("%s: got %d %s %s", tc.code, e.Status, e.Type, e.Code)
		}
		if strings.Contains(e.Message, "://") {
			t.Errorf("%s: message quotes a URL: %s", tc.code, e.Message)
		}
	}
}

// TestErrorRetryAfter: a Retry-After DashScope (or a proxy in front of
// it) sends is kept for the gateway's own 429.
func TestErrorRetryAfter(t *testing.T) {
	fake := newFake(t)
	fake.Reply(providertest.DashScope.JSON(429, providertest.DashScopeError("Throttling.RateQuota", "Requests rate limit exceeded.")).
		With("Retry-After", "7"))
	_, err := newDashScope(t, fake.URL).Send(t.Context(), chatCall(t, `{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}]}`))
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Status != 429 || pe.RetryAfter != 7*time.Second {
		t.Fatalf("got %#v", err)
	}
}

// TestRefusedKeyMessage: DashScope's message for a refused key is replaced,
// and says whose key it was.
func TestRefusedKeyMessage(t *testing.T) {
	fake := newFake(t)
	fake.Reply(providertest.DashScope.JSON(401, providertest.DashScopeError("InvalidApiKey", "Invalid API-key provided: sk-test-d***ope")))
	call := chatCall(t, `{"model":"qwen-plus","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	_, err := newDashScope(t, fake.URL).Send(t.Context(), call)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Status != 401 || strings.Contains(pe.Message, "sk-") || !strings.Contains(pe.Message, "api_key") {
		t.Fatalf("got %#v", err)
	}
}
