package providers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Error is an error in OpenAI's shape, with the HTTP status it is answered
// with. Upstream errors of every provider are normalised into it.
type Error struct {
	// Status is the HTTP status for the client.
	Status int
	// Message is the human-readable message.
	Message string
	// Type is OpenAI's error type, e.g. invalid_request_error.
	Type string
	// Param names the offending request field, when known.
	Param string
	// Code is OpenAI's machine-readable code, e.g. model_not_found.
	Code string
	// RetryAfter is how long the upstream asked to wait, when it said.
	RetryAfter time.Duration
	// Header holds upstream headers worth relaying (see RelayHeader).
	Header http.Header
}

// NewError returns an Error with the type that fits status.
func NewError(status int, code, message string) *Error {
	return &Error{Status: status, Type: TypeForStatus(status), Code: code, Message: message}
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("%d: %s", e.Status, e.Message)
}

// errorBody is the wire form: all four keys are always present, param and
// code are null when unknown.
type errorBody struct {
	Error errorFields `json:"error"`
}

type errorFields struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// MarshalJSON writes OpenAI's error envelope.
func (e *Error) MarshalJSON() ([]byte, error) {
	f := errorFields{Message: e.Message, Type: e.Type}
	if f.Type == "" {
		f.Type = TypeForStatus(e.Status)
	}
	if e.Param != "" {
		f.Param = &e.Param
	}
	if e.Code != "" {
		f.Code = &e.Code
	}
	return MarshalJSON(errorBody{Error: f})
}

// MarshalJSON encodes v without escaping <, > and &: the gateway's bodies
// go to API clients, not into HTML, and messages such as `Bearer <key>`
// should read as written.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// TypeForStatus is the OpenAI error type used for a status when the
// upstream named none.
func TypeForStatus(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request_error"
	}
}

// ParseError normalises an upstream error answer into an Error. It accepts
// OpenAI's envelope, Azure's (null type, numeric string codes), vLLM's flat
// and wrapped forms and llama.cpp's (integer codes), and falls back to the
// status text for bodies it does not recognise.
func ParseError(status int, header http.Header, body []byte) *Error {
	e := &Error{Status: status, Header: RelayHeader(header), RetryAfter: retryAfter(header)}
	if status == http.StatusTooManyRequests && e.RetryAfter == 0 {
		e.RetryAfter = rateLimitReset(header)
	}
	if status == 529 { // Anthropic-style overload: outside most clients' retry logic
		e.Status = http.StatusServiceUnavailable
		e.Code = "overloaded"
	}
	var wrapped struct {
		Error json.RawMessage `json:"error"`
	}
	fields := body
	if json.Unmarshal(body, &wrapped) == nil && len(wrapped.Error) > 0 && wrapped.Error[0] == '{' {
		fields = wrapped.Error
	}
	var raw struct {
		Message json.RawMessage `json:"message"`
		Type    *string         `json:"type"`
		Param   *string         `json:"param"`
		Code    json.RawMessage `json:"code"`
		Status  any             `json:"status"`
	}
	if json.Unmarshal(fields, &raw) == nil {
		e.Message = messageText(raw.Message)
		if raw.Type != nil {
			e.Type = *raw.Type
		}
		if raw.Param != nil {
			e.Param = *raw.Param
		}
		if c := codeText(raw.Code); c != "" {
			e.Code = c
		}
	}
	if e.Message == "" {
		e.Message, _ = stringError(body)
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("upstream answered %d %s", status, http.StatusText(status))
	}
	if e.Type == "" {
		e.Type = TypeForStatus(e.Status)
	}
	return e
}

// stringError reads Ollama's `{"error":"text"}` form.
func stringError(body []byte) (string, bool) {
	var v struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || v.Error == "" {
		return "", false
	}
	return v.Error, true
}

// messageText accepts a string message or go-openai's tolerated array form.
func messageText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []string
	if json.Unmarshal(raw, &parts) == nil {
		return strings.Join(parts, "\n")
	}
	return ""
}

// codeText turns a string or numeric code into a string; null gives "".
func codeText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// retryAfter reads retry-after-ms or retry-after (seconds or HTTP date).
func retryAfter(h http.Header) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// rateLimitReset reads when an exhausted OpenAI-style rate limit resets,
// for a 429 that carries no Retry-After: the latest reset of the limits
// (requests, tokens) whose remaining count is 0. A reset is a duration
// ("1s", "6m0s", "20ms") or a number of seconds.
func rateLimitReset(h http.Header) time.Duration {
	var longest time.Duration
	for _, kind := range [...]string{"requests", "tokens"} {
		if strings.TrimSpace(h.Get("X-Ratelimit-Remaining-"+kind)) != "0" {
			continue
		}
		v := strings.TrimSpace(h.Get("X-Ratelimit-Reset-" + kind))
		d, err := time.ParseDuration(v)
		if err != nil {
			s, serr := strconv.ParseFloat(v, 64)
			if serr != nil {
				continue
			}
			d = time.Duration(s * float64(time.Second))
		}
		longest = max(longest, d)
	}
	return longest
}

// TransportError is a failure to get any answer from an upstream: it could
// not be reached, or the connection broke before a status arrived.
type TransportError struct {
	Provider string
	Err      error
}

// Error reports the cause without the request URL, which may hold a secret
// (some providers take their key as a query parameter).
func (e *TransportError) Error() string {
	err := e.Err
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Sprintf("provider %s: %v", e.Provider, err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// ErrTruncated reports an upstream stream that ended without its terminal
// marker: the answer is incomplete.
var ErrTruncated = errors.New("upstream ended the stream before it was complete")

// Clip shortens a client's value quoted back in an error message to at
// most limit bytes (on a character boundary), so a huge or hostile value
// is not sent back whole.
func Clip(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
