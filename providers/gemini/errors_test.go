package gemini

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestUpstreamErrors sends a call to an upstream answering with each of
// Gemini's error statuses and checks what the client would get.
func TestUpstreamErrors(t *testing.T) {
	const retryInfo = `[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},` +
		`{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},` +
		`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"27s"}]`
	cases := []struct {
		name       string
		status     int
		body       string
		header     map[string]string
		wantStatus int
		wantType   string
		wantCode   string
		wantRetry  time.Duration
		wantInMsg  string
	}{
		{"invalid argument", 400, providertest.GoogleError(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name 'foo': Cannot find field.", ""), nil,
			400, "invalid_request_error", "INVALID_ARGUMENT", 0, "Unknown name"},
		{"failed precondition", 400, providertest.GoogleError(400, "FAILED_PRECONDITION", "User location is not supported for the API use.", ""), nil,
			400, "invalid_request_error", "FAILED_PRECONDITION", 0, "location"},
		{"bad key", 400, providertest.GoogleError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
			`[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]`), nil,
			401, "authentication_error", "invalid_api_key", 0, "refused the gateway's credentials"},
		{"context overflow", 400, providertest.GoogleError(400, "INVALID_ARGUMENT", "The input token count (1196265) exceeds the maximum number of tokens allowed (1048576).", ""), nil,
			400, "invalid_request_error", "context_length_exceeded", 0, "input token count"},
		{"unauthenticated", 401, providertest.GoogleError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", ""), nil,
			401, "authentication_error", "UNAUTHENTICATED", 0, "refused the gateway's credentials"},
		{"permission denied", 403, providertest.GoogleError(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.", ""), nil,
			403, "permission_error", "PERMISSION_DENIED", 0, "refused"},
		{"not found", 404, providertest.GoogleError(404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.", ""), nil,
			404, "invalid_request_error", "NOT_FOUND", 0, "not found"},
		{"quota with retry delay", 429, providertest.GoogleError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details.", retryInfo), nil,
			429, "rate_limit_error", "RESOURCE_EXHAUSTED", 27 * time.Second, "quota"},
		{"quota with fractional delay", 429, providertest.GoogleError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", `[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]`), nil,
			429, "rate_limit_error", "RESOURCE_EXHAUSTED", 1500 * time.Millisecond, "exhausted"},
		{"quota without delay", 429, providertest.GoogleError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", ""), nil,
			429, "rate_limit_error", "RESOURCE_EXHAUSTED", 0, "exhausted"},
		{"quota with a Retry-After header", 429, providertest.GoogleError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted.", ""), map[string]string{"Retry-After": "9"},
			429, "rate_limit_error", "RESOURCE_EXHAUSTED", 9 * time.Second, "exhausted"},
		{"internal", 500, providertest.GoogleError(500, "INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", ""), nil,
			500, "server_error", "INTERNAL", 0, "internal error"},
		{"overloaded", 503, providertest.GoogleError(503, "UNAVAILABLE", "The model is overloaded. Please try again later.", ""), nil,
			503, "server_error", "UNAVAILABLE", 0, "overloaded"},
		{"deadline", 504, providertest.GoogleError(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete.", ""), nil,
			504, "server_error", "DEADLINE_EXCEEDED", 0, "Deadline"},
		{"vertex array", 429, `[{"error":{"code":429,"message":"Resource exhausted. Please try again later.","status":"RESOURCE_EXHAUSTED"}}]`, nil,
			429, "rate_limit_error", "RESOURCE_EXHAUSTED", 0, "exhausted"},
		{"529", 529, providertest.GoogleError(529, "UNAVAILABLE", "Overloaded.", ""), nil,
			503, "server_error", "overloaded", 0, "Overloaded"},
		{"html from a proxy", 502, `<html><body>502 Bad Gateway</body></html>`, nil,
			502, "server_error", "", 0, "502 Bad Gateway"},
	}
	fake := newFake(t)
	g := newGemini(t, fake.URL)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reply := providertest.Gemini.JSON(tc.status, tc.body)
			for k, v := range tc.header {
				reply = reply.With(k, v)
			}
			fake.Reply(reply)
			_, err := g.Send(t.Context(), chatCall([]byte(`{"messages":[{"role":"user","content":"hi"}]}`), false))
			e, ok := errors.AsType[*providers.Error](err)
			if !ok {
				t.Fatalf("got %v, want *providers.Error", err)
			}
			if e.Status != tc.wantStatus || e.Type != tc.wantType || e.Code != tc.wantCode || e.RetryAfter != tc.wantRetry {
				t.Errorf("got %d %s %q retry %s, want %d %s %q retry %s", e.Status, e.Type, e.Code, e.RetryAfter, tc.wantStatus, tc.wantType, tc.wantCode, tc.wantRetry)
			}
			if !strings.Contains(e.Message, tc.wantInMsg) {
				t.Errorf("message %q lacks %q", e.Message, tc.wantInMsg)
			}
			providertest.CheckError(t, e, testKey, fake.URL)
		})
	}
}

// TestStreamErrorStatus: an error inside a stream has no HTTP status; its
// own code, else its status name, decides.
func TestStreamErrorStatus(t *testing.T) {
	cases := []struct {
		err  apiError
		want int
	}{
		{apiError{Code: 500, Status: "INTERNAL"}, 500},
		{apiError{Status: "RESOURCE_EXHAUSTED"}, 429},
		{apiError{Status: "UNAVAILABLE"}, 503},
		{apiError{Status: "DEADLINE_EXCEEDED"}, 504},
		{apiError{Status: "PERMISSION_DENIED"}, 403},
		{apiError{Status: "INVALID_ARGUMENT"}, 400},
		{apiError{Code: 7}, 502},
		{apiError{}, 502},
	}
	for _, tc := range cases {
		e := tc.err.toError(0, nil)
		if e.Status != tc.want || e.Type != providers.TypeForStatus(tc.want) || e.Message == "" {
			t.Errorf("%+v: got %d %s %q, want %d", tc.err, e.Status, e.Type, e.Message, tc.want)
		}
	}
}
