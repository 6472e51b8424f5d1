package providers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseErrorRetryAfter(t *testing.T) {
	cases := map[string]struct {
		header http.Header
		want   time.Duration
	}{
		"seconds":      {http.Header{"Retry-After": {"6"}}, 6 * time.Second},
		"milliseconds": {http.Header{"Retry-After-Ms": {"1500"}, "Retry-After": {"2"}}, 1500 * time.Millisecond},
		"none":         {http.Header{}, 0},
		"garbage":      {http.Header{"Retry-After": {"soon"}}, 0},
		"tokens exhausted": {http.Header{"X-Ratelimit-Remaining-Tokens": {"0"}, "X-Ratelimit-Reset-Tokens": {"6m0s"},
			"X-Ratelimit-Remaining-Requests": {"12"}, "X-Ratelimit-Reset-Requests": {"1s"}}, 6 * time.Minute},
		"both exhausted": {http.Header{"X-Ratelimit-Remaining-Tokens": {"0"}, "X-Ratelimit-Reset-Tokens": {"20ms"},
			"X-Ratelimit-Remaining-Requests": {"0"}, "X-Ratelimit-Reset-Requests": {"1.5"}}, 1500 * time.Millisecond},
		"nothing exhausted": {http.Header{"X-Ratelimit-Remaining-Tokens": {"10"}, "X-Ratelimit-Reset-Tokens": {"20ms"}}, 0},
		"retry-after wins":  {http.Header{"Retry-After": {"2"}, "X-Ratelimit-Remaining-Tokens": {"0"}, "X-Ratelimit-Reset-Tokens": {"1m"}}, 2 * time.Second},
		"bad reset":         {http.Header{"X-Ratelimit-Remaining-Tokens": {"0"}, "X-Ratelimit-Reset-Tokens": {"soon"}}, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := ParseError(429, tc.header, nil).RetryAfter; got != tc.want {
				t.Errorf("RetryAfter = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseErrorShapes(t *testing.T) {
	cases := map[string]struct {
		body                     string
		message, typ, code, parm string
	}{
		"message array": {`{"error":{"message":["a","b"],"type":"invalid_request_error"}}`, "a\nb", "invalid_request_error", "", ""},
		"llama.cpp":     {`{"error":{"code":400,"message":"request exceeds the available context size","type":"exceed_context_size_error"}}`, "request exceeds the available context size", "exceed_context_size_error", "400", ""},
		"ollama":        {`{"error":"model 'x' not found"}`, "model 'x' not found", "invalid_request_error", "", ""},
		"empty":         {``, "upstream answered 400 Bad Request", "invalid_request_error", "", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := ParseError(400, nil, []byte(tc.body))
			if e.Message != tc.message || e.Type != tc.typ || e.Code != tc.code || e.Param != tc.parm {
				t.Errorf("got %+v", e)
			}
		})
	}
}

func TestTransportErrorHidesURL(t *testing.T) {
	err := &TransportError{Provider: "gem", Err: &url.Error{Op: "Post", URL: "https://host/v1?key=AIzaSecret", Err: errors.New("connection refused")}}
	if strings.Contains(err.Error(), "AIzaSecret") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error text %q", err.Error())
	}
}
