package handler

import (
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llmgateway/caddy-llm-gateway/internal/pricing"
)

// sonnetPrice is $3 input, $15 output, $0.30 cache read and $3.75 cache
// write per million tokens.
var sonnetPrice = pricing.Price{Input: 3_000_000_000, Output: 15_000_000_000, CachedInput: 300_000_000, CacheWrite: 3_750_000_000}

const cachedUsageAnswer = `{"id":"chatcmpl-1","object":"chat.completion","created":1735689600,"model":"m","choices":[{"index":0,"logprobs":null,"finish_reason":"stop","message":{"role":"assistant","content":"Hi.","refusal":null}}],` +
	`"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":300,"cache_write_tokens":200}}}`

// costGateway routes priced, unpriced and listed to one OpenAI upstream;
// priced has its own price, listed is priced by the list's entry for its
// upstream model.
func costGateway(t *testing.T, upstreamURL string, logger *zap.Logger) string {
	p := openAIProvider(t, "oai", upstreamURL)
	return gateway(t, Config{
		Logger: logger,
		Routes: []Route{
			route("priced", Target{Provider: p, Model: "claude-sonnet"}),
			route("unpriced", Target{Provider: p}),
			route("listed", Target{Provider: p, Model: "gpt-4o"}),
		},
		Prices: &pricing.Book{
			Models:        map[string]pricing.Price{"priced": sonnetPrice},
			Table:         pricing.Table{"openai/gpt-4o": {Input: 2_500_000_000, Output: 10_000_000_000, CachedInput: 1_250_000_000, CacheWrite: 2_500_000_000}},
			ProviderTypes: map[string]string{"oai": "openai"},
		},
	}).URL
}

func TestCostHeaderIsExact(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, cachedUsageAnswer) })
	core, logs := observer.New(zapcore.InfoLevel)
	gw := costGateway(t, up.URL, zap.New(core))
	for _, tc := range []struct {
		model, want string
	}{
		// 500×3 + 300×0.30 + 200×3.75 + 500×15 µ$ = 9840 µ$.
		{"priced", "0.00984"},
		// 500×2.5 + 300×1.25 + 200×2.5 + 500×10 µ$ = 7125 µ$.
		{"listed", "0.007125"},
		{"unpriced", ""},
	} {
		before := testutil.ToFloat64(costTotal.WithLabelValues(tc.model, "oai"))
		logged := len(logs.FilterMessage("handled request").All())
		resp, body := postWith(t, gw+"/v1/chat/completions", `{"model":"`+tc.model+`","messages":[{"role":"user","content":"hi"}]}`, nil)
		if resp.StatusCode != http.StatusOK || body != cachedUsageAnswer {
			t.Fatalf("%s: %d %s, want the upstream's answer untouched", tc.model, resp.StatusCode, body)
		}
		if got := resp.Header.Get("X-LLM-Gateway-Cost"); got != tc.want {
			t.Errorf("%s: X-LLM-Gateway-Cost = %q, want %q", tc.model, got, tc.want)
		}
		if resp.Header.Get("Content-Length") != "" && resp.ContentLength != int64(len(cachedUsageAnswer)) {
			t.Errorf("%s: Content-Length %d, want %d", tc.model, resp.ContentLength, len(cachedUsageAnswer))
		}
		eventually(t, "the request is logged", func() bool { return len(logs.FilterMessage("handled request").All()) > logged })
		line := lastLine(t, logs)
		if got, _ := line["cost_usd"].(string); got != tc.want {
			t.Errorf("%s: logged cost_usd %q, want %q", tc.model, got, tc.want)
		}
		want := 0.0
		if tc.want != "" {
			n, _ := pricing.ParseUSD(tc.want)
			want = n.USD()
		}
		if got := testutil.ToFloat64(costTotal.WithLabelValues(tc.model, "oai")) - before; math.Abs(got-want) > 1e-12 {
			t.Errorf("%s: cost metric grew by %v, want %v", tc.model, got, want)
		}
	}
}

func TestStreamCostIsCounted(t *testing.T) {
	const streamUsage = `data: {"id":"chatcmpl-9x2","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":300,"cache_write_tokens":200}}}`
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		body := readAll(t, r.Body)
		if strings.Contains(body, "cut short") {
			// Two chunks, then the upstream is gone: no usage, no [DONE].
			writeSSE(w, roleChunk, chunk("chatcmpl-9x2", "Hel"))
			return
		}
		writeSSE(w, roleChunk, chunk("chatcmpl-9x2", "Hi."), finishChunk, streamUsage, doneEventLine)
	})
	core, logs := observer.New(zapcore.InfoLevel)
	gw := costGateway(t, up.URL, zap.New(core))

	for _, tc := range []struct {
		name, content string
		want          func(body string) pricing.Nanodollars
	}{
		{"usage reported", "hi", func(string) pricing.Nanodollars { return 9_840_000 }},
		{"cut short", "cut short", func(body string) pricing.Nanodollars {
			// The prompt's estimate at the input price, a token per chunk relayed at the output price.
			return sonnetPrice.Cost(pricing.Usage{Prompt: int64(len(body))/4 + 1, Completion: 2})
		}},
	} {
		sent := `{"model":"priced","stream":true,"messages":[{"role":"user","content":"` + tc.content + `"}]}`
		before := testutil.ToFloat64(costTotal.WithLabelValues("priced", "oai"))
		logged := len(logs.FilterMessage("handled request").All())
		resp, _ := postWith(t, gw+"/v1/chat/completions", sent, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", tc.name, resp.StatusCode)
		}
		if got := resp.Header.Get("X-LLM-Gateway-Cost"); got != "" {
			t.Errorf("%s: a stream carries a cost header %q before its usage is known", tc.name, got)
		}
		eventually(t, "the request is logged", func() bool { return len(logs.FilterMessage("handled request").All()) > logged })
		want := tc.want(sent)
		if got, _ := lastLine(t, logs)["cost_usd"].(string); got != want.String() {
			t.Errorf("%s: logged cost_usd %q, want %q", tc.name, got, want)
		}
		if got := testutil.ToFloat64(costTotal.WithLabelValues("priced", "oai")) - before; math.Abs(got-want.USD()) > 1e-12 {
			t.Errorf("%s: cost metric grew by %v, want %v", tc.name, got, want.USD())
		}
	}
}
