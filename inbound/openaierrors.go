package inbound

import (
	"math"
	"net/http"
	"strconv"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// OpenAIErrors writes errors in OpenAI's shape, as the hub answers its
// own endpoints; a door whose clients are OpenAI's embeds it.
type OpenAIErrors struct{}

// WriteError answers with OpenAI's error envelope, and a Retry-After for
// 429 and 503. The gateway writes these bodies itself: a caddyhttp.Error
// would reach clients as an empty body.
func (OpenAIErrors) WriteError(w http.ResponseWriter, e *providers.Error, _ bool) {
	h := w.Header()
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(e)))
	}
	body, err := e.MarshalJSON()
	if err != nil { // cannot happen for these field types; keep the status
		body = []byte(`{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}`)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// retryAfterSeconds is e's wait as a whole number of seconds, at least 1,
// as clients parse Retry-After as an integer.
func retryAfterSeconds(e *providers.Error) int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// Interface guards
var _ ErrorWriter = OpenAIErrors{}
