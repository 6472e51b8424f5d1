package anthropic

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// nativeError is the `error` member of Anthropic's error body
// `{"type":"error","error":{"type":...,"message":...}}`, which is also the
// payload of a stream's error event.
type nativeError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// errorKinds maps an Anthropic error type to the status it comes with and
// the OpenAI code the gateway answers with.
var errorKinds = map[string]struct {
	status int
	code   string
}{
	"invalid_request_error": {http.StatusBadRequest, ""},
	"authentication_error":  {http.StatusUnauthorized, "invalid_api_key"},
	"billing_error":         {http.StatusPaymentRequired, "insufficient_quota"},
	"permission_error":      {http.StatusForbidden, "permission_error"},
	"not_found_error":       {http.StatusNotFound, "not_found_error"},
	"request_too_large":     {http.StatusRequestEntityTooLarge, "request_too_large"},
	"rate_limit_error":      {http.StatusTooManyRequests, "rate_limit_exceeded"},
	"api_error":             {http.StatusInternalServerError, "api_error"},
	"timeout_error":         {http.StatusGatewayTimeout, "timeout_error"},
	// 503 rather than Anthropic's 529: clients and the gateway's fallback
	// retry 503.
	"overloaded_error": {http.StatusServiceUnavailable, "overloaded"},
}

// toError normalises the error into OpenAI's shape. status is the HTTP
// status it came with, or 0 for an error event inside a 200 stream, whose
// status then follows from its type.
func (n *nativeError) toError(status int) *providers.Error {
	kind, known := errorKinds[n.Type]
	switch {
	case status == 529:
		status, kind.code = http.StatusServiceUnavailable, "overloaded"
	case status == 0 && known:
		status = kind.status
	case status == 0:
		status = http.StatusBadGateway
	}
	code := kind.code
	if !known && n.Type != "" {
		code = n.Type
	}
	msg := strings.ToLower(n.Message)
	switch {
	case status == http.StatusBadRequest && contextOverflow(msg):
		code = "context_length_exceeded"
	case n.Type == "not_found_error" && strings.Contains(msg, "model"):
		code = "model_not_found"
	}
	e := providers.NewError(status, code, n.Message)
	if e.Message == "" {
		e.Message = "the upstream answered " + n.Type
	}
	return e
}

// contextOverflow recognises Anthropic's messages for a prompt that does
// not fit: "prompt is too long: N tokens > M maximum" and "input length and
// `max_tokens` exceed context limit: ...".
func contextOverflow(lowerMsg string) bool {
	return strings.Contains(lowerMsg, "prompt is too long") || strings.Contains(lowerMsg, "exceed context limit")
}

// parseError is the provider's error parser for non-2xx answers.
func parseError(status int, header http.Header, body []byte) *providers.Error {
	// The generic parser reads Retry-After and falls back sensibly for
	// bodies that are not Anthropic's, such as a proxy's HTML page.
	generic := providers.ParseError(status, header, body)
	var env struct {
		Error *nativeError `json:"error"`
	}
	var e *providers.Error
	if json.Unmarshal(body, &env) == nil && env.Error != nil && (env.Error.Type != "" || env.Error.Message != "") {
		e = env.Error.toError(status)
	} else {
		e = (&nativeError{Message: generic.Message}).toError(status)
	}
	e.Header = relayHeader(header)
	e.RetryAfter = generic.RetryAfter
	if e.RetryAfter == 0 && e.Status == http.StatusTooManyRequests {
		e.RetryAfter = resetWait(header, time.Now())
	}
	return e
}

// rateLimitKinds are the limits Anthropic reports in
// anthropic-ratelimit-<kind>-{limit,remaining,reset} headers.
var rateLimitKinds = [...]string{"requests", "tokens", "input-tokens", "output-tokens"}

// resetWait is how long until every exhausted limit resets, from the
// RFC 3339 reset times Anthropic sends; 0 when none is known.
func resetWait(h http.Header, now time.Time) time.Duration {
	var wait time.Duration
	for _, kind := range rateLimitKinds {
		if h.Get("Anthropic-Ratelimit-"+kind+"-Remaining") != "0" {
			continue
		}
		t, err := time.Parse(time.RFC3339, h.Get("Anthropic-Ratelimit-"+kind+"-Reset"))
		if err != nil {
			continue
		}
		wait = max(wait, t.Sub(now))
	}
	return wait
}

// relayHeader picks the upstream headers clients get: the request id as
// X-Request-Id, and Anthropic's request and token limits in OpenAI's
// x-ratelimit-{limit,remaining,reset}-{requests,tokens} form, with the
// reset times turned into durations as OpenAI writes them.
func relayHeader(h http.Header) http.Header {
	out := providers.RelayHeader(h)
	set := func(k, v string) {
		if out == nil {
			out = make(http.Header, 8)
		}
		out.Set(k, v)
	}
	if id := h.Get("Request-Id"); id != "" {
		set("X-Request-Id", id)
	}
	for _, kind := range [...]string{"requests", "tokens"} {
		for _, field := range [...]string{"limit", "remaining", "reset"} {
			v := h.Get("Anthropic-Ratelimit-" + kind + "-" + field)
			if v == "" {
				continue
			}
			if field == "reset" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					continue
				}
				v = durationText(time.Until(t))
			}
			set("X-Ratelimit-"+field+"-"+kind, v)
		}
	}
	return out
}

// durationText writes d as OpenAI's reset headers do: "1s", "6m0s", "20ms".
func durationText(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}
