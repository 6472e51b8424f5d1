package handler

import (
	"context"
	"errors"
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// statusClientClosed is logged (never sent) when the client left first.
const statusClientClosed = 499

// writeError answers with OpenAI's error envelope.
func writeError(w http.ResponseWriter, e *providers.Error) {
	inbound.OpenAIErrors{}.WriteError(w, e, false)
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
