package integration

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// exportedSpan is a span as OpenTelemetry's console exporter writes it.
type exportedSpan struct {
	Name        string
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct{ SpanID string }
	Attributes  []struct {
		Key   string
		Value struct{ Value any }
	}
}

func (s exportedSpan) attr(key string) any {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.Value
		}
	}
	return nil
}

// TestGenAITraceThroughCaddy: with Caddy's `tracing` on (spans written by
// the console exporter), a chat request's span carries the GenAI
// attributes and the cost, the upstream call is its child span, and the
// upstream gets that span's traceparent.
func TestGenAITraceThroughCaddy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Caddy as a process")
	}
	up := providertest.NewUpstream(t, providertest.OpenAI.JSON(http.StatusOK, `{"id":"chatcmpl-1","object":"chat.completion","created":1735689600,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500}}`))
	url, output := startCaddySite(t, buildCaddy(t), `	tracing {
		span gateway
	}
	llm_gateway {
		provider up openai {
			base_url `+up.URL+`
			api_key sk-upstream
		}
		model traced up/gpt-4o
		price traced {
			input 2.50
			output 10
		}
	}
`, []string{"OTEL_TRACES_EXPORTER=console", "OTEL_BSP_SCHEDULE_DELAY=50", "OTEL_SERVICE_NAME=gateway-test"})

	if got := chat(t, freshHTTP(), url, "traced", nil); got.status != http.StatusOK {
		t.Fatalf("status %d: %s", got.status, got.body)
	}
	// The chat call's request, whatever else (a model list) reached the
	// upstream after it.
	var calls []providertest.Request
	for _, req := range up.Requests() {
		if req.Method == http.MethodPost && strings.HasSuffix(req.Path, "/chat/completions") {
			calls = append(calls, req)
		}
	}
	if len(calls) != 1 {
		t.Fatalf("%d chat calls reached the upstream, want 1", len(calls))
	}
	traceparent := calls[0].Header.Get("Traceparent")

	// The batch exporter writes every 50 ms; the two spans come within
	// the deadline or the test fails.
	var request, attempt *exportedSpan
	for deadline := time.Now().Add(10 * time.Second); request == nil || attempt == nil; time.Sleep(50 * time.Millisecond) { // polling an exporter's file
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(output)
			t.Fatalf("no request and attempt spans exported within 10 s:\n%s", out)
		}
		// The request span is the attempt's parent, written after it (the
		// readiness checks made spans named "gateway" too).
		spans := exportedSpans(t, output)
		for _, s := range spans {
			if s.Name == "chat gpt-4o" {
				attempt = &s
			}
		}
		for _, s := range spans {
			if attempt != nil && s.SpanContext.SpanID == attempt.Parent.SpanID {
				request = &s
			}
		}
	}
	if request.Name != "gateway" {
		t.Errorf("the attempt's parent is %q, want the request span Caddy's tracing named gateway", request.Name)
	}
	for key, want := range map[string]any{
		"gen_ai.operation.name":      "chat",
		"gen_ai.provider.name":       "openai",
		"gen_ai.request.model":       "traced",
		"gen_ai.response.model":      "gpt-4o",
		"gen_ai.usage.input_tokens":  1000.0,
		"gen_ai.usage.output_tokens": 500.0,
		"llm_gateway.cost_usd":       "0.0075",
	} {
		if got := request.attr(key); got != want {
			t.Errorf("request span %s = %v, want %v", key, got, want)
		}
	}
	if attempt.attr("server.address") != strings.TrimPrefix(up.URL, "http://") || attempt.attr("gen_ai.provider.name") != "openai" {
		t.Errorf("attempt span server.address %v, gen_ai.provider.name %v", attempt.attr("server.address"), attempt.attr("gen_ai.provider.name"))
	}
	if want := "00-" + attempt.SpanContext.TraceID + "-" + attempt.SpanContext.SpanID + "-01"; traceparent != want {
		t.Errorf("the upstream got traceparent %q, want the attempt span's %q", traceparent, want)
	}
}

// exportedSpans reads the spans the console exporter has written so far
// among Caddy's other output.
func exportedSpans(t *testing.T, path string) []exportedSpan {
	t.Helper()
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var spans []exportedSpan
	// The exporter writes one JSON object per line and span. The other
	// lines are logs: JSON without a SpanContext, and a few that are not
	// JSON at all (CertMagic's, such as a stale storage lock's notice),
	// which must not hide the spans after them; so is a line cut short
	// while written.
	for line := range bytes.Lines(out) {
		var s exportedSpan
		if json.Unmarshal(line, &s) == nil && s.SpanContext.SpanID != "" {
			spans = append(spans, s)
		}
	}
	return spans
}
