package handler

import (
	"net"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// logRequest adds the gateway's fields to Caddy's access log line of r and
// writes the gateway's own line: one per request, an error from status 500 on.
func (h *Handler) logRequest(r *http.Request, x *exchange, duration time.Duration) {
	if extra, ok := r.Context().Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields); ok {
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
	fields := make([]zap.Field, 0, 24)
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
	if x.priced {
		fields = append(fields, zap.String("cost_usd", x.cost.String()))
	}
	if f, ok := x.cache.logField(); ok {
		fields = append(fields, f)
	}
	if key := x.callerName(); key != "" {
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
	if x.failureCause != "" {
		// What the client's message leaves out: where, and why.
		fields = append(fields, zap.String("upstream_host", x.upstreamHost), zap.String("cause", x.failureCause))
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
