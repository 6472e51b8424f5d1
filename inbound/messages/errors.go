package messages

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// errorEnvelope is Anthropic's error body, also the data of an `error`
// event: `{"type":"error","error":{"type","message"}}`.
type errorEnvelope struct {
	Type  string      `json:"type"`
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// errorType is Anthropic's error type for a status. Anthropic answers
// other 4xx statuses as invalid_request_error, and its SDKs pick their
// exception by status, so the status itself goes out unchanged.
func errorType(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case http.StatusServiceUnavailable, 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// toEnvelope translates one of the pipeline's errors. Anthropic names the
// offending field at the start of the message (`max_tokens: Field
// required`); the gateway's errors carry it in Param.
func toEnvelope(e *providers.Error) errorEnvelope {
	msg := e.Message
	if e.Param != "" && !strings.HasPrefix(msg, e.Param) {
		msg = e.Param + ": " + msg
	}
	return errorEnvelope{Type: "error", Error: errorDetail{Type: errorType(e.Status), Message: msg}}
}

// writeError answers with e in Anthropic's shape, with `retry-after` in
// whole seconds when the client should come back later.
func writeError(w http.ResponseWriter, e *providers.Error) {
	h := w.Header()
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(e.RetryAfter.Seconds())))))
	}
	body, err := providers.MarshalJSON(toEnvelope(e))
	if err != nil { // cannot happen for these field types; keep the status
		body = []byte(`{"type":"error","error":{"type":"api_error","message":"internal error"}}`)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// invalid is a 400 invalid_request_error about param.
func invalid(param, msg string) *providers.Error {
	e := providers.NewError(http.StatusBadRequest, "invalid_request_error", msg)
	e.Param = param
	return e
}
