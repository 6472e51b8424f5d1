package gemini

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
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

const testKey = "AIzaSy-test-key"

// seenRequest is what the fake upstream received.
type seenRequest struct {
	Method, Path, Query, Key, Accept string
	Body                             []byte
}

// fakeGemini is an upstream speaking Gemini's wire format. It records each
// request and answers with reply; by default a short text answer, or a
// two-event SSE stream for streamGenerateContent.
type fakeGemini struct {
	*httptest.Server
	mu    sync.Mutex
	seen  []seenRequest
	reply func(w http.ResponseWriter, r *http.Request)
}

const (
	plainAnswer = `{"candidates":[{"content":{"parts":[{"text":"Hello."}],"role":"model"},"finishReason":"STOP","index":0}],` +
		`"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6},"modelVersion":"gemini-2.5-flash","responseId":"r1"}`
	plainStream = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":1,\"totalTokenCount\":5}}\r\n\r\n" +
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"lo.\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":2,\"totalTokenCount\":6}}\r\n\r\n"
)

func newFake(t *testing.T) *fakeGemini {
	t.Helper()
	f := &fakeGemini{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, seenRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Key: r.Header.Get("x-goog-api-key"), Accept: r.Header.Get("Accept"), Body: body})
		reply := f.reply
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if reply != nil {
			reply(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, ":streamGenerateContent") {
			writeSSE(w, plainStream)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_, _ = io.WriteString(w, plainAnswer)
	}))
	t.Cleanup(f.Close)
	return f
}

// last returns the last request the fake received.
func (f *fakeGemini) last(t *testing.T) seenRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) == 0 {
		t.Fatal("the upstream received no request")
	}
	return f.seen[len(f.seen)-1]
}

func (f *fakeGemini) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

func (f *fakeGemini) setReply(reply func(w http.ResponseWriter, r *http.Request)) {
	f.mu.Lock()
	f.reply = reply
	f.mu.Unlock()
}

// replyJSON answers every request with status and body.
func replyJSON(status int, body string, header map[string]string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// writeSSE writes a stream the way Gemini does: event by event, flushed,
// then a plain close with no end marker.
func writeSSE(w http.ResponseWriter, stream string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	writeEvents(w, stream)
}

// writeEvents writes the events of stream, flushing after each.
func writeEvents(w http.ResponseWriter, stream string) {
	for _, ev := range strings.SplitAfter(stream, "\r\n\r\n") {
		if ev == "" {
			continue
		}
		_, _ = io.WriteString(w, ev)
		w.(http.Flusher).Flush()
	}
}

func newGemini(t *testing.T, baseURL string) *Gemini {
	t.Helper()
	g := &Gemini{Base: providers.Base{Name: "gem", BaseURL: baseURL, APIKey: testKey}}
	if err := g.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Cleanup() })
	return g
}

func chatCall(body []byte, stream bool) *providers.Call {
	return &providers.Call{Op: providers.Chat, Model: "gemini-2.5-flash", ClientModel: "flash", Body: body, Stream: stream}
}

// readAll drains a non-streamed answer.
func readAll(t *testing.T, resp *providers.Response) []byte {
	t.Helper()
	defer resp.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// drain reads a stream to its end: its chunks and the error that ended it
// (io.EOF for a clean end).
func drain(t *testing.T, resp *providers.Response) ([][]byte, error) {
	t.Helper()
	defer resp.Close()
	var chunks [][]byte
	for range 10000 {
		c, err := resp.Stream.Next()
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, append([]byte(nil), c...))
	}
	t.Fatal("the stream did not end")
	return nil, nil
}

// validateStream checks chunks against OpenAI's schema, framed as the
// handler frames them.
func validateStream(t *testing.T, chunks [][]byte, end error) {
	t.Helper()
	var sse bytes.Buffer
	for _, c := range chunks {
		sse.WriteString("data: ")
		sse.Write(c)
		sse.WriteString("\n\n")
	}
	if e, ok := errors.AsType[*providers.Error](end); ok {
		b, _ := e.MarshalJSON()
		sse.WriteString("data: ")
		sse.Write(b)
		sse.WriteString("\n\n")
	} else if errors.Is(end, io.EOF) {
		sse.WriteString("data: [DONE]\n\n")
	} else {
		return // a broken stream is not a complete document
	}
	if err := openaischema.ValidateStream(sse.Bytes()); err != nil {
		t.Errorf("stream fails OpenAI's schema: %v\n%s", err, sse.Bytes())
	}
}

var (
	randomCallID = regexp.MustCompile(`call_[0-9a-f]{24}`)
	answerID     = regexp.MustCompile(`"id":"chatcmpl-[0-9a-f]{24}"`)
	created      = regexp.MustCompile(`"created":[0-9]+`)
)

// normalize replaces what differs between runs: the answer's id and time,
// and the random part of tool-call ids (their signature part stays).
func normalize(b []byte) []byte {
	b = answerID.ReplaceAll(b, []byte(`"id":"chatcmpl-ID"`))
	b = created.ReplaceAll(b, []byte(`"created":0`))
	return randomCallID.ReplaceAll(b, []byte(`call_RANDOM`))
}

// canonical re-encodes JSON with sorted keys and indentation, so that
// golden files compare by content, not by key order or spacing.
func canonical(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// golden compares got with the file, or rewrites the file under -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func mustRead(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func send(t *testing.T, g *Gemini, call *providers.Call) (*providers.Response, error) {
	t.Helper()
	return g.Send(context.Background(), call)
}
