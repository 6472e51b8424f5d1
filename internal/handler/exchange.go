package handler

import (
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/pricing"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// exchange records one request as it goes, for the response headers, the
// metrics and the log line.
type exchange struct {
	start         time.Time
	caller        *Caller
	op            providers.Operation
	model         string // as the client asked
	route         string // the route that served it: a public name or "*"
	provider      string // the last provider tried
	upstreamModel string
	upstreamHost  string // the host of the last provider tried
	failureCause  string // why the last failed call got no answer, for the log
	stream        bool
	attempts      int
	status        int
	outcome       string // empty when all went well
	streamError   string
	upstreamWait  time.Duration // time spent waiting on upstreams
	overhead      time.Duration
	firstByte     time.Duration // until the first byte of the answer was written
	usage         usage
	chunks        int64 // stream chunks relayed to the client
	streamOpen    bool  // the headers of an event stream went out
	keepalives    int   // keepalive lines sent before the first chunk
	limits        limitState
	cost          pricing.Nanodollars // what the call cost, once priced
	priced        bool
	budget        budgetState
	cache         cacheState
	// span is the request's trace span, nil unless Caddy's tracing is on;
	// genAIProvider is the last provider tried, in its span attributes.
	span          trace.Span
	genAIProvider string
	// errors writes the errors of a door's request; nil for OpenAI's.
	errors inbound.ErrorWriter
	// translator renders the answer of a door's request; nil for OpenAI's.
	translator inbound.Translator
}

// fail answers with e, unless the client is already gone.
func (x *exchange) fail(w http.ResponseWriter, e *providers.Error) {
	x.status = e.Status
	if x.outcome == "" {
		x.outcome = e.Code
		if x.outcome == "" {
			x.outcome = e.Type
		}
	}
	if e.Status == statusClientClosed {
		x.outcome = "client_closed"
		return
	}
	h := w.Header()
	for k, v := range e.Header { // the upstream's, before the gateway's own
		h[k] = v
	}
	x.writeOverhead(h)
	if x.errors != nil {
		x.errors.WriteError(w, e, x.attempts > 0)
		return
	}
	writeError(w, e)
}

// writeOverhead sets X-LLM-Gateway-Overhead-Ms, the time spent so far
// minus the time spent waiting on upstreams, and the rate-limit headers.
func (x *exchange) writeOverhead(h http.Header) {
	x.limits.writeHeaders(h)
	x.overhead = time.Since(x.start) - x.upstreamWait
	if x.overhead < 0 {
		x.overhead = 0
	}
	h.Set("X-Llm-Gateway-Overhead-Ms", strconv.FormatFloat(float64(x.overhead)/float64(time.Millisecond), 'f', 3, 64))
}

// finish records the exchange in metrics, placeholders and the log.
func (h *Handler) finish(r *http.Request, x *exchange) {
	duration := time.Since(x.start)
	h.settleCost(x)
	x.observe(duration)
	x.traceRequest()
	setPlaceholders(r, x)
	// Only a door's requests can be batch items: chat requests skip the
	// walk up the context chain.
	if x.errors != nil {
		if b := batchOf(r); b != nil {
			b.add(x)
		}
	}
	h.logRequest(r, x, duration)
}

// producedNothing reports whether the request failed before any of an
// answer reached the client: nothing was used to be charged for.
func (x *exchange) producedNothing() bool {
	return x.status != http.StatusOK && x.chunks == 0 && x.firstByte == 0
}

// callerName is the name of the key that made the request, or "".
func (x *exchange) callerName() string {
	if x.caller == nil {
		return ""
	}
	return x.caller.Name
}
