package handler

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

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
	// The native API's endpoints answer errors in their own shape; they
	// hand the pipeline a writer that renders them.
	if nw, ok := w.(failureWriter); ok {
		nw.writeFailure(e, x.attempts > 0)
		return
	}
	writeError(w, e)
}

// failureWriter is a response writer that writes the pipeline's errors in
// a shape of its own. fromUpstream says the error came from a provider
// rather than from the gateway's own checks.
type failureWriter interface {
	writeFailure(e *providers.Error, fromUpstream bool)
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

// metricLabels are the bounded label values for this exchange: the route's
// configured name rather than the free-form requested model.
func (x *exchange) metricLabels() (model, provider string) {
	model, provider = x.route, x.provider
	if model == "" {
		model = "none"
	}
	if provider == "" {
		provider = "none"
	}
	return model, provider
}

// finish records the exchange in metrics, placeholders and the log.
func (h *Handler) finish(r *http.Request, x *exchange) {
	duration := time.Since(x.start)
	model, provider := x.metricLabels()
	status := strconv.Itoa(x.status)
	requestsTotal.WithLabelValues(model, provider, status).Inc()
	requestDuration.WithLabelValues(model, provider).Observe(duration.Seconds())
	overheadSeconds.Observe(x.overhead.Seconds())
	if x.firstByte > 0 && x.status == http.StatusOK {
		timeToFirstToken.WithLabelValues(model, provider).Observe(x.firstByte.Seconds())
	}
	if x.usage.known {
		tokensTotal.WithLabelValues(model, provider, "prompt").Add(float64(x.usage.PromptTokens))
		tokensTotal.WithLabelValues(model, provider, "completion").Add(float64(x.usage.CompletionTokens))
	}

	var key string
	if x.caller != nil {
		key = x.caller.Name
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.llm_gateway.model", x.model)
		repl.Set("http.llm_gateway.provider", x.provider)
		repl.Set("http.llm_gateway.upstream_model", x.upstreamModel)
		repl.Set("http.llm_gateway.attempts", x.attempts)
		repl.Set("http.llm_gateway.prompt_tokens", x.usage.PromptTokens)
		repl.Set("http.llm_gateway.completion_tokens", x.usage.CompletionTokens)
		repl.Set("http.llm_gateway.overhead_ms", float64(x.overhead)/float64(time.Millisecond))
	}
	// The same values as Caddy vars, which the access log can include
	// (`log_append`) and matchers can test, e.g. {http.vars.llm_gateway.model}.
	// The table is looked up once: caddyhttp.SetVar walks the whole
	// context chain for every value.
	ctx := r.Context()
	if vars, ok := ctx.Value(caddyhttp.VarsCtxKey).(map[string]any); ok {
		vars["llm_gateway.model"] = x.model
		vars["llm_gateway.provider"] = x.provider
		vars["llm_gateway.upstream_model"] = x.upstreamModel
		vars["llm_gateway.key"] = key
		vars["llm_gateway.stream"] = x.stream
		vars["llm_gateway.attempts"] = x.attempts
		vars["llm_gateway.prompt_tokens"] = x.usage.PromptTokens
		vars["llm_gateway.completion_tokens"] = x.usage.CompletionTokens
		vars["llm_gateway.ttft_ms"] = float64(x.firstByte) / float64(time.Millisecond)
		vars["llm_gateway.overhead_ms"] = float64(x.overhead) / float64(time.Millisecond)
	}
	if extra, ok := ctx.Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields); ok {
		// One inline field instead of four: each change of the list
		// costs Caddy an allocation, and finish runs once per request.
		extra.Add(zap.Inline((*accessLogFields)(x)))
	}

	level := zapcore.InfoLevel
	if x.status >= 500 {
		level = zapcore.ErrorLevel
	}
	ce := h.cfg.Logger.Check(level, "handled request")
	if ce == nil {
		return
	}
	// Room for every optional field too: growing the slice would copy it
	// into one twice its size.
	fields := make([]zap.Field, 0, 20)
	fields = append(fields,
		zap.String("client_ip", clientIP(r)),
		zap.String("path", r.URL.Path),
		zap.String("operation", string(x.op)),
		zap.String("model", x.model),
		zap.String("provider", x.provider),
		zap.String("upstream_model", x.upstreamModel),
		zap.Int("status", x.status),
		zap.Bool("stream", x.stream),
		zap.Int("prompt_tokens", x.usage.PromptTokens),
		zap.Int("completion_tokens", x.usage.CompletionTokens),
		zap.Duration("ttft", x.firstByte),
		zap.Duration("duration", duration),
		zap.Duration("overhead", x.overhead),
		zap.Int("attempts", x.attempts),
	)
	if key != "" {
		fields = append(fields, zap.String("key", key))
	}
	if id := requestID(r); id != "" {
		fields = append(fields, zap.String("request_id", id))
	}
	if id := upstreamRequestID(r); id != "" {
		fields = append(fields, zap.String("upstream_request_id", id))
	}
	if x.outcome != "" {
		fields = append(fields, zap.String("outcome", x.outcome))
	}
	if x.keepalives > 0 {
		fields = append(fields, zap.Int("keepalives", x.keepalives))
	}
	if x.streamError != "" {
		fields = append(fields, zap.String("stream_error", x.streamError))
	}
	ce.Write(fields...)
}

// accessLogFields are the fields the gateway adds to Caddy's access log
// line of a request.
type accessLogFields exchange

// MarshalLogObject writes the fields at the top level of the line.
func (f *accessLogFields) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("llm_model", f.model)
	enc.AddString("llm_provider", f.provider)
	enc.AddInt("llm_prompt_tokens", f.usage.PromptTokens)
	enc.AddInt("llm_completion_tokens", f.usage.CompletionTokens)
	return nil
}

// clientIP is Caddy's idea of the client's address (which honours the
// server's trusted_proxies), else the connection's.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
