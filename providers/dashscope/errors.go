package dashscope

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/internal/sse"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// dashscopeError is DashScope's error body, also the data of an error
// event: {"code":"InvalidApiKey","message":"...","request_id":"..."}.
type dashscopeError struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// parseError normalises a non-2xx answer. A streamed request's error comes
// as an SSE body (`event:error` and a data line), a plain one as JSON;
// anything else (a proxy's OpenAI envelope or HTML) goes to the generic
// parser.
func parseError(status int, header http.Header, body []byte) *providers.Error {
	var de dashscopeError
	if json.Unmarshal(errorData(body), &de) != nil || (de.Code == "" && de.Message == "") {
		return providers.ParseError(status, header, body)
	}
	// The generic parser still supplies relayed headers and Retry-After.
	e := providers.ParseError(status, header, nil)
	classify(e, status, de)
	return e
}

// frameError is the error an event or a 200 body reported. Its HTTP
// status sits in a `:HTTP_STATUS/4xx` comment the SSE reader skips, so the
// status comes from the code.
func frameError(f *frame) *providers.Error {
	e := &providers.Error{}
	classify(e, 0, dashscopeError{Code: f.Code, Message: f.Message, RequestID: f.RequestID})
	return e
}

// errorData returns the JSON of an error body, taking the first event's
// data when the body is an event stream.
func errorData(body []byte) []byte {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] == '{' {
		return body
	}
	ev, err := sse.NewReader(bytes.NewReader(body), len(body)+1).Next()
	if err != nil {
		return nil
	}
	return ev.Data
}

// classify sets e's status, type, code and message from DashScope's code
// and message. status is the HTTP status, 0 for an error inside a stream;
// it stands for codes the table does not know.
func classify(e *providers.Error, status int, de dashscopeError) {
	code, msg := de.Code, de.Message
	family, _, _ := strings.Cut(code, ".")
	lower := strings.ToLower(msg)
	e.Code, e.Param = code, ""
	switch {
	case strings.Contains(lower, "range of input length"):
		status, e.Code, e.Param = http.StatusBadRequest, "context_length_exceeded", "messages"
	case code == "ModelNotFound" || strings.Contains(lower, "model not exist"):
		status, e.Code, e.Param = http.StatusNotFound, "model_not_found", "model"
	case family == "DataInspectionFailed" || code == "data_inspection_failed":
		status, e.Code = http.StatusBadRequest, "content_filter"
	case family == "InvalidApiKey":
		status = http.StatusUnauthorized
	case code == "Arrearage" || family == "AccessDenied":
		status = http.StatusForbidden
	case family == "Throttling" || strings.Contains(code, "RateQuota"):
		status = http.StatusTooManyRequests
	case status == 529 || strings.Contains(strings.ToLower(code), "overload"):
		// Outside most clients' retry logic as 529; as 503 fallback retries it.
		status, e.Code = http.StatusServiceUnavailable, "overloaded"
	case code == "RequestTimeOut":
		status = http.StatusRequestTimeout
	case code == "BadRequest.TooLarge":
		status = http.StatusRequestEntityTooLarge
	case family == "InternalError":
		// InternalError.Algo.InvalidParameter and the like come as 400s.
		if status < 400 || status >= 500 {
			status = http.StatusInternalServerError
		}
	case family == "ServiceUnavailable":
		status = http.StatusServiceUnavailable
	case family == "InvalidParameter" || family == "BadRequest" || family == "MissingParameter" ||
		code == "InvalidURL" || code == "UnsupportedOperation":
		status = http.StatusBadRequest
	case status < 400:
		status = http.StatusInternalServerError
	}
	e.Status = status
	e.Type = providers.TypeForStatus(status)
	switch {
	case msg == "":
		e.Message = "dashscope answered " + code
	case strings.Contains(msg, "://"):
		// Never relay a URL of the upstream.
		e.Message = "dashscope answered " + code + " for the request"
	default:
		e.Message = msg
	}
	if de.RequestID != "" {
		if e.Header == nil {
			e.Header = make(http.Header, 1)
		}
		e.Header.Set("X-Request-Id", de.RequestID)
	}
}
