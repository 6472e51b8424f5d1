package native

import (
	"math"
	"net/http"
	"strconv"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// The native API's error codes.
const (
	codeInvalidRequest   = "INVALID_REQUEST"
	codeUnauthorized     = "UNAUTHORIZED"
	codeForbidden        = "FORBIDDEN"
	codeModelNotFound    = "MODEL_NOT_FOUND"
	codeModelNotLoaded   = "MODEL_NOT_LOADED"
	codeNotFound         = "NOT_FOUND"
	codeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	codePayloadTooLarge  = "PAYLOAD_TOO_LARGE"
	codeRateLimited      = "RATE_LIMITED"
	codeNotImplemented   = "NOT_IMPLEMENTED"
	codeUnavailable      = "SERVICE_UNAVAILABLE"
	codeUpstreamTimeout  = "UPSTREAM_TIMEOUT"
	codeUpstreamError    = "UPSTREAM_ERROR"
	codeInternal         = "INTERNAL_ERROR"
)

// statusClientClosed is the pipeline's status for a client that left
// before its answer: there is nobody to answer.
const statusClientClosed = 499

// nativeError is the native API's error envelope:
// `{"error":{"code","message","details"}}`.
type nativeError struct {
	Error nativeErrorFields `json:"error"`
}

type nativeErrorFields struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Details says what to do about it, or names the OpenAI-style code
	// behind the error; null when there is nothing to add.
	Details *string `json:"details"`
}

// toNative translates one of the pipeline's errors. fromUpstream tells an
// upstream's 404 (it does not have the model the gateway routed to it)
// from the gateway's own (no route for the model).
func toNative(e *providers.Error, fromUpstream bool) nativeError {
	code := nativeCode(e, fromUpstream)
	var details string
	switch {
	case code == codeModelNotLoaded:
		details = "the provider does not have this model; load or pull it first (POST /api/v1/models/{name}/load)"
	case code == codeRateLimited:
		details = "retry after " + strconv.Itoa(retryAfterSeconds(e)) + "s"
	case e.Param != "":
		details = "param: " + e.Param
	case e.Code != "":
		details = e.Code
	}
	f := nativeErrorFields{Code: code, Message: e.Message}
	if details != "" {
		f.Details = &details
	}
	return nativeError{Error: f}
}

// nativeCode maps a status (and the OpenAI code where the status is not
// enough) to a native error code.
func nativeCode(e *providers.Error, fromUpstream bool) string {
	switch e.Status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return codeInvalidRequest
	case http.StatusUnauthorized:
		return codeUnauthorized
	case http.StatusForbidden:
		return codeForbidden
	case http.StatusNotFound:
		switch {
		case fromUpstream:
			return codeModelNotLoaded
		case e.Code == "model_not_found":
			return codeModelNotFound
		}
		return codeNotFound
	case http.StatusMethodNotAllowed:
		return codeMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return codePayloadTooLarge
	case http.StatusTooManyRequests:
		return codeRateLimited
	case http.StatusNotImplemented:
		return codeNotImplemented
	case http.StatusServiceUnavailable:
		return codeUnavailable
	case http.StatusGatewayTimeout:
		return codeUpstreamTimeout
	case http.StatusInternalServerError:
		if fromUpstream {
			return codeUpstreamError
		}
		return codeInternal
	}
	if e.Status >= 500 {
		return codeUpstreamError
	}
	return codeInvalidRequest
}

// retryAfterSeconds is a whole number of seconds, at least 1, as clients
// parse Retry-After as an integer.
func retryAfterSeconds(e *providers.Error) int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// writeError answers with the native error envelope.
func writeError(w http.ResponseWriter, e *providers.Error, fromUpstream bool) {
	h := w.Header()
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(e)))
	}
	body, err := providers.MarshalJSON(toNative(e, fromUpstream))
	if err != nil { // cannot happen for these field types; keep the status
		body = []byte(`{"error":{"code":"INTERNAL_ERROR","message":"internal error","details":null}}`)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := providers.MarshalJSON(v)
	if err != nil {
		writeError(w, providers.NewError(http.StatusInternalServerError, "", "encoding the response failed"), false)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// streamFailure is the error that ends a native stream cut after it
// began: whatever the upstream said, the stream failed upstream (502),
// or timed out there (504).
func streamFailure(e *providers.Error) nativeError {
	f := &providers.Error{Status: http.StatusBadGateway, Message: e.Message, Code: e.Code}
	if e.Code == "upstream_timeout" {
		f.Status = http.StatusGatewayTimeout
	}
	return toNative(f, true)
}

func invalidBody(msg string) *providers.Error {
	return providers.NewError(http.StatusBadRequest, "invalid_request_body", msg)
}

func fieldError(param, msg string) *providers.Error {
	e := providers.NewError(http.StatusBadRequest, "invalid_type", msg)
	e.Param = param
	return e
}
