package gemini

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// apiError is Google's error object:
// `{"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED","details":[...]}}`.
type apiError struct {
	Code    int           `json:"code"`
	Message string        `json:"message"`
	Status  string        `json:"status"`
	Details []errorDetail `json:"details"`
}

// errorDetail holds the fields of the detail kinds the gateway uses:
// google.rpc.ErrorInfo (reason) and google.rpc.RetryInfo (retryDelay).
type errorDetail struct {
	Type       string `json:"@type"`
	Reason     string `json:"reason"`
	RetryDelay string `json:"retryDelay"`
}

// grpcStatus is the HTTP status of each canonical status name, for errors
// that arrive inside a stream, after the HTTP status was sent.
var grpcStatus = map[string]int{
	"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400,
	"UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "ALREADY_EXISTS": 409,
	"ABORTED": 409, "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499, "INTERNAL": 500, "UNKNOWN": 500,
	"DATA_LOSS": 500, "UNIMPLEMENTED": 501, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}

// parseError normalises a non-2xx Gemini answer. Bodies that are not
// Google's error shape (a proxy's HTML page, say) get the generic parser.
func parseError(status int, header http.Header, body []byte) *providers.Error {
	var one struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(body, &one) == nil && one.Error != nil {
		return one.Error.toError(status, header)
	}
	// Vertex AI wraps errors in an array.
	var list []struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(body, &list) == nil && len(list) > 0 && list[0].Error != nil {
		return list[0].Error.toError(status, header)
	}
	return providers.ParseError(status, header, body)
}

// toError maps the error to OpenAI's shape. status is the HTTP status, or
// 0 for an error inside a stream, where the error's own code decides.
func (a *apiError) toError(status int, header http.Header) *providers.Error {
	if status == 0 {
		status = a.httpStatus()
	}
	e := &providers.Error{Status: status, Message: a.Message, Code: a.Status, Header: providers.RelayHeader(header)}
	switch {
	case status == 529: // overload outside most clients' retry logic
		e.Status, e.Code = http.StatusServiceUnavailable, "overloaded"
	case a.hasReason("API_KEY_INVALID"):
		// Gemini answers a bad key with 400; clients and fallback treat
		// only 401 as a credentials problem.
		e.Status, e.Code = http.StatusUnauthorized, "invalid_api_key"
	case isContextOverflow(a.Message):
		e.Code = "context_length_exceeded"
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("the upstream answered %d %s", e.Status, http.StatusText(e.Status))
	}
	e.Type = providers.TypeForStatus(e.Status)
	e.RetryAfter = a.retryDelay()
	if e.RetryAfter == 0 && header != nil {
		if s, err := strconv.Atoi(header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
	}
	return e
}

// httpStatus is the status of an error that came without one.
func (a *apiError) httpStatus() int {
	if a.Code >= 400 && a.Code <= 599 {
		return a.Code
	}
	if s, ok := grpcStatus[a.Status]; ok {
		return s
	}
	return http.StatusBadGateway
}

func (a *apiError) hasReason(reason string) bool {
	for _, d := range a.Details {
		if d.Reason == reason {
			return true
		}
	}
	return false
}

// retryDelay reads google.rpc.RetryInfo's delay, a duration such as "27s"
// or "1.5s"; 0 when absent.
func (a *apiError) retryDelay() time.Duration {
	for _, d := range a.Details {
		if d.RetryDelay == "" {
			continue
		}
		if delay, err := time.ParseDuration(d.RetryDelay); err == nil && delay > 0 {
			return delay
		}
	}
	return 0
}

// isContextOverflow recognises Gemini's message for a prompt larger than
// the model's window: "The input token count (1196265) exceeds the maximum
// number of tokens allowed (1048576)."
func isContextOverflow(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "input token count") && strings.Contains(msg, "exceeds")
}
