package handler

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// The error codes of the native API (seed 002).
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

// isNative reports whether r is on the native API, whose errors have seed
// 002's shape rather than OpenAI's.
func isNative(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

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

// writeNativeError answers with the native error envelope.
func writeNativeError(w http.ResponseWriter, e *providers.Error, fromUpstream bool) {
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

// nativeStreamError translates the OpenAI error event that ends a broken
// stream (see endWithError) into the native shape. The event carries no
// status: it failed upstream, after the answer had started.
func nativeStreamError(payload []byte) nativeError {
	var v struct {
		Error struct {
			Message string `json:"message"`
			Code    string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(payload, &v)
	e := &providers.Error{Status: http.StatusBadGateway, Message: v.Error.Message, Code: v.Error.Code}
	if v.Error.Code == "upstream_timeout" {
		e.Status = http.StatusGatewayTimeout
	}
	return toNative(e, true)
}
