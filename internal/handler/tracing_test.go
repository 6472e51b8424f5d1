package handler

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/llmgateway/caddy-llm-gateway/internal/pricing"
)

// TestGenAISpans: under a request span (as Caddy's tracing opens one),
// the request span gets the call's gen_ai.* attributes, each upstream
// attempt is a client span of its own, and the upstream sees the
// attempt's traceparent.
func TestGenAISpans(t *testing.T) {
	var calls atomic.Int32
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"message":"busy","type":"server_error","param":null,"code":null}}`)
			return
		}
		_, _ = io.WriteString(w, cachedUsageAnswer)
	})
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	h, err := New(ready(Config{
		Routes:      []Route{route("priced", Target{Provider: openAIProvider(t, "oai", up.URL), Model: "claude-sonnet"})},
		Prices:      &pricing.Book{Models: map[string]pricing.Price{"priced": sonnetPrice}},
		MaxAttempts: 2,
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tp.Tracer("caddy").Start(r.Context(), "POST /v1/chat/completions", trace.WithSpanKind(trace.SpanKindServer))
		h.ServeHTTP(w, r.WithContext(ctx))
		span.End()
	}))
	t.Cleanup(srv.Close)

	resp, body := postWith(t, srv.URL+"/v1/chat/completions", `{"model":"priced","messages":[{"role":"user","content":"hi"}]}`, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	eventually(t, "three spans end", func() bool { return len(recorder.Ended()) == 3 })
	spans := recorder.Ended()
	failed, served, request := spans[0], spans[1], spans[2]
	for _, s := range []sdktrace.ReadOnlySpan{failed, served} {
		if s.Name() != "chat claude-sonnet" || s.SpanKind() != trace.SpanKindClient || s.Parent().SpanID() != request.SpanContext().SpanID() {
			t.Errorf("attempt span %q kind %v, parent %v; want a client span under the request's", s.Name(), s.SpanKind(), s.Parent().SpanID())
		}
	}
	if failed.Status().Code != codes.Error || !hasAttr(failed, attribute.String("error.type", "503")) {
		t.Errorf("the failed attempt: status %v, attributes %v", failed.Status(), failed.Attributes())
	}
	for _, want := range []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", "openai"),
		attribute.String("gen_ai.request.model", "priced"),
		attribute.String("gen_ai.response.model", "claude-sonnet"),
		attribute.Int("gen_ai.usage.input_tokens", 1000),
		attribute.Int("gen_ai.usage.output_tokens", 500),
		attribute.String("llm_gateway.cost_usd", "0.00984"),
		attribute.Int("llm_gateway.attempts", 2),
	} {
		if !hasAttr(request, want) {
			t.Errorf("the request span lacks %s=%v: %v", want.Key, want.Value.Emit(), request.Attributes())
		}
	}
	up.last(t) // the failed call
	sent := up.last(t).header.Get("Traceparent")
	if !strings.Contains(sent, served.SpanContext().SpanID().String()) || !strings.Contains(sent, request.SpanContext().TraceID().String()) {
		t.Errorf("the upstream got traceparent %q, want the served attempt's span %s", sent, served.SpanContext().SpanID())
	}
}

func hasAttr(s sdktrace.ReadOnlySpan, want attribute.KeyValue) bool {
	for _, a := range s.Attributes() {
		if a == want {
			return true
		}
	}
	return false
}

// Without tracing, nothing is traced and no traceparent goes upstream.
func TestNoSpansWithoutTracing(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, chatCompletion) })
	gw := gateway(t, Config{Routes: []Route{route("m", Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	postWith(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, nil)
	if got := up.last(t).header.Get("Traceparent"); got != "" {
		t.Errorf("traceparent %q sent without tracing", got)
	}
}
