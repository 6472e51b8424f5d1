package handler

import (
	"context"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// The gateway's spans follow OpenTelemetry's semantic conventions for
// generative AI, version 1.37.0 (status: Development): the request span
// Caddy's `tracing` directive opens carries the call's gen_ai.*
// attributes, and each upstream attempt is a client span of its own.
const tracerName = "github.com/llmgateway/caddy-llm-gateway"

// genAIOperation is gen_ai.operation.name of an operation; the doors'
// APIs (Responses, Messages) are chats.
func genAIOperation(op providers.Operation) string {
	switch op {
	case providers.Completions:
		return "text_completion"
	case providers.Embeddings:
		return "embeddings"
	}
	return "chat"
}

// genAIProviders are the convention's names of provider types that have
// one; other types are named as in the Caddyfile.
var genAIProviders = map[string]string{"azure": "azure.ai.openai", "gemini": "gcp.gemini"}

// genAIProvider is gen_ai.provider.name of a provider.
func genAIProvider(p providers.Provider) string {
	typ := p.Config().Name
	if m, ok := unwrap(p).(caddy.Module); ok {
		typ = m.CaddyModule().ID.Name()
	}
	if name, ok := genAIProviders[typ]; ok {
		return name
	}
	return typ
}

// requestSpan is the span Caddy's tracing opened for r; nil when tracing
// is off.
func requestSpan(r *http.Request) trace.Span {
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
		return span
	}
	return nil
}

// startAttempt opens the client span of one upstream call, as a child of
// the request's.
func (x *exchange) startAttempt(ctx context.Context, p providers.Provider, call *providers.Call) (context.Context, trace.Span) {
	operation := genAIOperation(call.Op)
	return x.span.TracerProvider().Tracer(tracerName).Start(ctx, operation+" "+call.Model,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("gen_ai.operation.name", operation),
			attribute.String("gen_ai.provider.name", genAIProvider(p)),
			attribute.String("gen_ai.request.model", call.Model),
			attribute.String("server.address", hostOf(p)),
			attribute.String("llm_gateway.provider", p.Config().Name),
			attribute.Int("llm_gateway.attempt", x.attempts),
		))
}

// endAttempt closes an attempt's span with its failure, if it failed.
func endAttempt(span trace.Span, failure *providers.Error) {
	if span == nil {
		return
	}
	if failure != nil {
		span.SetAttributes(attribute.String("error.type", strconv.Itoa(failure.Status)))
		span.SetStatus(codes.Error, failure.Message)
	}
	span.End()
}

// traceRequest puts what the gateway knows of the call on the request's
// span, once it has ended.
func (x *exchange) traceRequest() {
	if x.span == nil {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", genAIOperation(x.op)),
		attribute.String("gen_ai.request.model", x.model),
	}
	if x.provider != "" {
		attrs = append(attrs,
			attribute.String("gen_ai.provider.name", x.genAIProvider),
			attribute.String("gen_ai.response.model", x.upstreamModel),
			attribute.String("llm_gateway.provider", x.provider),
			attribute.Int("llm_gateway.attempts", x.attempts))
	}
	if x.usage.known {
		attrs = append(attrs,
			attribute.Int("gen_ai.usage.input_tokens", x.usage.PromptTokens),
			attribute.Int("gen_ai.usage.output_tokens", x.usage.CompletionTokens))
	}
	if x.priced {
		attrs = append(attrs, attribute.String("llm_gateway.cost_usd", x.cost.String()))
	}
	if x.outcome != "" {
		attrs = append(attrs, attribute.String("llm_gateway.outcome", x.outcome))
	}
	x.span.SetAttributes(attrs...)
}
