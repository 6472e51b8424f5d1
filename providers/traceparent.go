package providers

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceContext writes W3C traceparent and tracestate headers.
var traceContext propagation.TraceContext

// propagateTrace gives the upstream request the trace of the call it
// belongs to, when Caddy's `tracing` is on: the upstream's own spans then
// join the gateway's trace.
func propagateTrace(ctx context.Context, h http.Header) {
	if trace.SpanContextFromContext(ctx).IsValid() {
		traceContext.Inject(ctx, propagation.HeaderCarrier(h))
	}
}
