package dashscope

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const testKey = "sk-test-dashscope"

// seen is one request the fake upstream received.
type seen struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// reply is what the fake upstream answers.
type reply struct {
	status      int
	contentType string
	header      http.Header
	body        string
}

// fakeDashScope is an upstream speaking DashScope's native wire format. By
// default it answers a minimal message, as an event stream when asked with
// X-DashScope-SSE; answer replaces that.
type fakeDashScope struct {
	*httptest.Server
	mu     sync.Mutex
	got    []seen
	answer func(r *http.Request) reply
}

const (
	minimalBody  = `{"output":{"choices":[{"finish_reason":"stop","message":{"role":"assistant","content":"ok"}}]},"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4},"request_id":"req-min"}`
	minimalEvent = "id:1\nevent:result\n:HTTP_STATUS/200\ndata:" + minimalBody + "\n\n"
)

func newFake(t *testing.T) *fakeDashScope {
	t.Helper()
	f := &fakeDashScope{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.got = append(f.got, seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), body: body})
		answer := f.answer
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		rep := reply{status: 200, contentType: "application/json", body: minimalBody}
		if r.Header.Get("X-DashScope-SSE") == "enable" {
			rep = reply{status: 200, contentType: "text/event-stream;charset=UTF-8", body: minimalEvent}
		}
		if answer != nil {
			rep = answer(r)
		}
		for k, v := range rep.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", rep.contentType)
		w.WriteHeader(rep.status)
		// Events go out one write and flush each, as DashScope sends them.
		for _, part := range strings.SplitAfter(rep.body, "\n\n") {
			_, _ = io.WriteString(w, part)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeDashScope) answerWith(rep reply) {
	f.answerFunc(func(*http.Request) reply { return rep })
}

// answerFunc sets how the fake answers; the request's body is already read
// and may be read again.
func (f *fakeDashScope) answerFunc(answer func(r *http.Request) reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = answer
}

func (f *fakeDashScope) last(t *testing.T) seen {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) == 0 {
		t.Fatal("the fake upstream got no request")
	}
	return f.got[len(f.got)-1]
}

func (f *fakeDashScope) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.got...)
}

// provider returns a provisioned DashScope in front of the fake.
func (f *fakeDashScope) provider(t *testing.T) *DashScope {
	t.Helper()
	return providerFor(t, f.URL)
}

func providerFor(t *testing.T, url string) *DashScope {
	t.Helper()
	d := &DashScope{Base: providers.Base{Name: "ds", BaseURL: url, APIKey: testKey}}
	if err := d.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	return d
}

// chatCall is a chat call for body, whose model is the upstream model.
func chatCall(t *testing.T, body string) *providers.Call {
	t.Helper()
	var probe struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if err := json.Unmarshal([]byte(body), &probe); err != nil {
		t.Fatalf("test request: %v", err)
	}
	return &providers.Call{Op: providers.Chat, Model: probe.Model, ClientModel: "client-model", Body: []byte(body), Stream: probe.Stream}
}

// collect reads a whole stream: the chunks, and the error that ended it
// (nil for a clean end).
func collect(t *testing.T, resp *providers.Response) ([][]byte, error) {
	t.Helper()
	defer resp.Close()
	var chunks [][]byte
	for range 10000 {
		c, err := resp.Stream.Next()
		if errors.Is(err, io.EOF) {
			return chunks, nil
		}
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, append([]byte(nil), c...))
	}
	t.Fatal("the stream does not end")
	return nil, nil
}

// normalise replaces the per-answer id and clock so answers compare.
func normalise(t *testing.T, doc []byte) []byte {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, doc)
	}
	if _, ok := v["id"]; ok {
		v["id"] = "chatcmpl-ID"
	}
	if _, ok := v["created"]; ok {
		v["created"] = 0
	}
	out, _ := json.Marshal(v)
	return out
}

// canonical re-encodes JSON with sorted keys.
func canonical(t *testing.T, doc []byte) string {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// pretty indents canonical JSON for golden files.
func pretty(t *testing.T, doc []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(canonical(t, doc)), "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// golden compares got with a testdata file, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte, asJSON bool) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if asJSON {
		if canonical(t, got) != canonical(t, want) {
			t.Errorf("%s differs:\n got: %s\nwant: %s", name, canonical(t, got), canonical(t, want))
		}
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// streamBody renders chunks and the error that ended them as the SSE body
// the handler would write, for schema validation.
func streamBody(chunks [][]byte, end error) []byte {
	var b bytes.Buffer
	for _, c := range chunks {
		b.WriteString("data: ")
		b.Write(c)
		b.WriteString("\n\n")
	}
	var pe *providers.Error
	if errors.As(end, &pe) {
		body, _ := pe.MarshalJSON()
		b.WriteString("data: ")
		b.Write(body)
		b.WriteString("\n\n")
		return b.Bytes()
	}
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

func validateStream(t *testing.T, chunks [][]byte, end error) {
	t.Helper()
	if len(chunks) == 0 {
		return
	}
	if err := openaischema.ValidateStream(streamBody(chunks, end)); err != nil {
		t.Errorf("stream does not match OpenAI's schema: %v", err)
	}
}

func send(t *testing.T, d *DashScope, call *providers.Call) (*providers.Response, error) {
	t.Helper()
	return d.Send(context.Background(), call)
}

func caddyContext() caddy.Context { return caddy.Context{} }
