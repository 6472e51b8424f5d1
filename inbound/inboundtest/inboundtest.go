// Package inboundtest is what the doors' tests share: the pipeline served
// over real HTTP with the root module's defaults, and a provider that
// streams a canned chat answer from memory, for benchmarks that measure
// a door's cost on top of the chat relay's.
package inboundtest

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Serve runs the pipeline of cfg over real HTTP, so flushing and client
// disconnects behave as in production; a request the gateway does not
// serve gets 418 from the next handler. The bounds cfg leaves unset get
// the root module's defaults. It returns the server's URL.
func Serve(t testing.TB, cfg handler.Config) string {
	t.Helper()
	h, err := handler.New(withDefaults(cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.ServeHTTP(w, r) {
			http.Error(w, "next handler", http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func withDefaults(cfg handler.Config) handler.Config {
	cfg.MaxBody = cmp.Or(cfg.MaxBody, 1<<20)
	cfg.Timeout = cmp.Or(cfg.Timeout, time.Minute)
	cfg.FirstTokenTimeout = cmp.Or(cfg.FirstTokenTimeout, time.Minute)
	cfg.StreamIdleTimeout = cmp.Or(cfg.StreamIdleTimeout, 5*time.Minute)
	cfg.Cooldown = cmp.Or(cfg.Cooldown, 10*time.Second)
	return cfg
}

// CannedProvider answers every call at once, from memory: a streamed
// call with Stream, another with Answer.
type CannedProvider struct {
	providers.Base
	// Stream is an OpenAI chat event stream; CannedStream makes one.
	Stream string
	// Answer is an OpenAI chat completion; CannedAnswer makes one.
	Answer string
}

// Send answers with the canned stream or answer.
func (p *CannedProvider) Send(_ context.Context, call *providers.Call) (*providers.Response, error) {
	if !call.Stream {
		return providers.BytesResponse([]byte(p.Answer)), nil
	}
	resp := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(p.Stream))}
	return providers.OpenAIResponse(resp, true), nil
}

// CannedStream is an answer of n content chunks as OpenAI streams it: the
// role chunk, the content, the finish chunk, the usage chunk, [DONE].
func CannedStream(n int) string {
	const head = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini","choices":[`
	var b strings.Builder
	b.WriteString(head + `{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	for range n {
		b.WriteString(head + `{"index":0,"delta":{"content":"tok "},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	}
	b.WriteString(head + `{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}` + "\n\n")
	b.WriteString(head + `],"usage":{"prompt_tokens":21,"completion_tokens":` + strconv.Itoa(n) + `,"total_tokens":` + strconv.Itoa(21+n) + `}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

// CannedAnswer is the answer CannedStream streams, as one chat
// completion.
func CannedAnswer(n int) string {
	return `{"id":"chatcmpl-bench","object":"chat.completion","created":1735689600,"model":"gpt-4o-mini","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":"` + strings.Repeat("tok ", n) + `","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":21,"completion_tokens":` + strconv.Itoa(n) + `,"total_tokens":` + strconv.Itoa(21+n) + `}}`
}

// ChatCompletions are chat completions, some of them odd, that a door must
// read as json.Unmarshal reads them, or refuse as it does.
var ChatCompletions = []string{
	`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi <b> \u00e9 \n","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":1}},"system_fingerprint":"fp"}`,
	`{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls","stop_reason":"END"}],"usage":null}`,
	`{"choices":[{"message":{"content":"x","reasoning_content":"think","refusal":"no"},"finish_reason":null,"stop_reason":null}]}`,
	`{"choices":[{"message":{"content":"x"}},{"message":{"content":"y"}}]}`,
	`{"choices":[{"message":{"Content":"x"}}]}`,
	`{"choices":[{"message":{"content":5}}]}`,
	`{"choices":[{"message":{"content":"a","content":"b"}}]}`,
	`{"choices":[{"message":{"tool_calls":[{"id":5}]}}]}`,
	`{"choices":[{"message":null}]}`,
	`{"choices":[null]}`,
	`{"choices":[]}`,
	`{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":"1"}}`,
	`{"choices":[{"message":{"content":"x"},"finish_reason":"length"}],"usage":{"prompt_tokens":1.5}}`,
	"{\"choices\":[{\"message\":{\"content\":\"bad \xff\"}}]}",
	` { "choices" : [ { "message" : { "content" : "sp" } } ] } `,
	`not json`,
	`{"choices":[{"message":{"content":"x"}}]} x`,
}

// Request is one benchmarked request: the answer must be 200 and hold End.
type Request struct {
	Name, Path, Body, End string
}

// tailWriter is the client of a benchmarked request: it keeps the end of
// the answer alone, as a connection keeps nothing, so that the answer's
// size costs no more than the gateway's writes of it.
type tailWriter struct {
	header http.Header
	code   int
	tail   []byte
}

func (w *tailWriter) Header() http.Header { return w.header }

func (w *tailWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

// tailSize is how much of an answer a tailWriter keeps: enough for the
// last event of a stream, or a whole answer.
const tailSize = 8 << 10

func (w *tailWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	n := len(p)
	p = p[max(0, len(p)-tailSize):]
	if len(w.tail)+len(p) > cap(w.tail) {
		keep := max(0, tailSize-len(p))
		w.tail = w.tail[:copy(w.tail, w.tail[max(0, len(w.tail)-keep):])]
	}
	w.tail = append(w.tail, p...)
	return n, nil
}

// reset readies w for the next request.
func (w *tailWriter) reset() {
	clear(w.header)
	w.code, w.tail = 0, w.tail[:0]
}

func (w *tailWriter) Flush() {}

// Benchmark serves each request in turn behind door, every model going to
// a CannedProvider of a 50-chunk answer, streamed or not, with the
// gateway's work done in this goroutine (no network): a sub-benchmark
// each, allocations reported, and the process's CPU time per request
// (cpu-ns/op), which the other work of a shared machine slows less than
// the wall time of ns/op.
func Benchmark(b *testing.B, door inbound.Door, requests ...Request) {
	BenchmarkBehind(b, &CannedProvider{Base: providers.Base{Name: "canned"}, Stream: CannedStream(50), Answer: CannedAnswer(50)}, door, requests...)
}

// BenchmarkBehind is Benchmark with every model going to p: a provider
// that serves the door's API natively, say.
func BenchmarkBehind(b *testing.B, p providers.Provider, door inbound.Door, requests ...Request) {
	h, err := handler.New(withDefaults(handler.Config{
		Routes: []handler.Route{{Name: handler.Wildcard, Targets: []handler.Target{{
			Provider: p}}}},
		StreamIdleTimeout: time.Minute, Logger: zap.NewNop(), Doors: []inbound.Door{door},
	}))
	if err != nil {
		b.Fatal(err)
	}
	for _, rq := range requests {
		b.Run(rq.Name, func(b *testing.B) {
			b.ReportAllocs()
			w := &tailWriter{header: http.Header{}, tail: make([]byte, 0, 2*tailSize)}
			cpu, measured := processCPU()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, rq.Path, strings.NewReader(rq.Body))
				req = caddyhttp.PrepareRequest(req, caddy.NewReplacer(), nil, &caddyhttp.Server{})
				w.reset()
				h.ServeHTTP(w, req)
				if w.code != http.StatusOK || !bytes.Contains(w.tail, []byte(rq.End)) {
					b.Fatalf("status %d, ending %s", w.code, w.tail)
				}
			}
			if end, ok := processCPU(); measured && ok {
				b.ReportMetric(float64(end-cpu)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
