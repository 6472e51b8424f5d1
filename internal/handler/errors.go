package handler

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// statusClientClosed is logged (never sent) when the client left first.
const statusClientClosed = 499

// writeError answers with OpenAI's error envelope. The gateway writes these
// bodies itself: a caddyhttp.Error would reach clients as an empty body.
func writeError(w http.ResponseWriter, e *providers.Error) {
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

// retryAfterSeconds is a whole number of seconds, at least 1, as clients
// parse Retry-After as an integer.
func retryAfterSeconds(e *providers.Error) int {
	s := int(math.Ceil(e.RetryAfter.Seconds()))
	if s < 1 {
		return 1
	}
	return s
}

// upstreamError turns a failed provider call into the error the client
// gets. ctx is the client request's own context (not the one bounded by the
// gateway's timeout): when it is done, the client went away.
func upstreamError(ctx context.Context, provider string, err error) *providers.Error {
	if e, ok := errors.AsType[*providers.Error](err); ok {
		return e
	}
	switch {
	case ctx.Err() != nil:
		return &providers.Error{Status: statusClientClosed, Message: "client closed the request"}
	case errors.Is(err, context.DeadlineExceeded):
		return providers.NewError(http.StatusGatewayTimeout, "upstream_timeout",
			"the upstream provider "+provider+" did not answer in time")
	case errors.Is(err, providers.ErrTruncated):
		return providers.NewError(http.StatusBadGateway, "upstream_error",
			"the upstream provider "+provider+" ended its answer before it was complete")
	default:
		return providers.NewError(http.StatusBadGateway, "upstream_error",
			"the upstream provider "+provider+" could not be reached")
	}
}

// retryable reports whether another target may succeed where this one
// failed: connection failures, timeouts, 408, 429 and 5xx. Other client
// errors would fail the same way everywhere, and so would an answer too
// large to take.
func retryable(e *providers.Error) bool {
	if e.Code == providers.CodeResponseTooLarge {
		return false
	}
	switch e.Status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case statusClientClosed:
		return false
	}
	return e.Status >= 500
}
