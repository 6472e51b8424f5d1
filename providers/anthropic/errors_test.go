package anthropic

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestUpstreamErrors maps every status and error type Anthropic answers
// with to the client's status, OpenAI type and code.
func TestUpstreamErrors(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		body       string
		wantStatus int
		wantType   string
		wantCode   string
	}{
		{"invalid request", 400, providertest.AnthropicError("invalid_request_error", "max_tokens: Field required"), 400, "invalid_request_error", ""},
		{"prompt too long", 400, providertest.AnthropicError("invalid_request_error", "prompt is too long: 212000 tokens > 200000 maximum"), 400, "invalid_request_error", "context_length_exceeded"},
		{"input and max_tokens too long", 400, providertest.AnthropicError("invalid_request_error", "input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000, decrease input length or `max_tokens` and try again"), 400, "invalid_request_error", "context_length_exceeded"},
		{"authentication", 401, providertest.AnthropicError("authentication_error", "invalid x-api-key"), 401, "authentication_error", "invalid_api_key"},
		{"billing", 402, providertest.AnthropicError("billing_error", "Your credit balance is too low"), 402, "invalid_request_error", "insufficient_quota"},
		{"permission", 403, providertest.AnthropicError("permission_error", "Your API key does not have permission"), 403, "permission_error", "permission_error"},
		{"model not found", 404, providertest.AnthropicError("not_found_error", "model: claude-9"), 404, "invalid_request_error", "model_not_found"},
		{"not found", 404, providertest.AnthropicError("not_found_error", "Not found"), 404, "invalid_request_error", "not_found_error"},
		{"request too large", 413, providertest.AnthropicError("request_too_large", "Request exceeds the maximum allowed number of bytes."), 413, "invalid_request_error", "request_too_large"},
		{"rate limit", 429, providertest.AnthropicError("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), 429, "rate_limit_error", "rate_limit_exceeded"},
		{"api error", 500, providertest.AnthropicError("api_error", "Internal server error"), 500, "server_error", "api_error"},
		{"timeout", 504, providertest.AnthropicError("timeout_error", "Request timed out"), 504, "server_error", "timeout_error"},
		{"overloaded 529", 529, providertest.AnthropicError("overloaded_error", "Overloaded"), 503, "server_error", "overloaded"},
		{"529 without a body", 529, ``, 503, "server_error", "overloaded"},
		{"unknown type", 409, providertest.AnthropicError("conflict_error", "conflict"), 409, "invalid_request_error", "conflict_error"},
		{"proxy HTML page", 502, `<html><body>Bad Gateway</body></html>`, 502, "server_error", ""},
	}
	up := providertest.NewUpstream(t, nil)
	a := newAnthropic(t, up.URL)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up.Reply(providertest.Anthropic.JSON(tc.status, tc.body))
			for _, stream := range []bool{false, true} {
				body := simpleRequest
				if stream {
					body = streamRequest
				}
				_, err := send(t, a, []byte(body))
				var e *providers.Error
				if !errors.As(err, &e) {
					t.Fatalf("got %v, want a *providers.Error", err)
				}
				if e.Status != tc.wantStatus || e.Type != tc.wantType || e.Code != tc.wantCode {
					t.Errorf("stream=%v: got %d %s code=%q, want %d %s code=%q (%s)", stream, e.Status, e.Type, e.Code, tc.wantStatus, tc.wantType, tc.wantCode, e.Message)
				}
				providertest.CheckError(t, e, testKey, up.URL)
				if e.Header.Get("X-Request-Id") != providertest.AnthropicRequestID {
					t.Errorf("X-Request-Id = %q", e.Header.Get("X-Request-Id"))
				}
			}
		})
	}
}

// TestStreamErrorTypes maps the error event's type, which comes inside a
// 200, to a status.
func TestStreamErrorTypes(t *testing.T) {
	cases := []struct {
		typ        string
		wantStatus int
		wantCode   string
	}{
		{"overloaded_error", 503, "overloaded"},
		{"rate_limit_error", 429, "rate_limit_exceeded"},
		{"api_error", 500, "api_error"},
		{"invalid_request_error", 400, ""},
		{"authentication_error", 401, "invalid_api_key"},
		{"permission_error", 403, "permission_error"},
		{"not_found_error", 404, "not_found_error"},
		{"request_too_large", 413, "request_too_large"},
		{"billing_error", 402, "insufficient_quota"},
		{"timeout_error", 504, "timeout_error"},
		{"brand_new_error", 502, "brand_new_error"},
	}
	for _, tc := range cases {
		sse := "event: error\ndata: " + providertest.AnthropicError(tc.typ, "failed") + "\n\n"
		_, err := streamOf(t, streamRequest, []byte(sse))
		var e *providers.Error
		if !errors.As(err, &e) || e.Status != tc.wantStatus || e.Code != tc.wantCode || e.Message != "failed" {
			t.Errorf("%s: got %v, want %d code=%q", tc.typ, err, tc.wantStatus, tc.wantCode)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 8, 21, 12, 40, 0, 0, time.UTC)
	reset := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	cases := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"retry-after", http.Header{"Retry-After": {"17"}}, 17 * time.Second},
		{"exhausted tokens", http.Header{
			"Anthropic-Ratelimit-Requests-Remaining": {"10"}, "Anthropic-Ratelimit-Requests-Reset": {reset(5 * time.Second)},
			"Anthropic-Ratelimit-Tokens-Remaining": {"0"}, "Anthropic-Ratelimit-Tokens-Reset": {reset(40 * time.Second)},
		}, 40 * time.Second},
		{"the later of two", http.Header{
			"Anthropic-Ratelimit-Input-Tokens-Remaining": {"0"}, "Anthropic-Ratelimit-Input-Tokens-Reset": {reset(10 * time.Second)},
			"Anthropic-Ratelimit-Output-Tokens-Remaining": {"0"}, "Anthropic-Ratelimit-Output-Tokens-Reset": {reset(30 * time.Second)},
		}, 30 * time.Second},
		{"nothing known", http.Header{}, 0},
		{"bad timestamp", http.Header{"Anthropic-Ratelimit-Tokens-Remaining": {"0"}, "Anthropic-Ratelimit-Tokens-Reset": {"soon"}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.header.Get("Retry-After") != "" {
				e := parseError(429, tc.header, []byte(providertest.AnthropicError("rate_limit_error", "slow down")))
				if e.RetryAfter != tc.want {
					t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tc.want)
				}
				return
			}
			if got := resetWait(tc.header, now); got != tc.want {
				t.Errorf("resetWait = %v, want %v", got, tc.want)
			}
		})
	}
	// Through the parser, with the real clock.
	h := http.Header{"Anthropic-Ratelimit-Tokens-Remaining": {"0"}, "Anthropic-Ratelimit-Tokens-Reset": {time.Now().Add(time.Minute).Format(time.RFC3339)}}
	if e := parseError(429, h, []byte(providertest.AnthropicError("rate_limit_error", "x"))); e.RetryAfter < 50*time.Second || e.RetryAfter > time.Minute {
		t.Errorf("RetryAfter from the reset header = %v", e.RetryAfter)
	}
}

func TestRelayHeader(t *testing.T) {
	in := http.Header{
		"Request-Id":                             {"req_1"},
		"Anthropic-Organization-Id":              {"org"},
		"Anthropic-Ratelimit-Requests-Limit":     {"50"},
		"Anthropic-Ratelimit-Requests-Remaining": {"49"},
		"Anthropic-Ratelimit-Requests-Reset":     {time.Now().Add(90 * time.Second).Format(time.RFC3339)},
		"Anthropic-Ratelimit-Tokens-Limit":       {"40000"},
		"Anthropic-Ratelimit-Tokens-Remaining":   {"39000"},
		"Anthropic-Ratelimit-Tokens-Reset":       {"not a time"},
		"Content-Type":                           {"application/json"},
	}
	got := relayHeader(in)
	want := map[string]string{
		"X-Request-Id":                   "req_1",
		"X-Ratelimit-Limit-Requests":     "50",
		"X-Ratelimit-Remaining-Requests": "49",
		"X-Ratelimit-Limit-Tokens":       "40000",
		"X-Ratelimit-Remaining-Tokens":   "39000",
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, got.Get(k), v)
		}
	}
	if r := got.Get("X-Ratelimit-Reset-Requests"); r != "1m30s" && r != "1m29s" && r != "1m31s" {
		t.Errorf("X-Ratelimit-Reset-Requests = %q, want about 1m30s", r)
	}
	if len(got) != len(want)+1 {
		t.Errorf("relayed %v", got)
	}
	for d, want := range map[time.Duration]string{-time.Second: "0s", 20 * time.Millisecond: "20ms", 6 * time.Minute: "6m0s", 1500 * time.Millisecond: "2s"} {
		if got := durationText(d); got != want {
			t.Errorf("durationText(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestAuthErrorHidesUpstreamText relies on Base to replace the upstream's
// message, which may quote part of the key.
func TestAuthErrorHidesUpstreamText(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Anthropic.JSON(401, providertest.AnthropicError("authentication_error", "invalid x-api-key sk-ant-te***")))
	a := newAnthropic(t, up.URL)
	_, err := send(t, a, []byte(simpleRequest))
	var e *providers.Error
	if !errors.As(err, &e) || strings.Contains(e.Message, "sk-ant") || e.Code != "invalid_api_key" {
		t.Errorf("got %v", err)
	}
}
