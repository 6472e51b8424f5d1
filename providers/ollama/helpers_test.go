package ollama

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// seenRequest is what the fake Ollama received.
type seenRequest struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// fakeOllama is an upstream speaking Ollama's native API. reply answers
// each request; the default serves the testdata answers.
type fakeOllama struct {
	*httptest.Server
	mu    sync.Mutex
	seen  []seenRequest
	reply func(w http.ResponseWriter, r *http.Request, body []byte)
}

func newFakeOllama(t *testing.T) *fakeOllama {
	t.Helper()
	f := &fakeOllama{reply: defaultReply(t)}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, seenRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		reply := f.reply
		f.mu.Unlock()
		reply(w, r, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOllama) last(t *testing.T) seenRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) == 0 {
		t.Fatal("the fake ollama saw no request")
	}
	return f.seen[len(f.seen)-1]
}

func (f *fakeOllama) setReply(reply func(w http.ResponseWriter, r *http.Request, body []byte)) {
	f.mu.Lock()
	f.reply = reply
	f.mu.Unlock()
}

// defaultReply answers like Ollama: NDJSON when the body asks for a
// stream (Ollama's default when `stream` is absent), one object otherwise.
func defaultReply(t *testing.T) func(w http.ResponseWriter, r *http.Request, body []byte) {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		var req struct {
			Stream *bool `json:"stream"`
		}
		_ = json.Unmarshal(body, &req)
		stream := req.Stream == nil || *req.Stream
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/chat" && stream:
			writeNDJSON(w, readTestdata(t, "streams/text.ndjson"))
		case r.Method == http.MethodPost && r.URL.Path == "/api/chat":
			writeJSON(w, http.StatusOK, readTestdata(t, "answers/chat_text.native.json"))
		case r.Method == http.MethodPost && r.URL.Path == "/api/generate" && stream:
			writeNDJSON(w, readTestdata(t, "streams/generate.ndjson"))
		case r.Method == http.MethodPost && r.URL.Path == "/api/generate":
			writeJSON(w, http.StatusOK, readTestdata(t, "answers/generate.native.json"))
		case r.Method == http.MethodPost && r.URL.Path == "/api/embed":
			writeJSON(w, http.StatusOK, readTestdata(t, "answers/embed.native.json"))
		default:
			writeJSON(w, http.StatusNotFound, []byte("404 page not found"))
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeNDJSON sends the lines one by one, flushed, as Ollama streams.
func writeNDJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			i = len(body) - 1
		}
		_, _ = w.Write(body[:i+1])
		w.(http.Flusher).Flush()
		body = body[i+1:]
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newOllama provisions a provider against url; configure may set options
// before provisioning.
func newOllama(t *testing.T, url string, configure func(*Ollama)) *Ollama {
	t.Helper()
	o := &Ollama{Base: providers.Base{Name: "local", BaseURL: url}}
	if configure != nil {
		configure(o)
	}
	if err := o.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Cleanup() })
	return o
}

// configured is a provider with every option of its own set.
func configured(o *Ollama) {
	o.APIKey = "sk-proxy"
	o.KeepAlive = "10m"
	o.NumCtx = 8192
}

// call builds a call whose body has its model set, as the handler does.
func call(t *testing.T, op providers.Operation, body []byte) *providers.Call {
	t.Helper()
	var v struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("test body: %v", err)
	}
	return &providers.Call{Op: op, Model: v.Model, ClientModel: "local", Body: body, Stream: v.Stream}
}

// canonical re-encodes JSON with sorted keys and no spacing.
func canonical(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	out, err := providers.MarshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

var (
	randomID = regexp.MustCompile(`"(chatcmpl|cmpl|call)[-_][0-9a-f]{24}"`)
	created  = regexp.MustCompile(`"created":[0-9]+`)
)

// normalise replaces the generated ids and the creation time.
func normalise(b []byte) []byte {
	b = randomID.ReplaceAllFunc(b, func(m []byte) []byte {
		prefix := m[1 : len(m)-25]
		return []byte(`"` + string(prefix) + `ID"`)
	})
	return created.ReplaceAll(b, []byte(`"created":0`))
}

// drain reads a whole stream, as the handler relays it.
func drain(t *testing.T, s providers.EventStream) ([][]byte, error) {
	t.Helper()
	defer s.Close()
	var chunks [][]byte
	for i := 0; i < 10000; i++ {
		c, err := s.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return chunks, err
		}
		chunks = append(chunks, append([]byte(nil), c...))
	}
	t.Fatal("the stream does not end")
	return nil, nil
}

// validateStream checks the SSE body the handler would write for the
// chunks and the stream's end against OpenAI's schemas.
func validateStream(t *testing.T, chunks [][]byte, end error) {
	t.Helper()
	var sse bytes.Buffer
	for _, c := range chunks {
		sse.WriteString("data: " + string(c) + "\n\n")
	}
	switch e := end.(type) {
	case nil:
		sse.WriteString("data: [DONE]\n\n")
	case *providers.Error:
		b, _ := e.MarshalJSON()
		sse.WriteString("data: " + string(b) + "\n\n")
	default:
		b, _ := providers.NewError(http.StatusBadGateway, "upstream_error", e.Error()).MarshalJSON()
		sse.WriteString("data: " + string(b) + "\n\n")
	}
	if len(chunks) == 0 {
		return
	}
	if err := openaischema.ValidateStream(sse.Bytes()); err != nil {
		t.Errorf("stream does not match OpenAI's schemas: %v\n%s", err, sse.String())
	}
}

func jsonLines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func send(t *testing.T, o *Ollama, c *providers.Call) (*providers.Response, error) {
	t.Helper()
	return o.Send(context.Background(), c)
}
